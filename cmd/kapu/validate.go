package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kapu-dev/kapu/flow"
)

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kapu validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "Usage: kapu validate [FILES or DIRS…] (default flows/)") }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	flows, err := loadFlows(fs.Args(), stderr)
	if err != nil {
		return exitUsage
	}
	files := map[string]bool{}
	for _, f := range flows {
		files[f.File] = true
	}
	fmt.Fprintf(stdout, "%d flows in %d files: valid\n", len(flows), len(files))
	return exitOK
}

// loadFlows compiles the flow files, printing every diagnostic with paths
// relative to the working directory. Finding no flow at all is an error.
func loadFlows(paths []string, stderr io.Writer) ([]*flow.Flow, error) {
	if len(paths) == 0 {
		paths = []string{"flows"}
	}
	flows, err := flow.Load(paths...)
	var diags flow.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			d.Pos.File = relPath(d.Pos.File)
			fmt.Fprintln(stderr, d.Error())
		}
		fmt.Fprintf(stderr, "kapu: %d problems in flow files\n", len(diags))
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return nil, err
	}
	if len(flows) == 0 {
		err := fmt.Errorf("no flows found in %v: a flow file is YAML with a name and steps", paths)
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return nil, err
	}
	return flows, nil
}

// relPath shows p relative to the working directory (STYLE §4).
func relPath(p string) string {
	if !filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil {
			return r
		}
	}
	return p
}

func runSchema(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "Usage: kapu schema (prints the JSON Schema of flow files)")
		return exitUsage
	}
	stdout.Write(flow.Schema())
	return exitOK
}
