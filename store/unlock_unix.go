//go:build unix

package store

import (
	"os"
	"syscall"
)

// unlockFile releases bbolt's flock on f. Closing f alone is not enough
// after a panic inside bbolt.Open: the mapping bbolt leaves behind keeps
// the open file, and so its lock, alive.
func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
