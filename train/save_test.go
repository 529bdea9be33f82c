package train

import (
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
)

// TestSaveLoadsInRuntime: every tiny case, trained 5 steps and saved in both formats, loads into
// package adapters unchanged and gives the trainer's own logits (≤ 1e-5).
func TestSaveLoadsInRuntime(t *testing.T) {
	base := tinyBase(t)
	for _, c := range []string{"seq_bn", "lora", "ia3", "double_seq_bn", "par_bn", "seq_bn_nores"} {
		tr, g := trainArch(t, base, "tiny", c, 5)
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
			var m *adapters.Model
			name, got := runtimeLogits(t, base, b.Input, func(am *adapters.Model) (string, error) {
				m = am
				return am.Load(files, adapters.LoadOptions{})
			})
			if d := maxAbs(got, logits); d > 1e-5 {
				t.Errorf("%s %s: runtime logits differ from the trainer's by %.3g", c, format, d)
			}
			if h := m.Head(name); h == nil || h.Type != g.Head.HeadType || len(h.Labels) != len(g.Labels) || h.Labels[0] != g.Labels[0] {
				t.Errorf("%s %s: head %+v", c, format, h)
			}
		}
	}
}
