package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kapu-dev/kapu/internal/poll"
)

// Chromium's profile directory must go even when kapu is killed with
// SIGKILL, when no code of kapu runs any more. The kernel ends Chromium
// (parent-death signal); a small reaper process, started first and left
// outside kapu's process group, notices kapu's death when the pipe it
// reads from closes, ends what still uses the directory, and removes it.

const reapCommand = "__reap"

// startReaper makes the profile directory and a reaper for it. The
// returned func is for a normal exit: it removes the directory and lets
// the reaper go.
func startReaper() (dir string, done func(), err error) {
	dir, err = os.MkdirTemp("", "kapu-chromium-")
	if err != nil {
		return "", nil, fmt.Errorf("profile directory: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return dir, func() { os.RemoveAll(dir) }, nil // no reaper: best effort
	}
	r, w, err := os.Pipe()
	if err != nil {
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	cmd := exec.Command(self, reapCommand, dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not killed with kapu's group by Ctrl-C
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	r.Close()
	go cmd.Wait()
	return dir, func() {
		os.RemoveAll(dir)
		w.Close() // the reaper sees EOF and finds nothing left to do
	}, nil
}

// runReap is the reaper: it waits for its stdin to close, then ends every
// process that still uses dir and removes dir.
func runReap(_ context.Context, args []string, _, stderr io.Writer) int {
	if len(args) != 1 || !strings.HasPrefix(filepath.Base(args[0]), "kapu-chromium-") {
		fmt.Fprintln(stderr, "kapu: internal command")
		return exitUsage
	}
	dir := args[0]
	io.Copy(io.Discard, os.Stdin)
	// Killed processes go in a moment: look again soon, then less often.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll.Until(ctx, poll.Backoff{First: 5 * time.Millisecond, Max: 100 * time.Millisecond}, func() bool {
		pids := processesUsing(dir)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return len(pids) == 0
	})
	os.RemoveAll(dir)
	return exitOK
}

// processesUsing lists the processes whose command line names dir.
func processesUsing(dir string) []int {
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), dir) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil && pid != os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}
