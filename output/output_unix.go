//go:build unix

package output

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// canWrite reports whether the process may write path (a directory: create
// files in it, which also needs search permission).
func canWrite(path string, dir bool) bool {
	mode := uint32(unix.W_OK)
	if dir {
		mode |= unix.X_OK
	}
	return unix.Access(path, mode) == nil
}

// canReadWrite reports whether the process may read and write path.
func canReadWrite(path string) bool { return unix.Access(path, unix.R_OK|unix.W_OK) == nil }

// givenForWriting reports whether descriptor fd was given to the process by its
// parent open for writing: open, not close-on-exec (Go opens every
// descriptor of its own close-on-exec), and not read-only.
func givenForWriting(fd int) bool {
	fdflags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || fdflags&unix.FD_CLOEXEC != 0 {
		return false
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && flags&unix.O_ACCMODE != unix.O_RDONLY
}

// dupFD returns a close-on-exec duplicate of fd, as an *os.File to close.
func dupFD(fd int, name string) (*os.File, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(dup), name), nil
}

// fileOwner returns the owner of the file st describes.
func fileOwner(st os.FileInfo) (uint32, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return s.Uid, true
}

// fileID returns the device and inode of the file st describes.
func fileID(st os.FileInfo) (string, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d", s.Dev, s.Ino), true
}
