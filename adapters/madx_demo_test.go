package adapters

import (
	"slices"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// madxDemo is testdata/madx_demo/golden/demo.json (tools/reference/make_madx_demo.py).
type madxDemo struct {
	Texts         []string                      `json:"texts"`
	Languages     []string                      `json:"languages"`
	Labels        []int                         `json:"labels"`
	InputIDs      [][]int32                     `json:"input_ids"`
	AttentionMask [][]int32                     `json:"attention_mask"`
	Accuracy      map[string]map[string]float64 `json:"accuracy"`
	Logits        map[string][][]float64        `json:"logits"`
}

// TestMADXCrossLingual: MAD-X's zero-shot cross-lingual transfer on the synthetic demo of
// testdata/madx_demo (an XLM-R-shaped random base, two invented languages, language adapters
// with invertible adapters, a task adapter trained on language l1 only). Switching the
// language adapter under the same task adapter switches the language handled, as in the
// library: Stack(lang_l1,sentiment) classifies l1 and not l2, Stack(lang_l2,sentiment) l2 and
// not l1. Ours give the library's logits (1e-4), the same labels, hence the same accuracies,
// from .bin and safetensors, and the texts tokenize to the library's ids.
func TestMADXCrossLingual(t *testing.T) {
	base, _ := loadArch(t, "xlm-roberta")
	var g madxDemo
	golden.Load(t, &g, "madx_demo", "golden", "demo.json")
	in, _ := base.Tokenize(g.Texts, 0)
	want := bert.Input{B: len(g.InputIDs), T: len(g.InputIDs[0]), IDs: golden.Flat2(g.InputIDs), AttentionMask: golden.Flat2(g.AttentionMask)}
	if in.T != want.T || !slices.Equal(in.IDs, want.IDs) || !slices.Equal(in.AttentionMask, want.AttentionMask) {
		t.Fatalf("ids %v\nwant %v", in.IDs, want.IDs)
	}
	for _, sub := range []string{"adapters", "adapters_st"} {
		t.Run(sub, func(t *testing.T) {
			m := New(base.Encoder)
			for _, name := range []string{"lang_l1", "lang_l2", "sentiment"} {
				if got, err := m.LoadDir(golden.Path("madx_demo", sub, name), LoadOptions{}); err != nil || got != name {
					t.Fatalf("load %s: %q, %v", name, got, err)
				}
			}
			if m.Adapter("lang_l1").inv == nil || m.Adapter("lang_l2").inv == nil {
				t.Fatal("language adapters without their invertible adapters")
			}
			preds := map[string][]int{}
			for _, setup := range []string{"Stack(lang_l1,sentiment)", "Stack(lang_l2,sentiment)"} {
				if err := m.SetActive(setup); err != nil {
					t.Fatal(err)
				}
				out, err := m.Forward(&State{}, want)
				if err != nil {
					t.Fatal(err)
				}
				got := out.Heads[0].Logits
				ref := g.Logits[setup]
				d, _ := golden.MaxAbsDiff(got, golden.Flat2(ref))
				if d > tolerance {
					t.Errorf("%s: max |Δlogit| %.3g > %g", setup, d, tolerance)
				}
				acc := map[string]float64{}
				n := map[string]int{}
				for i := range ref {
					p := 0
					if got[2*i+1] > got[2*i] {
						p = 1
					}
					r := 0
					if ref[i][1] > ref[i][0] {
						r = 1
					}
					if p != r {
						t.Errorf("%s: %q: label %d, the library's %d", setup, g.Texts[i], p, r)
					}
					preds[setup] = append(preds[setup], p)
					n[g.Languages[i]]++
					if p == g.Labels[i] {
						acc[g.Languages[i]]++
					}
				}
				for lang := range acc {
					acc[lang] /= float64(n[lang])
					if acc[lang] != g.Accuracy[setup][lang] {
						t.Errorf("%s: accuracy on %s %.3f, the library's %.3f", setup, lang, acc[lang], g.Accuracy[setup][lang])
					}
				}
				t.Logf("%s: max |Δlogit| %.2g; held-out accuracy l1 %.3f, l2 %.3f", setup, d, acc["l1"], acc["l2"])
			}
			// the switch itself: each stack handles its own language far better than the other
			a1, a2 := g.Accuracy["Stack(lang_l1,sentiment)"], g.Accuracy["Stack(lang_l2,sentiment)"]
			if a1["l1"] < 0.9 || a2["l2"] < 0.9 || a1["l2"] > 0.75 || a2["l1"] > 0.75 {
				t.Errorf("no switch: %v", g.Accuracy)
			}
			if slices.Equal(preds["Stack(lang_l1,sentiment)"], preds["Stack(lang_l2,sentiment)"]) {
				t.Error("switching the language adapter changed no prediction")
			}
		})
	}
}
