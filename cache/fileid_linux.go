package cache

import (
	"os"
	"syscall"
)

// fileID identifies a file's content as the file system tells it: device,
// inode, size, and modification and change times to the nanosecond.
type fileID struct {
	dev, ino         uint64
	size             int64
	mtimeNs, ctimeNs int64
}

// fileIdentity returns st's fileID; ok is false where the file system
// gives none (then every open walks the file).
func fileIdentity(st os.FileInfo) (id fileID, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{
		dev: uint64(sys.Dev), ino: sys.Ino, size: st.Size(),
		mtimeNs: st.ModTime().UnixNano(),
		ctimeNs: sys.Ctim.Sec*1e9 + sys.Ctim.Nsec,
	}, true
}
