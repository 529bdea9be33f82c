package adapters

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// TestAt3Adapters: adapters saved by adapter-transformers 3.2.1, as the Hub's pf adapters were
// (testdata/at3, tools/reference/make_at3.py: BertModelWithHeads on the real MiniLM, version
// "3.2.1" configs, .bin weights; pfeiffer with a 2-layer head, pfeiffer with leave_out and a
// 3-label 1-layer head, LoRA), loaded unchanged, give the library's logits within 1e-5 on every
// golden sentence (each alone, unpadded), its labels, and the config ids the library hashed into
// the AdapterHub index (ah/index).
func TestAt3Adapters(t *testing.T) {
	base := miniLMBase(t)
	var index map[string]map[string]map[string]any
	golden.Load(t, &index, "at3", "ah", "index", "sentence-transformers", "all-MiniLM-L6-v2.json")
	ids := map[string]bool{}
	for _, task := range index {
		for _, sub := range task {
			for k := range sub {
				ids[k] = true
			}
		}
	}
	for _, name := range []string{"imdb", "topic", "lora"} {
		t.Run(name, func(t *testing.T) {
			var g miniLMGolden
			golden.Load(t, &g, "at3", "golden", name+".json")
			var lib struct{ Library string }
			b, _ := os.ReadFile(golden.Path("at3", "golden", name+".json"))
			if json.Unmarshal(b, &lib); lib.Library != "adapter-transformers 3.2.1" || len(g.Logits) != len(g.Sentences) || len(g.Logits) == 0 {
				t.Fatalf("golden: library %q, %d logits", lib.Library, len(g.Logits))
			}
			m := New(base)
			got, err := m.LoadDir(golden.Path("at3", g.Adapter), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != name {
				t.Fatalf("loaded as %q", got)
			}
			if id := m.Adapter(name).Config.ConfigID(); !ids[id] {
				t.Errorf("config id %s is not among the index's (the library's hashes): %v", id, ids)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			st := &State{}
			worst := 0.0
			sentences := len(g.Sentences)
			if testing.Short() {
				// The Wasm runs (-short): the first 4 sentences; js/test/at3.test.js runs all 12
				// through the Wasm module, and natively every one runs here.
				sentences = 4
			}
			for i := range sentences {
				n := 0
				for _, v := range g.AttentionMask[i] {
					n += int(v)
				}
				out, err := m.Forward(st, bert.Input{B: 1, T: n, IDs: g.InputIDs[i][:n]})
				if err != nil {
					t.Fatal(err)
				}
				h := out.Heads[0]
				d, at := golden.MaxAbsDiff(h.Logits, g.Logits[i])
				if d > 1e-5 {
					t.Errorf("sentence %d: max |diff| %.3g at %d (got %v want %v)", i, d, at, h.Logits[at], g.Logits[i][at])
				}
				worst = max(worst, d)
				if p := h.Head.Predict(h.Logits); p.Label != g.Predicted[i] {
					t.Errorf("sentence %d: label %s, the library's %s", i, p.Label, g.Predicted[i])
				}
			}
			t.Logf("%s: %d sentences, max |diff| %.2g", name, sentences, worst)
		})
	}
}
