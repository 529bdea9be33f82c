package pretrained_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// minCosine is the bound on cosine(ours, sentence-transformers) for MiniLM f32 embeddings.
const minCosine = 0.99999

type minilmBase struct {
	golden.Base
	Positions [][3]json.RawMessage `json:"last_hidden_state_positions"` // [b, t, [H floats]]
}

func cosine(a []float32, b []float64) float64 {
	var ab, aa, bb float64
	for i := range b {
		ab += float64(a[i]) * b[i]
		aa += float64(a[i]) * float64(a[i])
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

func TestMiniLMMatchesSentenceTransformers(t *testing.T) {
	m, err := pretrained.LoadDir(golden.MiniLMDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var g minilmBase
	golden.Load(t, &g, "minilm", "golden", "base.json")
	if m.MaxLength != g.MaxLength {
		t.Errorf("MaxLength %d, reference %d", m.MaxLength, g.MaxLength)
	}
	// One sentence at a time (unpadded): the same result as the reference's padded batch
	// (checked on the tiny model by runtime/bert's TestBatchEqualsSingle) at a fraction of the cost.
	st := &bert.State{}
	H := m.Config.HiddenSize
	worst, minCos := 0.0, 1.0
	emb := make([]float32, H)
	for i, s := range g.Sentences {
		in, encs := m.Tokenize([]string{s}, 0)
		if !slices.Equal(encs[0].IDs, trim(g.InputIDs[i], g.AttentionMask[i])) {
			t.Errorf("sentence %d: ids %v, reference %v", i, encs[0].IDs, g.InputIDs[i])
			continue
		}
		hidden, err := m.Encoder.Forward(st, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range g.Positions {
			var b, tok int
			var want []float64
			json.Unmarshal(p[0], &b)
			json.Unmarshal(p[1], &tok)
			if b != i {
				continue
			}
			json.Unmarshal(p[2], &want)
			d, _ := golden.MaxAbsDiff(hidden[tok*H:(tok+1)*H], want)
			worst = math.Max(worst, d)
		}
		bert.MeanPool(emb, hidden, in.AttentionMask, 1, in.T, H)
		bert.Normalize(emb, 1, H)
		minCos = math.Min(minCos, cosine(emb, g.Embeddings[i]))
	}
	t.Logf("last hidden state: max |diff| %.3g over %d positions; embeddings: min cosine %.9f", worst, len(g.Positions), minCos)
	if worst > 1e-4 {
		t.Errorf("last hidden state differs by %.3g > 1e-4", worst)
	}
	if minCos < minCosine {
		t.Errorf("embedding cosine %.9f < %v", minCos, minCosine)
	}
}

func trim(ids, mask []int32) []int32 {
	n := 0
	for _, v := range mask {
		n += int(v)
	}
	return ids[:n]
}

func TestTinyDirTokensMatchReference(t *testing.T) {
	m, err := pretrained.LoadDir(golden.Path("tiny", "model"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	in, _ := m.Tokenize(g.Sentences, g.MaxLength)
	if in.T != len(g.InputIDs[0]) {
		t.Fatalf("padded length %d, reference %d", in.T, len(g.InputIDs[0]))
	}
	if got, want := in.IDs, golden.Flat2(g.InputIDs); !slices.Equal(got, want) {
		t.Errorf("input ids differ from the reference")
	}
	if got, want := in.AttentionMask, golden.Flat2(g.AttentionMask); !slices.Equal(got, want) {
		t.Errorf("attention mask differs from the reference")
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	src := golden.Path("tiny", "model")
	cases := map[string]func(dir string){
		"no config": func(dir string) { os.Remove(filepath.Join(dir, "config.json")) },
		"bad config": func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"hidden_size": "x"`), 0o644)
		},
		"no weights": func(dir string) { os.Remove(filepath.Join(dir, "model.safetensors")) },
		"truncated weights": func(dir string) {
			b, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
			os.WriteFile(filepath.Join(dir, "model.safetensors"), b[:len(b)/3], 0o644)
		},
		"bad tokenizer": func(dir string) { os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`[]`), 0o644) },
		// a tokenizer with more ids than the model has embeddings (BERT's 30,522 on a RoBERTa of 1,501)
		"tokenizer larger than the vocabulary": func(dir string) {
			for _, f := range []string{"config.json", "model.safetensors"} {
				b, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "archs", "roberta", "model", f))
				os.WriteFile(filepath.Join(dir, f), b, 0o644)
			}
		},
		"wrong model type": func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"gpt2","hidden_size":32}`), 0o644)
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dir, f), b, 0o644)
			}
			breakIt(dir)
			_, err := pretrained.LoadDir(dir)
			if err == nil {
				t.Fatal("loaded a broken directory")
			}
			var pe *pretrained.Error
			if !errors.As(err, &pe) && !containsFileName(err.Error()) {
				t.Errorf("error does not name the file: %v", err)
			}
			t.Log(err)
		})
	}
}

func containsFileName(s string) bool {
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// BenchmarkMiniLMForward measures one forward pass of real MiniLM, batch 1, at several lengths.
func BenchmarkMiniLMForward(b *testing.B) {
	m, err := pretrained.LoadDir(golden.MiniLMDir(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, T := range []int{16, 32, 128} {
		b.Run(itoa(T), func(b *testing.B) {
			in := bert.Input{B: 1, T: T, IDs: make([]int32, T)}
			for i := range in.IDs {
				in.IDs[i] = int32(1000 + i)
			}
			st := &bert.State{}
			m.Encoder.Forward(st, in, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Encoder.Forward(st, in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string { return "seq" + strconv.Itoa(n) }

// A max length below the special-token count must still truncate (the tokenizers library
// would turn truncation off there, exceeding the model's positions).
func TestTinyMaxLengthClamped(t *testing.T) {
	m, err := pretrained.LoadDir(golden.Path("tiny", "model"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("word ", 500)
	for _, n := range []int{1, 2, 3} {
		in, _ := m.Tokenize([]string{long}, n)
		if want := max(n, 2); in.T != want {
			t.Errorf("max length %d: %d tokens, want %d", n, in.T, want)
		}
	}
	in, _ := m.Tokenize([]string{long}, 0)
	if in.T != m.MaxLength || in.T > m.Config.MaxPositionEmbeddings {
		t.Errorf("default: %d tokens, MaxLength %d", in.T, m.MaxLength)
	}
}

// CLS pooling runs the last layer on each text's first row only (bert.Input.FirstOnly): the
// embeddings are those of the full forward's first rows, bit for bit, for texts of different
// lengths in one call (padded groups).
func TestEmbedCLSFirstRows(t *testing.T) {
	m, err := pretrained.LoadDir(golden.Path("tiny", "model"))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"hello world, a longer sentence than the others", "x", "two words", ""}
	got, err := m.Embed(&bert.State{}, texts, pretrained.PoolCLS, false)
	if err != nil {
		t.Fatal(err)
	}
	H := m.Config.HiddenSize
	for i, text := range texts {
		in, _ := m.Tokenize([]string{text}, 0)
		hidden, err := m.Encoder.Forward(&bert.State{}, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(hidden) != in.T*H {
			t.Fatalf("the full forward returned %d floats, want %d", len(hidden), in.T*H)
		}
		if !slices.Equal(got[i], hidden[:H]) {
			t.Errorf("text %d %q: CLS embedding differs from the full forward's first row", i, text)
		}
	}
}
