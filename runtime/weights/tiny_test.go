package weights

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestTinyAdapters reads the adapters written by the real AdapterHub library
// into testdata/tiny (tools/reference/make_tiny.py), in both formats, and
// expects the .bin and the .safetensors of each adapter to hold the same tensors.
func TestTinyAdapters(t *testing.T) {
	pairs := map[string]string{
		"pytorch_adapter.bin":              "adapter.safetensors",
		"pytorch_model_head.bin":           "model_head.safetensors",
		"pytorch_model_adapter_fusion.bin": "model_adapter_fusion.safetensors",
	}
	bins, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "tiny", "adapters", "*", "*.bin"))
	if len(bins) == 0 {
		t.Skip("no testdata/tiny adapters")
	}
	for _, bin := range bins {
		dir, base := filepath.Dir(bin), filepath.Base(bin) // …/tiny/adapters/<name>/<base>
		st := filepath.Join(filepath.Dir(filepath.Dir(dir)), "adapters_st", filepath.Base(dir), pairs[base])
		t.Run(filepath.Base(dir)+"/"+base, func(t *testing.T) {
			fb := mustParse(t, bin)
			if len(fb.Tensors) == 0 {
				t.Fatal("no tensors")
			}
			if _, err := os.Stat(st); err != nil {
				t.Skip(err)
			}
			fs := mustParse(t, st)
			a, b := slices.Sorted(keys(fb.Tensors)), slices.Sorted(keys(fs.Tensors))
			if !slices.Equal(a, b) {
				t.Fatalf("names differ:\n.bin         %v\n.safetensors %v", a, b)
			}
			for _, name := range a {
				x, y := fb.Tensors[name], fs.Tensors[name]
				if x.DType != y.DType || !slices.Equal(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
					t.Errorf("%s: .bin %s%v differs from .safetensors %s%v", name, x.DType, x.Shape, y.DType, y.Shape)
				}
			}
		})
	}
}

func mustParse(t *testing.T, path string) *File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(filepath.Base(path), b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func keys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
