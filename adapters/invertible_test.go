package adapters

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// TestInvertibleMissingTensors: a config declaring inv_adapter whose weights lack the coupling's
// tensors is refused with one LoadError listing every missing one (the library would warn and
// run a freshly initialised coupling).
func TestInvertibleMissingTensors(t *testing.T) {
	base := tinyBase(t)
	files, err := ReadDir(methodsDir("methods", "adapters_st", "lang_inv"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	editTensors(t, files, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
		var out []*weights.Tensor
		for _, x := range ts {
			if strings.Contains(x.Name, "invertible_adapters.lang_inv.") {
				n++
				continue
			}
			out = append(out, x)
		}
		return out
	})
	if n != 8 {
		t.Fatalf("%d invertible tensors in the fixture, want 8 (F and G: two linears each)", n)
	}
	_, err = New(base).Load(files, LoadOptions{})
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 8 {
		t.Fatalf("err = %v, want a LoadError with 8 problems", err)
	}
	for _, s := range []string{"F.0.weight", "F.0.bias", "F.2.weight", "F.2.bias", "G.0.weight", "G.0.bias", "G.2.weight", "G.2.bias"} {
		if !strings.Contains(err.Error(), "missing tensor invertible_adapters.lang_inv."+s) {
			t.Errorf("error does not name %s: %v", s, err)
		}
	}
}

// TestInvertibleGlowRefused: the library saves a GLOW coupling but fails to run it on BERT (its
// golden records the error); loading it here is refused with an UnsupportedError saying so.
func TestInvertibleGlowRefused(t *testing.T) {
	var c struct {
		ForwardError string `json:"forward_error"`
	}
	loadMethodsJSON(t, &c, "methods", "golden", "inv_glow_error.json")
	if !strings.HasPrefix(c.ForwardError, "RuntimeError") {
		t.Fatalf("recorded library error %q", c.ForwardError)
	}
	base := tinyBase(t)
	for _, sub := range []string{"adapters", "adapters_st"} {
		_, err := New(base).LoadDir(methodsDir("methods", sub, "inv_glow"), LoadOptions{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unsupported: inv_adapter "glow"`) {
			t.Fatalf("%s: err = %v, want unsupported glow", sub, err)
		}
	}
}

// TestInvertibleRoundTrip: the coupling's inverse (the library's rev=True, run before an LM
// head's output embedding) undoes its forward, and the forward moves the vectors.
func TestInvertibleRoundTrip(t *testing.T) {
	base := tinyBase(t)
	m := New(base)
	for _, name := range []string{"lang_inv", "inv_prelu"} {
		if _, err := m.LoadDir(methodsDir("methods", "adapters_st", name), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
		inv := m.adapters[name].inv
		if inv == nil {
			t.Fatalf("%s: no invertible module bound", name)
		}
		H := base.Config.HiddenSize
		rows := 7
		r := rand.New(rand.NewSource(1))
		x := make([]float32, rows*H)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		h := append([]float32(nil), x...)
		var a arena
		inv.forward(&a, h, rows)
		moved, back := 0.0, 0.0
		for i := range h {
			moved = math.Max(moved, math.Abs(float64(h[i]-x[i])))
		}
		a.reset()
		inv.inverse(&a, h, rows)
		for i := range h {
			back = math.Max(back, math.Abs(float64(h[i]-x[i])))
		}
		if moved < 0.1 || back > 1e-4 {
			t.Fatalf("%s: forward moved by %g, inverse left %g", name, moved, back)
		}
		t.Logf("%s: forward moves by %.3g, inverse(forward(x)) - x = %.2g", name, moved, back)
	}
}
