package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// TestListMADXDemo: `list --runnable --model-name` over an index of the MAD-X demo's adapters
// (testdata/madx_demo, as the demo page's madx/index.json) keeps all three: their configs record
// the XLM-R model type and the base's name (make_madx_demo.py), which the page lists them by.
func TestListMADXDemo(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "adapters"), os.DirFS(golden.Path("madx_demo", "adapters"))); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index.json")
	if code, _, errs := runCLI(t, "", "index", "--out", idx, filepath.Join(dir, "adapters")); code != 0 {
		t.Fatalf("index: %s", errs)
	}
	list := func(args ...string) []string {
		t.Helper()
		code, out, errs := runCLI(t, "", append([]string{"list", "--source", "index", "--index", idx, "--runnable"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var names []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var m struct {
				ID        string `json:"id"`
				ModelName string `json:"model_name"`
				ModelType string `json:"model_type"`
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			if m.ModelType != "xlm-roberta" {
				t.Errorf("%s: model_type %q", m.ID, m.ModelType)
			}
			names = append(names, filepath.Base(m.ID))
		}
		return names
	}
	want := []string{"lang_l1", "lang_l2", "sentiment"}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("--runnable: %v, want %v", got, want)
	}
	if got := list("--model-name", "adapterwasm/tiny-xlm-roberta"); !slices.Equal(got, want) {
		t.Fatalf("--runnable --model-name adapterwasm/tiny-xlm-roberta: %v, want %v", got, want)
	}
	if got := list("--model-name", "adapterwasm/tiny-roberta"); len(got) != 0 {
		t.Fatalf("--model-name adapterwasm/tiny-roberta: %v, want none", got)
	}
}
