//go:build !js

package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/adapterwasm/adapterwasm/"

// allowed holds every import one project package may make of another (paths relative to the
// module), and lists every package: a new package needs its row, a new edge its entry.
// ARCHITECTURE.md "Packages" is drawn from this table.
var allowed = map[string][]string{
	"cmd/adapterwasm":     {"adapters", "hub", "internal/hubfetch", "internal/jsonin", "runtime/bert", "runtime/kernels", "runtime/modelfile", "runtime/pretrained", "train"},
	"adapters":            {"internal/jsonin", "runtime/bert", "runtime/kernels", "runtime/pretrained", "runtime/tokenizer", "runtime/weights"},
	"hub":                 {},
	"internal/archtest":   {},
	"internal/golden":     {},
	"internal/hubfetch":   {},
	"internal/hubtest":    {},
	"internal/jsonin":     {},
	"runtime/bert":        {"internal/jsonin", "runtime/kernels", "runtime/weights"},
	"runtime/kernels":     {},
	"runtime/modelfile":   {"internal/jsonin", "runtime/kernels", "runtime/weights"},
	"runtime/pretrained":  {"internal/jsonin", "runtime/bert", "runtime/modelfile", "runtime/tokenizer", "runtime/weights"},
	"runtime/tokenizer":   {"internal/jsonin"},
	"runtime/weights":     {"internal/jsonin"},
	"train":               {"adapters", "runtime/bert", "runtime/kernels", "runtime/pretrained", "runtime/weights"},
	"wasm":                {"wasm/jsapi"},
	"wasm/engine":         {"adapters", "internal/jsonin", "runtime/bert", "runtime/pretrained", "runtime/tokenizer", "runtime/weights", "train"},
	"wasm/jsapi":          {"runtime/pretrained", "wasm/engine"},
	"wasm/worker":         {"wasm/worker/service"},
	"wasm/worker/service": {"adapters", "hub", "runtime/kernels", "runtime/modelfile", "runtime/pretrained", "wasm/engine"},
}

// testSupport are the packages tests may import besides what their package may reach.
var testSupport = []string{"internal/golden", "internal/hubtest"}

// builds are the configurations listed: every file of the project builds in one of them.
var builds = [][]string{
	{},
	{"GOOS=js", "GOARCH=wasm"},
	{"GOOS=js", "GOARCH=wasm", "GOFLAGS=-tags=wasmsimd,adapterwasm_fataltest"},
}

type pkg struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
	Error                              *struct{ Err string }
}

// listPackages runs `go list -json ./...` at the module root in each build configuration.
func listPackages(t *testing.T) map[string][]pkg {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]pkg{}
	for _, env := range builds {
		cmd := exec.Command("go", "list", "-e", "-json", "./...")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list (%s): %v\n%s", strings.Join(env, " "), err, stderr.String())
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var p pkg
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if p.Error != nil && !strings.Contains(p.Error.Err, "build constraints exclude all Go files") {
				t.Fatalf("go list (%s): %s: %s", strings.Join(env, " "), p.ImportPath, p.Error.Err)
			}
			rel, ok := strings.CutPrefix(p.ImportPath, module)
			if p.ImportPath == strings.TrimSuffix(module, "/") {
				rel, ok = ".", true
			}
			if ok {
				out[rel] = append(out[rel], p)
			}
		}
	}
	return out
}

// internalImports returns the project packages among imports, relative to the module.
func internalImports(imports []string) []string {
	var r []string
	for _, imp := range imports {
		if rel, ok := strings.CutPrefix(imp, module); ok {
			r = append(r, rel)
		}
	}
	return r
}

// reach returns the packages p may reach through allowed edges (p excluded).
func reach(p string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(q string) {
		for _, d := range allowed[q] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(p)
	return seen
}

func TestImportBoundaries(t *testing.T) {
	pkgs := listPackages(t)
	var paths []string
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	used := map[[2]string]bool{}
	for _, p := range paths {
		allow, ok := allowed[p]
		if !ok {
			t.Errorf("package %s is not in internal/archtest's table: add its row (and to ARCHITECTURE.md)", p)
			continue
		}
		ok1 := map[string]bool{}
		for _, d := range allow {
			ok1[d] = true
		}
		reachable := reach(p)
		for _, s := range testSupport {
			reachable[s] = true
		}
		reported := map[string]bool{}
		for _, v := range pkgs[p] {
			for _, d := range internalImports(v.Imports) {
				used[[2]string{p, d}] = true
				if !ok1[d] && !reported[d] {
					reported[d] = true
					t.Errorf("new import edge %s -> %s: not in internal/archtest's table (if it is right, add it there and to ARCHITECTURE.md)", p, d)
				}
			}
			for _, d := range internalImports(append(v.TestImports, v.XTestImports...)) {
				if d != p && !ok1[d] && !reachable[d] && !reported["test "+d] {
					reported["test "+d] = true
					t.Errorf("tests of %s import %s, which %s cannot reach through internal/archtest's table", p, d, p)
				}
			}
			for _, imp := range v.Imports {
				if imp == "syscall/js" && p != "wasm" && !strings.HasPrefix(p, "wasm/") {
					t.Errorf("%s imports syscall/js, which lives only under wasm/", p)
				}
			}
		}
	}
	for p, ds := range allowed {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("internal/archtest's table has a row for %s, which no longer exists", p)
			continue
		}
		for _, d := range ds {
			if !used[[2]string{p, d}] {
				t.Errorf("internal/archtest's table allows %s -> %s, which no build imports any more: remove it (and from ARCHITECTURE.md)", p, d)
			}
		}
	}
}

// TestTableIsAcyclic keeps the allowed graph a hierarchy.
func TestTableIsAcyclic(t *testing.T) {
	for p := range allowed {
		if reach(p)[p] {
			t.Errorf("internal/archtest's table has a cycle through %s", p)
		}
	}
}
