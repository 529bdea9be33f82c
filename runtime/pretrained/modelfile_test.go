package pretrained_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Bounds of issue 5 on the committed golden sentences (MiniLM, mean-pooled normalized embeddings).
const (
	minSizeRatioQ8  = 0.30 // q8 file ≤ 30% of the f32 model.safetensors
	minSizeRatioF16 = 0.51 // f16 file ≤ 51%
	// minMeanCosQ8 bounds the mean cosine of q8 to f32 embeddings: issue 5's target is 0.995;
	// measured 0.999849 (min 0.999672) with the converter's recipe, 0.999802 with ggml's scales
	// and q8 position embeddings, so the bound also catches a recipe that loses that ground.
	minMeanCosQ8 = 0.9998
	// minMeanCosF16 is ours: f16 weights round each weight by at most 2⁻¹¹ relative.
	minMeanCosF16 = 0.9999
	// minCosF32File: the converted f32 file holds the same values as model.safetensors; only the
	// tokenizer round trip through the file could differ, and must not.
	minCosF32File = 0.999999
)

// convertDir converts the Hugging Face directory dir into a model file of dtype, in memory.
func convertDir(t testing.TB, dir string, dtype modelfile.DType) (file, manifest []byte) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) && name == pretrained.SentenceBertConfig {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wf, err := weights.ParseSafetensors(pretrained.SafetensorsFile, read(pretrained.SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := modelfile.Convert(wf, dtype)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	h := modelfile.Header{DType: dtype, Source: filepath.Base(dir), Config: read(pretrained.ConfigFile),
		Tokenizer: read(pretrained.TokenizerFile), SentenceBertConfig: read(pretrained.SentenceBertConfig)}
	if err := modelfile.Write(&buf, h, ts); err != nil {
		t.Fatal(err)
	}
	m := modelfile.NewManifest(buf.Bytes(), dtype, h.Source)
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mb
}

func tinyInput(t testing.TB) (bert.Input, *golden.Base) {
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	return bert.Input{B: len(g.InputIDs), T: len(g.InputIDs[0]), IDs: golden.Flat2(g.InputIDs),
		TypeIDs: golden.Flat2(g.TokenTypeIDs), AttentionMask: golden.Flat2(g.AttentionMask)}, &g
}

// TestModelFileTiny: the converted f32 file runs bit-identically to the Hugging Face directory;
// f16 and q8 load and stay close; LoadDir checks the manifest.
func TestModelFileTiny(t *testing.T) {
	dir := golden.Path("tiny", "model")
	hf, err := pretrained.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := tinyInput(t)
	want, err := hf.Encoder.Forward(&bert.State{}, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dtype  modelfile.DType
		maxAbs float64 // on LayerNorm-scale hidden states of a random-weight model
	}{{modelfile.F32, 0}, {modelfile.F16, 2e-2}, {modelfile.Q8, 5e-2}} {
		t.Run(string(c.dtype), func(t *testing.T) {
			file, man := convertDir(t, dir, c.dtype)
			out := t.TempDir()
			if err := os.WriteFile(filepath.Join(out, pretrained.ModelFile), file, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, pretrained.ManifestFile), man, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := pretrained.LoadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			if m.MaxLength != hf.MaxLength || m.Config != hf.Config || m.Tokenizer.VocabSize() != hf.Tokenizer.VocabSize() {
				t.Fatalf("model differs: max length %d vs %d", m.MaxLength, hf.MaxLength)
			}
			got, err := m.Encoder.Forward(&bert.State{}, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > c.maxAbs {
				t.Fatalf("hidden states differ from the f32 directory by %g > %g", worst, c.maxAbs)
			}
			t.Logf("%s: %d bytes, max |Δhidden| %.3g", c.dtype, len(file), worst)

			// A flipped bit is refused by the manifest check, typed.
			file[len(file)/2] ^= 0x10
			if err := os.WriteFile(filepath.Join(out, pretrained.ModelFile), file, 0o644); err != nil {
				t.Fatal(err)
			}
			var ce *modelfile.ChecksumError
			if _, err := pretrained.LoadDir(out); !errors.As(err, &ce) {
				t.Fatalf("corrupted file: error %T %v, want *modelfile.ChecksumError", err, err)
			}
		})
	}
}

// TestModelFileCorruptionWithoutManifest: without a manifest, truncations and bit flips of a
// converted file give an error or a model, never a panic.
func TestModelFileCorruptionWithoutManifest(t *testing.T) {
	file, _ := convertDir(t, golden.Path("tiny", "model"), modelfile.Q8)
	hdr := 8 + int(binary.LittleEndian.Uint64(file))
	cuts := []int{0, 7, 8, 40, hdr / 2, hdr, hdr + 1, len(file) / 2, len(file) - 1}
	for _, n := range cuts {
		if _, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: file[:n]}); err == nil {
			t.Fatalf("cut at %d accepted", n)
		}
	}
	// Flips across the header: the length, magic and metadata at its start, the tensor entries
	// (names, dtypes, shapes, offsets) at its end. Each Load parses the 466 KB tokenizer, so a
	// sample of positions, not all of them.
	b := bytes.Clone(file)
	var at []int
	for i := 0; i < 64; i += 3 {
		at = append(at, i)
	}
	for i := max(0, hdr-3000); i < hdr; i += 41 {
		at = append(at, i)
	}
	for _, i := range at {
		b[i] ^= 0x04
		_, _ = pretrained.Load(map[string][]byte{pretrained.ModelFile: b})
		b[i] ^= 0x04
	}
}

var (
	miniOnce  sync.Once
	miniFiles map[modelfile.DType][]byte
	miniSize  int64
)

func miniLM(t *testing.T) (map[modelfile.DType][]byte, int64) {
	dir := golden.MiniLMDir(t)
	miniOnce.Do(func() {
		miniFiles = map[modelfile.DType][]byte{}
		for _, d := range []modelfile.DType{modelfile.F32, modelfile.F16, modelfile.Q8} {
			miniFiles[d], _ = convertDir(t, dir, d)
		}
		fi, err := os.Stat(filepath.Join(dir, pretrained.SafetensorsFile))
		if err != nil {
			t.Fatal(err)
		}
		miniSize = fi.Size()
	})
	if miniFiles == nil {
		t.Fatal("conversion failed")
	}
	return miniFiles, miniSize
}

func TestMiniLMModelFileSizes(t *testing.T) {
	files, f32Size := miniLM(t)
	for _, c := range []struct {
		dtype modelfile.DType
		max   float64
	}{{modelfile.F16, minSizeRatioF16}, {modelfile.Q8, minSizeRatioQ8}} {
		r := float64(len(files[c.dtype])) / float64(f32Size)
		t.Logf("%s: %d bytes = %.2f%% of model.safetensors (%d bytes)", c.dtype, len(files[c.dtype]), 100*r, f32Size)
		if r > c.max {
			t.Errorf("%s file is %.2f%% of f32, want ≤ %.0f%%", c.dtype, 100*r, 100*c.max)
		}
	}
}

func cosine32(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestMiniLMQuantizedEmbeddings: mean-pooled normalized embeddings of the golden sentences from
// the f16 and q8 files against the f32 file, which matches the reference.
func TestMiniLMQuantizedEmbeddings(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (the Wasm passes of build.sh test): plain-Go numerics are the same on every GOARCH and run natively; the SIMD path is held to the CLI by js/test")
	}
	files, _ := miniLM(t)
	var g golden.Base
	golden.Load(t, &g, "minilm", "golden", "base.json")
	embed := func(d modelfile.DType) [][]float32 {
		m, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: files[d]})
		if err != nil {
			t.Fatal(err)
		}
		// One sentence at a time: the batch would pad all of them to the longest (256 tokens).
		st := &bert.State{}
		var out [][]float32
		for _, s := range g.Sentences {
			e, err := m.Embed(st, []string{s}, pretrained.PoolMean, true)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e[0])
		}
		return out
	}
	ref := embed(modelfile.F32)
	for i, e := range ref {
		w := make([]float32, len(g.Embeddings[i]))
		for j, v := range g.Embeddings[i] {
			w[j] = float32(v)
		}
		if c := cosine32(e, w); c < minCosF32File {
			t.Errorf("f32 file, sentence %d: cosine %.7f to the reference embedding < %g", i, c, minCosF32File)
		}
	}
	for _, c := range []struct {
		dtype modelfile.DType
		min   float64
	}{{modelfile.F16, minMeanCosF16}, {modelfile.Q8, minMeanCosQ8}} {
		got := embed(c.dtype)
		var sum, worst float64 = 0, 1
		for i := range got {
			cs := cosine32(got[i], ref[i])
			sum += cs
			worst = min(worst, cs)
		}
		mean := sum / float64(len(got))
		t.Logf("%s vs f32 on %d golden sentences: mean cosine %.8f, min %.8f", c.dtype, len(got), mean, worst)
		if mean < c.min {
			t.Errorf("%s: mean cosine %.6f < %g", c.dtype, mean, c.min)
		}
	}
}

