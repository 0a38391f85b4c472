package main

import (
	"fmt"
	"io"
	"runtime"
)

func runVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "phonelock %s (%s)\n", version, runtime.Version())
	return exitOK
}
