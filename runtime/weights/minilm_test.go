package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMiniLM parses the real all-MiniLM-L6-v2 model.safetensors when
// ./build.sh model has fetched it; it is too large for testdata.
func TestMiniLM(t *testing.T) {
	path := filepath.Join("..", "..", ".cache", "models", "all-MiniLM-L6-v2", "model.safetensors")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%v (run ./build.sh model)", err)
	}
	f, err := ParseSafetensors("model.safetensors", b)
	if err != nil {
		t.Fatal(err)
	}
	w := f.Tensors["embeddings.word_embeddings.weight"]
	if w == nil {
		w = f.Tensors["bert.embeddings.word_embeddings.weight"]
	}
	if w == nil || w.DType != F32 || len(w.Shape) != 2 || w.Shape[0] != 30522 || w.Shape[1] != 384 {
		t.Fatalf("word embeddings: %+v; tensors: %v", w, f.Order)
	}
	var params int
	for _, tn := range f.Tensors {
		params += tn.NumElements()
	}
	t.Logf("%d tensors, %d parameters", len(f.Tensors), params)
}
