package modelfile

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// TestQuantizeQ8NeverWorseThanGGML: on every block, the searched scale's squared error is at
// most that of ggml's d = amax/127 (kernels.QuantizeQ8, the reference numerics); scales are
// f16-exact and the values in [-127, 127]; overall the error is lower (measured 0.86-0.96 of
// ggml's with blocks of 32; 1 where every scale underflows f16).
func TestQuantizeQ8NeverWorseThanGGML(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	const out, in = 48, 384
	gauss := func(int) float32 { return float32(r.NormFloat64() * 0.05) }
	cases := []struct {
		name string
		gen  func(i int) float32
		gain float64 // with blocks of 32, the searched error is at most gain × ggml's, overall
	}{
		{"gaussian", gauss, 0.9},
		{"outliers", func(i int) float32 { // BERT-like: a few large weights per row
			if i%97 == 0 {
				return float32(r.NormFloat64())
			}
			return gauss(i)
		}, 0.98},
		{"uniform", func(int) float32 { return float32(r.Float64()*2 - 1) }, 0.9},
		{"tiny", func(int) float32 { return float32(r.NormFloat64() * 1e-7) }, 1}, // scales below f16's range
		{"zeros", func(i int) float32 {
			if i/in%2 == 0 {
				return 0
			}
			return gauss(i)
		}, 0.9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := make([]float32, out*in)
			for i := range w {
				w[i] = c.gen(i)
			}
			for _, block := range []int{kernels.Q8Block, 16, in} {
				q, scale := quantizeQ8(w, out, in, block)
				ref := kernels.QuantizeQ8(w, out, in, block)
				rd := make([]float32, len(w))
				ref.Dequantize(rd)
				var se, seRef float64
				for b, d := range scale {
					if f16Round(d) != d || d < 0 {
						t.Fatalf("block %d: scale %g is not a non-negative f16", b, d)
					}
					var s, sr float64
					for k := b * block; k < (b+1)*block; k++ {
						if q[k] < -127 {
							t.Fatalf("q[%d] = %d", k, q[k])
						}
						e := float64(w[k]) - float64(d)*float64(q[k])
						s += e * e
						e = float64(w[k]) - float64(rd[k])
						sr += e * e
					}
					if s > sr*(1+1e-9) {
						t.Fatalf("block size %d, block %d: squared error %g > ggml's %g", block, b, s, sr)
					}
					se, seRef = se+s, seRef+sr
				}
				if block == kernels.Q8Block && seRef > 0 && math.Sqrt(se/seRef) > c.gain {
					t.Errorf("block size %d: RMS error %.4f of ggml's, want ≤ %g", block, math.Sqrt(se/seRef), c.gain)
				}
				if block == kernels.Q8Block {
					t.Logf("block size %d: RMS error %.4f of ggml's", block, math.Sqrt(se/max(seRef, 1e-300)))
				}
			}
		})
	}
}

// TestConvertQ8UsesSearchedScales: Convert stores quantizeQ8's values and scales, in blocks of
// DefaultQ8Block, or of Options.Block (ConvertWith); a block the kernels do not take is a
// *BlockError.
func TestConvertQ8UsesSearchedScales(t *testing.T) {
	for _, block := range []int{0, 32, 64, 128} {
		testConvertQ8Block(t, block)
	}
	// Rows of 96 (a multiple of 32, not of 64): blocks of 32 whatever is asked.
	narrow := f32Tensor("n.weight", []int{704, 96}, make([]float32, 704*96))
	for _, block := range []int{0, 32, 64, 128} {
		ts, err := ConvertWith(&weights.File{Tensors: map[string]*weights.Tensor{narrow.Name: narrow}, Order: []string{narrow.Name}}, Q8, Options{Block: block})
		if err != nil || len(ts) != 2 || ts[1].Name != "n.weight"+ScaleSuffix || ts[1].Shape[1] != 96/32 {
			t.Fatalf("block %d, rows of 96: %v, %v; want I8 with 3 scales a row", block, ts, err)
		}
	}
	src := f32Tensor("m.weight", []int{256, 256}, make([]float32, 256*256))
	for _, block := range []int{16, 48, 256, -32} {
		_, err := ConvertWith(&weights.File{Tensors: map[string]*weights.Tensor{src.Name: src}, Order: []string{src.Name}}, Q8, Options{Block: block})
		var be *BlockError
		if !errors.As(err, &be) || be.Block != block {
			t.Errorf("block %d: %v, want a *BlockError", block, err)
		}
	}
	_, err := ConvertWith(&weights.File{Tensors: map[string]*weights.Tensor{src.Name: src}, Order: []string{src.Name}}, F16, Options{Block: 64})
	var be *BlockError
	if !errors.As(err, &be) || be.DType != F16 {
		t.Errorf("f16 with blocks of 64: %v, want a *BlockError", err)
	}
}

