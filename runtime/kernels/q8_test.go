package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Named error bounds of the reduced-precision matrices (ggml's tests/test-quantize-fns.cpp
// keeps one per dtype the same way).
const (
	// tolSummation bounds |fast - reference| / Σ|x·w| when the same float32 values are summed in
	// a different order (tiled partial sums against MatMulT's four accumulators).
	tolSummation = 1e-6
	// q8RoundTrip bounds |w - dequant(quant(w))| per weight, in units of its block's scale d:
	// round to nearest gives d/2; d is stored as f16 and the weights are rounded against the
	// stored d, so no clamping error is added (amax/d ≤ 127·(1+2⁻¹¹) < 127.5).
	q8RoundTrip = 0.5 + 1e-6
	// f16RoundTrip bounds |w - f16(w)| / |w| for w in float16's normal range (2⁻¹¹, half an ulp).
	f16RoundTrip = 1.0 / 2048
)

func randMatrix(r *rand.Rand, n int, scale float32) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64()) * scale
	}
	return w
}

// shapes covers a full tile, partial row tiles (out%4 != 0), partial column tiles (in%256 != 0)
// and a single row.
var shapes = []struct{ rows, out, in int }{
	{1, 4, 32}, {3, 7, 64}, {5, 13, 320}, {2, 384, 384}, {4, 33, 1536}, {1, 1, 512},
}

// refMulT is the plain f32 reference: the dequantized weights through MatMulT.
func refMulT(x []float32, rows, in int, w []float32, out int) []float32 {
	y := make([]float32, rows*out)
	MatMulT(y, x, rows, in, w, out)
	return y
}

// absDot returns Σ_k |x[i,k]·w[j,k]| for the error bound of output (i, j).
func absDot(x []float32, i, in int, w []float32, j int) float64 {
	var s float64
	for k := 0; k < in; k++ {
		s += math.Abs(float64(x[i*in+k]) * float64(w[j*in+k]))
	}
	return s
}

func TestQuantizeQ8RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, block := range []int{16, Q8Block, 64, 384} {
		w := randMatrix(r, 16*384, 0.05)
		w[7] = 3 // an outlier: only its block's scale grows
		for i := 32; i < 64; i++ {
			w[i] = 0 // an all-zero block: scale 0, exact
		}
		q := QuantizeQ8(w, 16, 384, block)
		d := make([]float32, len(w))
		q.Dequantize(d)
		for i := range w {
			sc := q.Scale[i/block]
			if err := math.Abs(float64(w[i] - d[i])); err > q8RoundTrip*float64(sc) {
				t.Fatalf("block %d: w[%d]=%g dequantized %g: error %g > %g·d (d=%g)", block, i, w[i], d[i], err, q8RoundTrip, sc)
			}
		}
		row := make([]float32, 384)
		for o := 0; o < 16; o++ {
			q.Row(row, o)
			for k, v := range row {
				if v != d[o*384+k] {
					t.Fatalf("block %d: Row(%d)[%d] = %g, Dequantize has %g", block, o, k, v, d[o*384+k])
				}
			}
		}
	}
}

func TestQ8MulTMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		for _, block := range []int{Q8Block, s.in} {
			t.Run(fmt.Sprintf("%dx%dx%d/block%d", s.rows, s.out, s.in, block), func(t *testing.T) {
				w := randMatrix(r, s.out*s.in, 0.05)
				x := randMatrix(r, s.rows*s.in, 1)
				q := QuantizeQ8(w, s.out, s.in, block)
				dq := make([]float32, len(w))
				q.Dequantize(dq)
				want := refMulT(x, s.rows, s.in, dq, s.out)
				got := make([]float32, s.rows*s.out)
				q.MulT(got, x, s.rows)
				for i := 0; i < s.rows; i++ {
					for j := 0; j < s.out; j++ {
						g, wv := got[i*s.out+j], want[i*s.out+j]
						// Against the dequantized reference: summation order only.
						if d := math.Abs(float64(g - wv)); d > tolSummation*absDot(x, i, s.in, dq, j)+1e-30 {
							t.Fatalf("(%d,%d): got %g, reference %g", i, j, g, wv)
						}
						// Against the original f32 weights: Σ_k |x_k|·d_k/2, plus summation.
						var bound float64
						for k := 0; k < s.in; k++ {
							bound += math.Abs(float64(x[i*s.in+k])) * q8RoundTrip * float64(q.Scale[(j*s.in+k)/block])
						}
						exact := refMulT(x[i*s.in:(i+1)*s.in], 1, s.in, w[j*s.in:(j+1)*s.in], 1)[0]
						if d := math.Abs(float64(g - exact)); d > bound+tolSummation*absDot(x, i, s.in, w, j) {
							t.Fatalf("(%d,%d): got %g, f32 weights give %g: error %g > bound %g", i, j, g, exact, d, bound)
						}
					}
				}
			})
		}
	}
}

