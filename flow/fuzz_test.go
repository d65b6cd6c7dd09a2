package flow_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/flow"
)

// FuzzParse: no input panics or hangs, and every diagnostic points
// inside the file.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"../flows", "testdata/invalid", "testdata/valid"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Add([]byte("name: x\nsteps:\n  - include: f.yaml\n"))
	f.Add([]byte("steps: [{fill: {into: {css: a}, value: '${'}}]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := &flow.Loader{ReadFile: func(p string) ([]byte, error) {
			if p == "f.yaml" {
				return src, nil
			}
			return nil, fs.ErrNotExist
		}}
		_, diags := l.Compile("f.yaml")
		lines := strings.Count(string(src), "\n") + 1
		for _, d := range diags {
			if d.Pos.File != "f.yaml" || d.Pos.Line < 1 || d.Pos.Line > lines+1 || d.Pos.Col < 1 {
				t.Errorf("diagnostic outside the file (%d lines): %v", lines, d)
			}
		}
	})
}
