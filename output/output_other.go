//go:build !unix

package output

import (
	"errors"
	"os"
)

// On systems without POSIX permissions and descriptors, the checks that
// need them pass, and only standard output and error are descriptors
// the process writes to.

func canWrite(string, bool) bool           { return true }
func canReadWrite(string) bool             { return true }
func givenForWriting(fd int) bool          { return fd == 1 || fd == 2 }
func fileOwner(os.FileInfo) (uint32, bool) { return 0, false }
func fileID(os.FileInfo) (string, bool)    { return "", false }

func dupFD(int, string) (*os.File, error) {
	return nil, errors.New("descriptors other than standard output and error are not supported here")
}
