// Package golden reads the reference fixtures under testdata/ (written by tools/reference/ with
// the real transformers and adapters libraries) for tests. It is test support: no product code
// imports it.
package golden

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Path joins elements onto the repository's testdata directory.
func Path(elem ...string) string {
	return filepath.Join(append([]string{Root(), "testdata"}, elem...)...)
}

// Load decodes the JSON file testdata/<elem...> into v, failing the test on any error.
func Load(t testing.TB, v any, elem ...string) {
	t.Helper()
	b, err := os.ReadFile(Path(elem...))
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("golden: %s: %v", filepath.Join(elem...), err)
	}
}

// Base is testdata/<model>/golden/base.json: a padded batch and the reference encoder outputs.
type Base struct {
	MaxLength     int             `json:"max_length"`
	Sentences     []string        `json:"sentences"`
	Tokens        [][]string      `json:"tokens"`
	InputIDs      [][]int32       `json:"input_ids"`
	AttentionMask [][]int32       `json:"attention_mask"`
	TokenTypeIDs  [][]int32       `json:"token_type_ids"`
	HiddenStates  [][][][]float64 `json:"hidden_states"` // [layer+1][B][T][H]
	PoolerOutput  [][]float64     `json:"pooler_output"` // [B][H]
	Embeddings    [][]float64     `json:"embeddings"`    // [B][H], MiniLM only
}

// Flat2 flattens a [B][T] integer matrix row-major.
func Flat2[T any](m [][]T) []T {
	var out []T
	for _, r := range m {
		out = append(out, r...)
	}
	return out
}

// MiniLMDir returns the all-MiniLM-L6-v2 directory made by `./build.sh model`, from
// ADAPTERWASM_MINILM_DIR. Without it the test is skipped, except under CI, where it fails:
// build.sh test always sets it.
func MiniLMDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("ADAPTERWASM_MINILM_DIR")
	if d == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ADAPTERWASM_MINILM_DIR is not set (./build.sh test sets it)")
		}
		t.Skip("ADAPTERWASM_MINILM_DIR not set; run ./build.sh model and export it")
	}
	return d
}

// MiniLMAdapterCases returns the names of the demo adapters' golden files in
// testdata/minilm/golden (every *.json but base.json and files starting with "_"), sorted.
func MiniLMAdapterCases() []string {
	files, _ := filepath.Glob(Path("minilm", "golden", "*.json"))
	var cases []string
	for _, f := range files {
		if b := filepath.Base(f); b != "base.json" && !strings.HasPrefix(b, "_") {
			cases = append(cases, strings.TrimSuffix(b, ".json"))
		}
	}
	return cases
}

// MaxAbsDiff returns max |got[i] - want[i]| and its index; NaN anywhere counts as +Inf.
func MaxAbsDiff(got []float32, want []float64) (float64, int) {
	worst, at := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst || at < 0 {
			worst, at = d, i
		}
	}
	return worst, at
}

// Flat3 flattens a [B][T][H] float matrix row-major.
func Flat3(m [][][]float64) []float64 {
	var out []float64
	for _, a := range m {
		for _, r := range a {
			out = append(out, r...)
		}
	}
	return out
}
