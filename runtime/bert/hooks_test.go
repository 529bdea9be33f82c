package bert_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// TestLayerLinearAndSiteDims checks that Layer.Linear(s) is the linear bound from the
// checkpoint key of site s and that Site.Dims gives its weight's [out, in].
func TestLayerLinearAndSiteDims(t *testing.T) {
	m := loadTiny(t)
	wb, err := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ParseSafetensors("model.safetensors", wb)
	if err != nil {
		t.Fatal(err)
	}
	for l := range m.Layers {
		seen := map[*bert.Linear]bert.Site{}
		for s := bert.Site(0); s < bert.NumSites; s++ {
			lin := m.Layers[l].Linear(s)
			if lin == nil {
				t.Fatalf("layer %d %s: nil", l, s)
			}
			if o, ok := seen[lin]; ok {
				t.Fatalf("layer %d: %s and %s give the same linear", l, o, s)
			}
			seen[lin] = s
			in, out := s.Dims(&m.Config)
			if o, i := lin.W.Dims(); o != out || i != in {
				t.Errorf("layer %d %s: weight [%d, %d], Dims says [%d, %d]", l, s, o, i, out, in)
			}
			key := fmt.Sprintf("encoder.layer.%d.%s.weight", l, s)
			tn := f.Tensors[key]
			if tn == nil {
				t.Fatalf("no tensor %s", key)
			}
			want, err := tn.Float32()
			if err != nil {
				t.Fatal(err)
			}
			got := lin.W.(*kernels.F32).W
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("layer %d %s: weight[%d] = %v, checkpoint %s has %v", l, s, i, got[i], key, want[i])
				}
			}
		}
	}
	if m.Layers[0].Linear(bert.NumSites) != nil {
		t.Error("Linear(NumSites) should be nil")
	}
}
