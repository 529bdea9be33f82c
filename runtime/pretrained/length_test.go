package pretrained_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// longModelFiles are the tiny model's files with max_position_embeddings 65,536 (and a position
// table that size) and sentence_bert_config.json asking for 65,536 tokens.
func longModelFiles(t *testing.T) map[string][]byte {
	files := tinyModelFiles(t)
	const P = 1 << 16
	files[pretrained.ConfigFile] = bytes.Replace(files[pretrained.ConfigFile], []byte(`"max_position_embeddings": 64`), []byte(`"max_position_embeddings": 65536`), 1)
	files[pretrained.SentenceBertConfig] = []byte(`{"max_seq_length": 65536}`)
	wf, err := weights.Parse(pretrained.SafetensorsFile, files[pretrained.SafetensorsFile])
	if err != nil {
		t.Fatal(err)
	}
	var ts []*weights.Tensor
	for _, name := range wf.Order {
		x := wf.Tensors[name]
		if strings.HasSuffix(name, "embeddings.position_embeddings.weight") {
			x = &weights.Tensor{Name: x.Name, DType: x.DType, Shape: []int{P, x.Shape[1]}, Data: make([]byte, P*x.Shape[1]*4)}
		}
		ts = append(ts, x)
	}
	var buf bytes.Buffer
	if err := weights.WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	files[pretrained.SafetensorsFile] = buf.Bytes()
	return files
}

// TestTokensPerPassBounded: a model whose config and sentence_bert_config.json allow 65,536
// positions truncates texts to pretrained.MaxSequenceLength tokens, so that the attention scores
// (T² floats per head) of one pass stay at 64 MiB: a 65,536-token text asked for 16 GiB, a fatal
// out-of-memory natively and in Wasm.
func TestTokensPerPassBounded(t *testing.T) {
	m, err := pretrained.Load(longModelFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.MaxLength != pretrained.MaxSequenceLength {
		t.Fatalf("MaxLength = %d, want %d", m.MaxLength, pretrained.MaxSequenceLength)
	}
	long := strings.Repeat("hello world ", 40_000)
	in, _ := m.Tokenize([]string{long}, 0)
	if in.T != pretrained.MaxSequenceLength {
		t.Fatalf("T = %d", in.T)
	}
	if in2, _ := m.Tokenize([]string{long}, 1<<16); in2.T != pretrained.MaxSequenceLength {
		t.Fatalf("T = %d with maxLength 65536", in2.T)
	}
	if testing.Short() || runtime.GOOS == "js" {
		return // the 4096-token pass below takes ~3 s of CPU natively, far more in Wasm
	}
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	t0 := time.Now()
	_, err = m.Embed(&bert.State{}, []string{long}, pretrained.PoolMean, false)
	d := time.Since(t0)
	runtime.ReadMemStats(&b)
	grew := b.TotalAlloc - a.TotalAlloc
	t.Logf("a %d-byte text: %d tokens in one pass, %v, %d MB allocated", len(long), in.T, d.Round(time.Millisecond), grew>>20)
	if err != nil {
		t.Fatal(err)
	}
	if grew > 256<<20 {
		t.Errorf("allocated %d MB", grew>>20)
	}
}