func TestQ8MulTDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	q := QuantizeQ8(randMatrix(r, 64*320, 1), 64, 320, Q8Block)
	x := randMatrix(r, 3*320, 1)
	y := make([]float32, 3*64)
	if n := testing.AllocsPerRun(10, func() { q.MulT(y, x, 3) }); n != 0 {
		t.Fatalf("Q8.MulT allocates %v times per call", n)
	}
}

// benchShapes are MiniLM's linears at 32 tokens: q/k/v/attention output, intermediate, output.
var benchShapes = []struct {
	name          string
	rows, out, in int
}{
	{"384x384", 32, 384, 384},
	{"1536x384", 32, 1536, 384},
	{"384x1536", 32, 384, 1536},
}

func BenchmarkMulT(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range benchShapes {
		w := randMatrix(r, s.out*s.in, 0.05)
		x := randMatrix(r, s.rows*s.in, 1)
		y := make([]float32, s.rows*s.out)
		ms := []struct {
			name string
			m    Matrix
		}{
			{"f32", NewF32(s.out, s.in, w)},
			{"f16", NewF16(s.out, s.in, ToF16(w))},
			{"q8", QuantizeQ8(w, s.out, s.in, Q8Block)},
		}
		for _, m := range ms {
			b.Run(s.name+"/"+m.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(2 * s.rows * s.out * s.in)) // "bytes" = flops: MB/s reads as MFLOPS
				for b.Loop() {
					m.m.MulT(y, x, s.rows)
				}
			})
		}
	}
}

// TestQ8Reblock checks that Q8.reblock (the 7-bit recipe's first product by a matrix with blocks
// larger than Q8Block) keeps W exactly, row-major or packed for qgemm_packed before, and leaves
// blocks of Q8Block.
func TestQ8Reblock(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, block := range []int{32, 64, 128} {
		for _, packed := range []bool{false, true} {
			out, in := 16, 384
			w := QuantizeQ8(randVec(r, out*in), out, in, block)
			want := make([]float32, out*in)
			w.Dequantize(want)
			if packed {
				if !SIMD() || Relaxed() { // (the 7-bit recipe would re-block it itself)
					continue
				}
				MulT(make([]float32, out), w, randVec(r, in), 1) // packs w for qgemm_packed
				if !w.Packed() {
					t.Fatalf("block %d: not packed by a product", block)
				}
			}
			w.reblock()
			if block == Q8Block { // nothing to do: as it was
				if w.Block != Q8Block || w.Packed() != packed {
					t.Fatalf("block 32 packed %v: reblock changed it (Block %d, packed %v)", packed, w.Block, w.Packed())
				}
				continue
			}
			if w.Block != Q8Block || w.Packed() || len(w.Scale) != out*in/Q8Block {
				t.Fatalf("block %d packed %v: after reblock Block %d, packed %v, %d scales", block, packed, w.Block, w.Packed(), len(w.Scale))
			}
			got := make([]float32, out*in)
			w.Dequantize(got)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("block %d packed %v: W[%d] = %v after reblock, %v before", block, packed, i, got[i], want[i])
				}
			}
		}
	}
}
