package train

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// BenchmarkMiniLMStep: one training step (forward, backward, AdamW) of a seq_bn adapter (rf 16)
// and a 2-layer head on the real all-MiniLM-L6-v2, f32 and q8 bases, batch 8 at 32 and 128
// tokens (every token real); reports examples/s. Run natively:
//
//	go test ./train -run '^$' -bench MiniLMStep -benchtime 3x
func BenchmarkMiniLMStep(b *testing.B) {
	dir := golden.MiniLMDir(b)
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors", "sentence_bert_config.json"} {
		if d, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			files[f] = d
		}
	}
	for _, dt := range []string{"f32", "q8"} {
		src := map[string][]byte{}
		for k, v := range files {
			src[k] = v // Convert consumes its map
		}
		c, err := pretrained.Convert(src, pretrained.ConvertOptions{DType: dt, Fallback: "minilm"})
		if err != nil {
			b.Fatal(err)
		}
		m, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: c.File})
		if err != nil {
			b.Fatal(err)
		}
		for _, T := range []int{32, 128} {
			b.Run(fmt.Sprintf("%s/8x%d", dt, T), func(b *testing.B) {
				tr, err := New(m.Encoder, Options{Name: "s", Config: "seq_bn", Head: HeadSpec{Labels: []string{"n", "p"}}})
				if err != nil {
					b.Fatal(err)
				}
				const B = 8
				ids := make([]int32, B*T)
				for i := range ids {
					ids[i] = int32(1000 + (i*7919)%20000)
				}
				batch := Batch{Input: bert.Input{B: B, T: T, IDs: ids}, Labels: []int{0, 1, 0, 1, 0, 1, 0, 1}}
				if _, err := tr.Step(batch); err != nil { // first step sizes the buffers
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := tr.Step(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "examples/s")
			})
		}
	}
}
