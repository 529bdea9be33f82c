package adapters

import (
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// miniLMBase loads the real all-MiniLM-L6-v2 (./build.sh model; ADAPTERWASM_MINILM_DIR).
func miniLMBase(t testing.TB) *bert.Model {
	t.Helper()
	m, err := pretrained.LoadDir(golden.MiniLMDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return m.Encoder
}

// miniLMGolden is testdata/minilm/golden/<adapter>.json (tools/reference/make_minilm.py); a
// fusion's golden also names the adapter directories to load first (requires) and its setup.
type miniLMGolden struct {
	Adapter       string      `json:"adapter"`
	Requires      []string    `json:"requires"`
	Setup         string      `json:"setup"`
	Head          string      `json:"head"`
	Labels        []string    `json:"labels"`
	Sentences     []string    `json:"sentences"`
	InputIDs      [][]int32   `json:"input_ids"`
	AttentionMask [][]int32   `json:"attention_mask"`
	Logits        [][]float64 `json:"logits"`
	Predicted     []string    `json:"predicted"`
}

// TestMiniLMDemoAdapters: every demo adapter, loaded unchanged from testdata/minilm/adapters,
// and the demo AdapterFusion (testdata/minilm/fusions, over its adapters, as Fuse(...)) give the
// reference label on every golden sentence and logits within 1e-4.
func TestMiniLMDemoAdapters(t *testing.T) {
	cases := golden.MiniLMAdapterCases()
	if len(cases) == 0 {
		t.Skip("no adapter goldens in testdata/minilm/golden yet")
	}
	base := miniLMBase(t)
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			var g miniLMGolden
			golden.Load(t, &g, "minilm", "golden", c+".json")
			if g.Adapter == "" || len(g.Logits) == 0 {
				t.Skip("not an adapter golden")
			}
			m := New(base)
			for _, dir := range g.Requires {
				if _, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(dir)), LoadOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			name, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(g.Adapter)), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g.Setup != "" {
				name = g.Setup
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			// One sentence at a time, unpadded: the same logits as the reference's padded batch
			// (runtime/bert TestBatchEqualsSingle) at a fraction of the cost of 12×128 tokens.
			st := &State{}
			for i := range g.Sentences {
				n := 0
				for _, v := range g.AttentionMask[i] {
					n += int(v)
				}
				in := bert.Input{B: 1, T: n, IDs: g.InputIDs[i][:n]}
				out, err := m.Forward(st, in)
				if err != nil {
					t.Fatal(err)
				}
				if !testing.Short() || i == 0 { // under Wasm in CI, the first sentence of each setup
					checkFirstOnly(t, m, in, out)
				}
				if len(out.Heads) != 1 {
					t.Fatalf("%d heads", len(out.Heads))
				}
				h := out.Heads[0]
				checkLogits(t, name, h.Logits, g.Logits[i])
				p := h.Head.Predict(h.Logits)
				if i < len(g.Predicted) && p.Label != g.Predicted[i] {
					t.Errorf("sentence %d %q: label %s, reference %s", i, g.Sentences[i], p.Label, g.Predicted[i])
				}
			}
		})
	}
}