// BenchmarkMiniLMForwardDType times one forward pass of MiniLM from each file dtype, batch 1, 32 tokens.
func BenchmarkMiniLMForwardDType(b *testing.B) {
	dir := golden.MiniLMDir(b)
	for _, d := range []modelfile.DType{modelfile.F32, modelfile.F16, modelfile.Q8} {
		file, _ := convertDir(b, dir, d)
		m, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: file})
		if err != nil {
			b.Fatal(err)
		}
		const T = 32
		in := bert.Input{B: 1, T: T, IDs: make([]int32, T)}
		for i := range in.IDs {
			in.IDs[i] = int32(1000 + 37*i)
		}
		st := &bert.State{}
		b.Run(string(d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Encoder.Forward(st, in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMiniLMQ8BlockChoice measures what ARCHITECTURE.md cites for choosing scales per block of
// 32 over per row: the relative RMS error of MiniLM's linear weights, and the embeddings'
// cosine to f32 with each (ggml's d = amax/127 in both). Blocks must be the more accurate on
// both, and the converter's searched scales more accurate still on the weights.
func TestMiniLMQ8BlockChoice(t *testing.T) {
	if runtime.GOARCH == "wasm" {
		t.Skip("a measurement, the same on every GOARCH: run natively (4 MiniLM passes cost minutes in Node)")
	}
	dir := golden.MiniLMDir(t)
	wb, err := os.ReadFile(filepath.Join(dir, pretrained.SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := weights.ParseSafetensors(pretrained.SafetensorsFile, wb)
	if err != nil {
		t.Fatal(err)
	}
	relErr := func(block int) float64 { // block 0: one scale per row
		var se, ss float64
		for name, tt := range wf.Tensors {
			if len(tt.Shape) != 2 || !strings.HasPrefix(name, "encoder.layer.") {
				continue
			}
			w, _ := tt.Float32()
			b := block
			if b == 0 {
				b = tt.Shape[1]
			}
			q := kernels.QuantizeQ8(w, tt.Shape[0], tt.Shape[1], b)
			d := make([]float32, len(w))
			q.Dequantize(d)
			for i := range w {
				se += float64(d[i]-w[i]) * float64(d[i]-w[i])
				ss += float64(w[i]) * float64(w[i])
			}
		}
		return math.Sqrt(se / ss)
	}
	var g golden.Base
	golden.Load(t, &g, "minilm", "golden", "base.json")
	embed := func() [][]float32 {
		m, err := pretrained.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for _, s := range g.Sentences {
			e, err := m.Embed(&bert.State{}, []string{s}, pretrained.PoolMean, true)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e[0])
		}
		return out
	}
	ref := embed()
	cos := func(block int) (mean, worst float64) {
		return embedWith(func(orig matrixFromTensor) matrixFromTensor {
			return func(tt, scale *weights.Tensor, out, in int) (kernels.Matrix, error) {
				m, err := orig(tt, scale, out, in)
				if err != nil || !strings.HasPrefix(tt.Name, "encoder.layer.") { // the linears only
					return m, err
				}
				w, _ := tt.Float32()
				b := block
				if b == 0 {
					b = in
				}
				return kernels.QuantizeQ8(w, out, in, b), nil
			}
		}, embed, ref)
	}
	// What the converter stores, at each block it writes (modelfile.ConvertWith; the default
	// modelfile.DefaultQ8Block): scales searched per block, whose error must be below ggml's
	// amax/127 on the same blocks; and what each block does to the embeddings.
	for _, block := range []int{kernels.Q8Block, 64, 128} {
		eConv, mConv, wConv := convertedError(t, wf, block, embed, ref)
		eBlk := relErr(block)
		def := ""
		if block == modelfile.DefaultQ8Block {
			def = " (the default)"
		}
		t.Logf("as converted, blocks of %d%s: linear weights' relative RMS error %.4f%% (ggml's scales %.4f%%); embeddings cosine to f32 mean %.6f min %.6f", block, def, 100*eConv, 100*eBlk, mConv, wConv)
		if eConv >= eBlk {
			t.Errorf("blocks of %d, searched scales: error %.4f%% not below ggml's %.4f%%", block, 100*eConv, 100*eBlk)
		}
	}
	eRow, eBlk := relErr(0), relErr(kernels.Q8Block)
	mRow, wRow := cos(0)
	mBlk, wBlk := cos(kernels.Q8Block)
	t.Logf("linear weights, relative RMS error: per row %.4f%%, per block of %d %.4f%%", 100*eRow, kernels.Q8Block, 100*eBlk)
	t.Logf("embeddings cosine to f32 (linears q8): per row mean %.6f min %.6f; per block mean %.6f min %.6f", mRow, wRow, mBlk, wBlk)
	if eBlk >= eRow || mBlk <= mRow {
		t.Errorf("blocks of %d are not more accurate than rows", kernels.Q8Block)
	}
}

// convertedError converts wf's linears to q8 with blocks of block (modelfile.ConvertWith) and
// returns their relative RMS weight error and the golden embeddings' cosine to ref (mean, min)
// with those linears.
func convertedError(t *testing.T, wf *weights.File, block int, embed func() [][]float32, ref [][]float32) (rel, mean, worst float64) {
	conv, err := modelfile.ConvertWith(wf, modelfile.Q8, modelfile.Options{Block: block})
	if err != nil {
		t.Fatal(err)
	}
	cts := map[string]*weights.Tensor{}
	for _, tt := range conv {
		cts[tt.Name] = tt
	}
	var se, ss float64
	for name, tt := range wf.Tensors {
		if len(tt.Shape) != 2 || !strings.HasPrefix(name, "encoder.layer.") {
			continue
		}
		w, _ := tt.Float32()
		m, err := bert.MatrixFromTensor(cts[name], cts[name+modelfile.ScaleSuffix], tt.Shape[0], tt.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		q, ok := m.(*kernels.Q8)
		if !ok || q.Block != block {
			t.Fatalf("%s: converted to %T, want Q8 with blocks of %d", name, m, block)
		}
		d := make([]float32, len(w))
		q.Dequantize(d)
		for i := range w {
			se += float64(d[i]-w[i]) * float64(d[i]-w[i])
			ss += float64(w[i]) * float64(w[i])
		}
	}
	mean, worst = embedWith(func(orig matrixFromTensor) matrixFromTensor {
		return func(tt, scale *weights.Tensor, out, in int) (kernels.Matrix, error) {
			if c, ok := cts[tt.Name]; ok && strings.HasPrefix(tt.Name, "encoder.layer.") { // the linears only
				return orig(c, cts[tt.Name+modelfile.ScaleSuffix], out, in)
			}
			return orig(tt, scale, out, in)
		}
	}, embed, ref)
	return math.Sqrt(se / ss), mean, worst
}

type matrixFromTensor = func(tt, scale *weights.Tensor, out, in int) (kernels.Matrix, error)

// embedWith embeds the golden sentences (embed) with bert.MatrixFromTensor replaced by wrap(the
// original), restored after, and returns their cosine to ref: mean and min.
func embedWith(wrap func(orig matrixFromTensor) matrixFromTensor, embed func() [][]float32, ref [][]float32) (mean, worst float64) {
	orig := bert.MatrixFromTensor
	defer func() { bert.MatrixFromTensor = orig }()
	bert.MatrixFromTensor = wrap(orig)
	got := embed()
	worst = 1
	for i := range got {
		c := cosine32(got[i], ref[i])
		mean += c / float64(len(got))
		worst = min(worst, c)
	}
	return mean, worst
}
