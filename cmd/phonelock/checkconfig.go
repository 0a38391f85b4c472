package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// runCheckConfig validates the configuration serve would run with (file,
// environment and the same flags) and prints it in the file's format.
func runCheckConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, path, err := loadServeConfig("phonelock check-config", args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "phonelock check-config: %v\n", err)
		return exitUsage
	}

	if path != "" {
		fmt.Fprintf(stdout, "# effective configuration: defaults, %s, PHONELOCK_* environment, flags\n", path)
	} else {
		fmt.Fprintln(stdout, "# effective configuration: defaults, PHONELOCK_* environment, flags")
	}
	cfg.writeTOML(stdout)
	return exitOK
}
