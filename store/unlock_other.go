//go:build !unix

package store

import "os"

// unlockFile does nothing where bbolt does not use flock; closing the file
// releases its lock.
func unlockFile(*os.File) {}
