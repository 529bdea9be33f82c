package train

import (
	"math"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
)

// TestSaveLoadsInRuntime: every tiny case, trained 5 steps and saved in both formats, loads into
// package adapters unchanged and gives the trainer's own logits (≤ 1e-5).
func TestSaveLoadsInRuntime(t *testing.T) {
	base := tinyBase(t)
	for _, c := range []string{"seq_bn", "lora", "ia3", "double_seq_bn", "par_bn", "seq_bn_nores"} {
		g, _ := loadGolden(t, "tiny", c)
		opt := g.options()
		opt.ModelName = "adapterwasm/tiny-bert"
		tr, err := New(base, opt)
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < 5; s++ {
			if _, err := tr.Step(g.batch(t, s)); err != nil {
				t.Fatal(err)
			}
		}
		b := g.batch(t, 0)
		_, logits, err := tr.Gradients(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{FormatBin, FormatSafetensors} {
			files, err := tr.Files(format)
			if err != nil {
				t.Fatal(err)
			}
			m := adapters.New(base)
			name, err := m.Load(files, adapters.LoadOptions{})
			if err != nil {
				t.Fatalf("%s %s: %v", c, format, err)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(&adapters.State{}, b.Input)
			if err != nil {
				t.Fatal(err)
			}
			got := out.Heads[0].Logits
			d := 0.0
			for i := range logits {
				d = math.Max(d, math.Abs(float64(got[i]-logits[i])))
			}
			if d > 1e-5 {
				t.Errorf("%s %s: runtime logits differ from the trainer's by %.3g", c, format, d)
			}
			if h := m.Head(name); h == nil || h.Type != g.Head.HeadType || len(h.Labels) != len(g.Labels) || h.Labels[0] != g.Labels[0] {
				t.Errorf("%s %s: head %+v", c, format, h)
			}
		}
	}
}
