package flow_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kapu-dev/kapu/flow"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

var wantRe = regexp.MustCompile(`# want((?: "(?:[^"\\]|\\.)*")+)\s*$`)
var quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// TestInvalid compiles each file of testdata/invalid: every diagnostic
// must be wanted by a "# want" comment on its line, and every want met.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no files in testdata/invalid")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants := map[int][]*regexp.Regexp{}
			for i, line := range strings.Split(string(src), "\n") {
				m := wantRe.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				for _, q := range quotedRe.FindAllString(m[1], -1) {
					s, err := strconv.Unquote(q)
					if err != nil {
						t.Fatalf("line %d: bad want %s", i+1, q)
					}
					wants[i+1] = append(wants[i+1], regexp.MustCompile(regexp.QuoteMeta(s)))
				}
			}
			l := &flow.Loader{}
			_, diags := l.Compile(file)
			for _, d := range diags {
				if d.Pos.File != file {
					t.Errorf("diagnostic in another file: %v", d)
					continue
				}
				ws := wants[d.Pos.Line]
				found := -1
				for i, w := range ws {
					if w.MatchString(d.Msg) {
						found = i
						break
					}
				}
				if found < 0 {
					t.Errorf("unexpected diagnostic %v", d)
					continue
				}
				wants[d.Pos.Line] = append(ws[:found], ws[found+1:]...)
			}
			for line, ws := range wants {
				for _, w := range ws {
					t.Errorf("%s:%d: no diagnostic matching %q", file, line, w)
				}
			}
		})
	}
}

// TestConformanceFlowsValid: every file in flows/ and testdata/ compiles.
func TestConformanceFlowsValid(t *testing.T) {
	for _, dir := range []string{"../flows", "testdata/valid"} {
		flows, err := flow.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if dir == "../flows" && len(flows) == 0 {
			t.Fatal("no flows in flows/")
		}
	}
}

// TestSchemaFile: flows/kapu.schema.json is what kapu schema prints.
func TestSchemaFile(t *testing.T) {
	const path = "../flows/kapu.schema.json"
	got := flow.Schema()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./flow -run TestSchemaFile -update", path)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(flow.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("kapu.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("kapu.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

func yamlToJSON(t *testing.T, path string) any {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaAcceptsFlows: every flow of flows/ and testdata/ validates
// against the JSON Schema, and broken ones are refused by it too.
func TestSchemaAcceptsFlows(t *testing.T) {
	s := compileSchema(t)
	var files []string
	for _, dir := range []string{"../flows", "testdata/valid", "../testdata", "../examples"} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
				files = append(files, p)
			}
			return nil
		})
	}
	if len(files) == 0 {
		t.Fatal("no flow files")
	}
	for _, f := range files {
		if err := s.Validate(yamlToJSON(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"testdata/invalid/many.yaml", "testdata/invalid/types.yaml"} {
		if err := s.Validate(yamlToJSON(t, f)); err == nil {
			t.Errorf("%s: the schema accepts a broken flow", f)
		}
	}
}

func TestPlan(t *testing.T) {
	flows, err := flow.Load("../flows/login.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := flows[0]
	if f.Name != "Bejelentkezés Ügyfélkapu+-szal" || len(f.Needs) != 0 {
		t.Errorf("head: %+v", f)
	}
	// The teardown: revoke.yaml through its include, run only once the
	// törlőkód (and the user) were set.
	if len(f.After) != 10 || !strings.HasSuffix(f.After[len(f.After)-1].Pos().File, "steps/revoke.yaml") || !slices.Equal(f.AfterNeeds, []string{"torlokod", "user"}) {
		t.Errorf("after: %d steps, needs %v", len(f.After), f.AfterNeeds)
	}
	var scan *flow.Scan
	var fills int
	for _, s := range f.Steps {
		switch s := s.(type) {
		case flow.Scan:
			scan = &s
		case flow.Fill:
			fills++
		}
	}
	if scan == nil || scan.As != "qr" || scan.Target.Value.Raw != "QR-kód" || !strings.HasSuffix(scan.At.File, "steps/enroll.yaml") {
		t.Errorf("scan step: %+v", scan)
	}
	if fills != 7 {
		t.Errorf("%d fill steps, want 7 (one per field)", fills)
	}
}

// BenchmarkLoadSuite is the cost of parsing and compiling flows/.
func BenchmarkLoadSuite(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := flow.Load("../flows"); err != nil {
			b.Fatal(err)
		}
	}
}

// A step from a step library knows the include that pulled it in.
func TestIncludeChain(t *testing.T) {
	flows, err := flow.Load("../flows/login.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range flows[0].Steps {
		if sc, ok := s.(flow.Scan); ok {
			want := "../flows/steps/enroll.yaml:9:5 (included at ../flows/login.yaml:9:14)"
			if got := sc.Base().Where(); got != want {
				t.Errorf("Where() = %q, want %q", got, want)
			}
			return
		}
	}
	t.Fatal("no scan step")
}
