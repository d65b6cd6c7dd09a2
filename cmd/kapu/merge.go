package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/kapu-dev/kapu/report"
)

// runMerge is kapu merge DIR… --junit FILE --report DIR [--results DIR]:
// one JUnit and one report from the results of several shards or reruns
// of one suite (kapu run --results). It exits 1 when a merged flow
// failed, as the run itself would have.
func runMerge(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kapu merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := runFlags{artifacts: "kapu-results"} // the merged run is the last run, for --last-failed
	fs.StringVar(&f.junit, "junit", "", "write the merged JUnit XML to `FILE`")
	fs.StringVar(&f.report, "report", "", "write the merged HTML report to `DIR`")
	fs.StringVar(&f.results, "results", "", "write the merged results to `DIR` (to merge again later)")
	fs.BoolVar(&f.failOnFlaky, "fail-on-flaky", false, "exit 1 when a flow was flaky")
	fs.Usage = func() {
		flagUsage(stderr, fs, "Usage: kapu merge RESULTS_DIR… [--junit FILE] [--report DIR] [--results DIR]")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 || f.junit == "" && f.report == "" && f.results == "" {
		fs.Usage()
		return exitUsage
	}
	var all []*report.Results
	for _, dir := range fs.Args() {
		r, err := report.ReadResults(dir)
		if err != nil {
			fmt.Fprintf(stderr, "kapu merge: %v\n", err)
			return exitUsage
		}
		all = append(all, r)
	}
	merged, err := report.Merge(all)
	if err != nil {
		fmt.Fprintf(stderr, "kapu %v\n", err)
		return exitUsage
	}
	passed, failed, flaky, skipped := merged.Counts()
	fmt.Fprintf(stdout, "kapu merge: %d results, %d flows: %d passed, %d failed, %d flaky, %d skipped\n", len(all), len(merged.Flows), passed, failed, flaky, skipped)
	code := exitOK
	if failed > 0 || f.failOnFlaky && flaky > 0 {
		code = exitFailed
	}
	return max(code, writeResults(f, merged, stdout, stderr))
}