func testConvertQ8Block(t *testing.T, block int) {
	r := rand.New(rand.NewPCG(1, 2))
	const out, in = 256, 256
	w := make([]float32, out*in)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	src := f32Tensor("m.weight", []int{out, in}, w)
	ts, err := ConvertWith(&weights.File{Tensors: map[string]*weights.Tensor{src.Name: src}, Order: []string{src.Name}}, Q8, Options{Block: block})
	if err != nil {
		t.Fatal(err)
	}
	want := block
	if want == 0 {
		want = DefaultQ8Block
	}
	q, scale := quantizeQ8(w, out, in, want)
	byName := map[string][]byte{}
	for _, tt := range ts {
		byName[tt.Name] = tt.Data
		if tt.Name == "m.weight"+ScaleSuffix && (tt.Shape[0] != out || tt.Shape[1] != in/want) {
			t.Fatalf("block %d: scale shape %v, want [%d %d]", block, tt.Shape, out, in/want)
		}
	}
	for i, v := range q {
		if int8(byName["m.weight"][i]) != v {
			t.Fatalf("q[%d] = %d in the file, %d from quantizeQ8", i, int8(byName["m.weight"][i]), v)
		}
	}
	h := kernels.ToF16(scale)
	for i, v := range h {
		if got := uint16(byName["m.weight"+ScaleSuffix][2*i]) | uint16(byName["m.weight"+ScaleSuffix][2*i+1])<<8; got != v {
			t.Fatalf("scale %d: %#04x in the file, %#04x from quantizeQ8", i, got, v)
		}
	}
}

// TestRoundHalfAway: roundHalfAway, the converter's inline rounding, is math.Round on every
// float32 within 64 ulps of each half-integer and integer in [-300, 300], around 0, 2^23 and
// 2^52, on ±Inf and NaN, and on a million random float32s of every magnitude. (Run once on all
// 2^32 float32s: ROUND_ALL=1.)
func TestRoundHalfAway(t *testing.T) {
	check := func(x float32) {
		got, want := roundHalfAway(x), math.Round(float64(x))
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("roundHalfAway(%v) = %v, math.Round = %v", x, got, want)
		}
	}
	if os.Getenv("ROUND_ALL") != "" {
		for b := uint64(0); b < 1<<32; b++ {
			check(math.Float32frombits(uint32(b)))
		}
		return
	}
	near := func(c float32) {
		for _, s := range []float32{c, -c} {
			b := math.Float32bits(s)
			for d := uint32(0); d <= 64; d++ {
				check(math.Float32frombits(b + d))
				check(math.Float32frombits(b - d))
			}
		}
	}
	for k := -300; k <= 300; k++ {
		near(float32(k) + 0.5)
		near(float32(k))
	}
	near(1 << 23)
	near(1 << 52)
	near(math.SmallestNonzeroFloat32)
	check(float32(math.Inf(1)))
	check(float32(math.Inf(-1)))
	check(float32(math.NaN()))
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		check(math.Float32frombits(r.Uint32()))
	}
}
