package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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
	set, err := loadSet(fs.Args(), stderr)
	if err != nil {
		return exitUsage
	}
	if len(set.Flows) == 0 && len(set.Libraries) == 0 {
		fmt.Fprintf(stderr, "kapu: no flows or step libraries found in %v\n", orFlows(fs.Args()))
		return exitUsage
	}
	files := map[string]bool{}
	for _, f := range set.Flows {
		files[f.File] = true
	}
	var parts []string
	if len(set.Flows) > 0 {
		parts = append(parts, fmt.Sprintf("%d flows in %d files", len(set.Flows), len(files)))
	}
	switch n := len(set.Libraries); n {
	case 0:
	case 1:
		parts = append(parts, "1 step library")
	default:
		parts = append(parts, fmt.Sprintf("%d step libraries", n))
	}
	fmt.Fprintf(stdout, "%s: valid\n", strings.Join(parts, ", "))
	return exitOK
}

func orFlows(paths []string) []string {
	if len(paths) == 0 {
		return []string{"flows"}
	}
	return paths
}

// loadFlows compiles the flow files, printing every diagnostic with paths
// relative to the working directory. Finding no flow at all is an error.
func loadFlows(paths []string, stderr io.Writer) ([]*flow.Flow, error) {
	set, err := loadSet(paths, stderr)
	if err != nil {
		return nil, err
	}
	if len(set.Flows) == 0 {
		err := fmt.Errorf("no flows found in %v: a flow file is YAML with a name and steps", orFlows(paths))
		fmt.Fprintf(stderr, "kapu: %v\n", err)
		return nil, err
	}
	return set.Flows, nil
}

// loadSet compiles the flow files and step libraries, printing every
// diagnostic with paths relative to the working directory.
func loadSet(paths []string, stderr io.Writer) (flow.Files, error) {
	set, err := flow.LoadFiles(orFlows(paths)...)
	var diags flow.Diagnostics
	if errors.As(err, &diags) {
		for _, d := range diags {
			d.Pos.File = relPath(d.Pos.File)
			fmt.Fprintln(stderr, d.Error())
		}
		fmt.Fprintf(stderr, "kapu: %d problems in flow files\n", len(diags))
		return set, err
	}
	if err != nil {
		fmt.Fprintf(stderr, "kapu: %v\n", err)
	}
	return set, err
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
