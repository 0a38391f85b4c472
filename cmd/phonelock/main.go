// Command phonelock is password protection for FreeSWITCH phone terminals:
// "phonelock serve" runs the daemon FreeSWITCH hands calls to, and
// "phonelock admin" inspects and changes which extensions are blocked.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes, shared by every subcommand.
const (
	exitOK       = 0
	exitFailed   = 1 // could not do it: I/O, file held by the daemon, server unreachable
	exitUsage    = 2 // bad usage or invalid input
	exitNotFound = 3 // no such extension (or other record)
	exitDenied   = 4 // token missing, wrong, or its role may not do this
)

const usage = `usage: phonelock <command> [flags]

commands:
  serve          run the daemon (FreeSWITCH event socket, metrics, admin API)
  admin          inspect and change extensions: phonelock admin --help
  check-config   validate the configuration and print it as it would run
  version        print the version

Run "phonelock <command> --help" for a command's flags.
`

// run executes one command line and returns the process exit code.
// getenv reads the environment (PHONELOCK_* settings).
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], getenv, stderr)
	case "check-config":
		return runCheckConfig(args[1:], getenv, stdout, stderr)
	case "admin":
		return runAdmin(args[1:], getenv, stdin, stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "phonelock: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}
