// Command kapu tests an Ügyfélkapu-style login end to end in headless
// Chromium, and serves a mock of one. This package only reads flags,
// wires the packages together and picks the exit code.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Exit codes (STYLE §4): 0 all passed, 1 a flow failed, 2 kapu could not run.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run flows in headless Chromium", runRun},
		{"mockidp", "serve the mock identity provider", runMockIDP},
		{"validate", "check flow files without a browser", runValidate},
		{"merge", "merge the results of shards or reruns into one JUnit and report", runMerge},
		{"schema", "print the JSON Schema of flow files", runSchema},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// KAPU_CPUPROFILE=FILE writes a CPU profile of kapu itself (docs/performance.md).
	if p := os.Getenv("KAPU_CPUPROFILE"); p != "" && len(os.Args) > 1 && os.Args[1] != reapCommand {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitUsage
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return runHelp(args[1:], stdout, stderr)
	}
	if args[0] == reapCommand {
		return runReap(ctx, args[1:], stdout, stderr)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "kapu: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kapu tests an Ügyfélkapu-style login end to end in headless Chromium.")
	fmt.Fprintln(w, "\nUsage: kapu COMMAND [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun kapu COMMAND -h for its flags, kapu help steps for the flow language's steps.")
}
