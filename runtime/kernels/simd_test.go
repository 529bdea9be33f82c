package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// Tolerances of the SIMD kernels against their plain-Go references and float64, in units of
// float32's unit roundoff u = 2^-24 (Higham's γ_n = n·u/(1-n·u) bounds a float32 sum of n terms
// by γ_n·Σ|terms|).
const u32 = 1.0 / (1 << 24)

func gamma(n int) float64 { return float64(n) * u32 / (1 - float64(n)*u32) }

// tolGemmNT bounds |sgemm_nt - float64| by γ_(k+2)·Σ|x·w|: k products and sums in lanes plus two
// levels of the final horizontal sum.
func tolGemmNT(k int) float64 { return gamma(k + 2) }

// tolGemmQ8 bounds |qgemm_packed - GemmQ8I16| by 2·γ_(nb+4)·Σ_b |sx·sw|·Σ_p |qx·qw|: both sum nb
// scaled exact integer block sums in float32, in different orders.
func tolGemmQ8(nb int) float64 { return 2 * gamma(nb+4) }

// tolI16Activations bounds the int16 activations' effect on a Q8 product: |GemmQ8I16 - Q8.MulT|
// ≤ tolI16Activations·Σ|x|·|w| (half a quantization step, amax/65534, per activation, where
// |x| ≤ amax, plus both sides' float32 rounding over up to 1536 terms).
const tolI16Activations = 1e-4

// requireSIMD makes the kernel tests fail instead of falling back when the kernel module should be
// there (ADAPTERWASM_REQUIRE_SIMD=1, set by ./build.sh test for the wasmsimd run).
func requireSIMD(t *testing.T) {
	t.Helper()
	if !SIMD() {
		if os.Getenv("ADAPTERWASM_REQUIRE_SIMD") == "1" {
			t.Fatal("SIMD kernels not loaded (GOOS=js -tags wasmsimd -exec runtime/kernels/wat/go_js_wasm_exec)")
		}
		t.Skip("no SIMD kernel module in this build (GOOS=js -tags wasmsimd -exec runtime/kernels/wat/go_js_wasm_exec)")
	}
}

type gemmShape struct{ m, k, n, ldx, ldw, ldd int }

var gemmShapes = []gemmShape{
	{1, 4, 1, 4, 4, 1}, {2, 8, 4, 8, 8, 4}, {3, 12, 5, 12, 12, 5}, {5, 64, 7, 64, 64, 7},
	{16, 384, 13, 384, 384, 13}, {17, 384, 40, 384, 384, 40}, {9, 1536, 6, 1536, 1536, 6},
	{31, 32, 31, 384, 384, 64}, // one attention head: strided rows
	{64, 96, 300, 100, 97, 301},
}

func checkGemm(t *testing.T, s gemmShape, gemm func(dst, x, w []float32)) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(s.m), uint64(s.n)))
	x, w := randVec(r, (s.m-1)*s.ldx+s.k), randVec(r, (s.n-1)*s.ldw+s.k)
	dst := make([]float32, (s.m-1)*s.ldd+s.n)
	for i := range dst {
		dst[i] = 12345 // columns past n keep it: checks that nothing is written there
	}
	gemm(dst, x, w)
	checkProduct(t, fmt.Sprint(s), dst, s.ldd, s.m, s.n, s.k,
		func(i, p int) float32 { return x[i*s.ldx+p] }, func(p, j int) float32 { return w[j*s.ldw+p] })
}

// checkProduct checks dst[i*ldd+j] (i < m, j < n) against Σ_p a(i,p)·b(p,j) in float64 within
// tolGemmNT(k)·Σ|terms|, and that the columns from n up to ldd still hold checkGemm's 12345.
func checkProduct(t *testing.T, name string, dst []float32, ldd, m, n, k int, a, b func(int, int) float32) {
	t.Helper()
	for i := 0; i < m; i++ {
		for j := 0; j < ldd && i*ldd+j < len(dst); j++ {
			got := float64(dst[i*ldd+j])
			if j >= n {
				if got != 12345 {
					t.Fatalf("%s: wrote dst[%d,%d] past n", name, i, j)
				}
				continue
			}
			var ref, mag float64
			for p := 0; p < k; p++ {
				term := float64(a(i, p)) * float64(b(p, j))
				ref += term
				mag += math.Abs(term)
			}
			if d := math.Abs(got - ref); d > tolGemmNT(k)*mag {
				t.Fatalf("%s: [%d,%d] got %v want %v (|d| %g > %g)", name, i, j, got, ref, d, tolGemmNT(k)*mag)
			}
		}
	}
}

func TestGemmNTRefMatchesFloat64(t *testing.T) {
	for _, s := range gemmShapes {
		checkGemm(t, s, func(dst, x, w []float32) { GemmNTRef(dst, s.ldd, x, s.ldx, w, s.ldw, s.m, s.k, s.n) })
	}
}

func TestSgemmNTMatchesFloat64(t *testing.T) {
	requireSIMD(t)
	for _, s := range gemmShapes {
		checkGemm(t, s, func(dst, x, w []float32) { simdGemmNT(dst, s.ldd, x, s.ldx, w, s.ldw, s.m, s.k, s.n) })
	}
}

// TestGemmNNMatchesFloat64 checks sgemm_nn and its reference against a float64 product, on
// shapes with rows past a multiple of 4, a 4-column tail, k = 0, and attention's strided P·V.
func TestGemmNNMatchesFloat64(t *testing.T) {
	type shape struct{ m, k, n, ldd, ldx, ldy int }
	for _, s := range []shape{{1, 1, 4, 4, 1, 4}, {4, 3, 8, 8, 3, 8}, {5, 7, 12, 12, 7, 12}, {7, 0, 8, 8, 1, 8},
		{31, 37, 32, 384, 40, 384}, {128, 128, 32, 384, 128, 384}, {3, 5, 6, 9, 5, 7}} {
		r := rand.New(rand.NewPCG(uint64(s.m), uint64(s.k)))
		x, y := randVec(r, (s.m-1)*s.ldx+max(s.k, 1)), randVec(r, max(s.k-1, 0)*s.ldy+s.n)
		for _, simd := range []bool{true, false} {
			if simd && (!SIMD() || s.n%4 != 0) {
				continue
			}
			dst := make([]float32, (s.m-1)*s.ldd+s.n)
			for i := range dst {
				dst[i] = 12345
			}
			if simd {
				GemmNN(dst, s.ldd, x, s.ldx, y, s.ldy, s.m, s.k, s.n)
			} else {
				GemmNNRef(dst, s.ldd, x, s.ldx, y, s.ldy, s.m, s.k, s.n)
			}
			checkProduct(t, fmt.Sprintf("%v simd %v", s, simd), dst, s.ldd, s.m, s.n, s.k,
				func(i, p int) float32 { return x[i*s.ldx+p] }, func(p, j int) float32 { return y[p*s.ldy+j] })
		}
	}
}

func TestQuantI16MatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ rows, k, block int }{{1, 32, 32}, {3, 64, 32}, {7, 384, 32}, {2, 1536, 32},
		{1, 64, 64}, {3, 128, 64}, {7, 384, 64}, {5, 768, 64}, {1, 128, 128}, {6, 384, 128}, {2, 3072, 128}} {
		x := randVec(r, s.rows*s.k)
		x[0] = 0
		for i := s.block; i < 2*s.block && i < len(x); i++ {
			x[i] = 0 // an all-zero block: scale 0, q 0
		}
		if len(x) > 3*s.block {
			x[3*s.block-1] = 40 // the largest value at a block's last element: its amax, from its last step
		}
		nb := s.rows * s.k / s.block
		q, sc := make([]int16, (s.rows+3)&^3*s.k), make([]float32, nb)
		for i := range q {
			q[i] = -1 // the rows past s.rows must be zeroed
		}
		qr, sr := make([]int16, s.rows*s.k), make([]float32, nb)
		simdQuantI16(q, sc, x, s.rows, s.k, s.block)
		QuantizeI16Rows(qr, sr, x, s.rows, s.k, s.block)
		want := quadsI16(qr, s.rows, s.k)
		for i := range q {
			if q[i] != want[i] {
				t.Fatalf("%v: q[%d] = %d, reference %d", s, i, q[i], want[i])
			}
		}
		for i := range sc {
			if sc[i] != sr[i] {
				t.Fatalf("%v: scale[%d] = %v, reference %v", s, i, sc[i], sr[i])
			}
		}
	}
}

// quadsI16 is quant_i16's layout of q [rows, k] (row-major, QuantizeI16Rows'): 4 rows interleaved
// by k-pairs, value (i, p) at ((i/4)·(k/2) + p/2)·8 + (i%4)·2 + p%2, rows rounded up to 4 with
// zeros.
func quadsI16(q []int16, rows, k int) []int16 {
	out := make([]int16, (rows+3)&^3*k)
	for i := 0; i < rows; i++ {
		for p := 0; p < k; p++ {
			out[((i/4)*(k/2)+p/2)*8+(i%4)*2+p%2] = q[i*k+p]
		}
	}
	return out
}

func TestQuantizeI16RowsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randVec(r, 4*384)
	for _, block := range []int{32, 64, 128} {
		q, s := make([]int16, len(x)), make([]float32, len(x)/block)
		QuantizeI16Rows(q, s, x, 4, 384, block)
		for i, v := range x {
			d := s[i/block]
			if e := math.Abs(float64(d)*float64(q[i]) - float64(v)); e > float64(d)/2*(1+1e-6) {
				t.Fatalf("block %d: x[%d] = %v: q %d · d %v off by %g > d/2", block, i, v, q[i], d, e)
			}
		}
	}
}

func q8Case(r *rand.Rand, rows, in, out int) (x []float32, w *Q8) {
	return q8CaseBlock(r, rows, in, out, Q8Block)
}

// q8CaseBlock is q8Case with blocks of block.
func q8CaseBlock(r *rand.Rand, rows, in, out, block int) (x []float32, w *Q8) {
	return randVec(r, rows*in), QuantizeQ8(randVec(r, out*in), out, in, block)
}

func TestQgemmNTMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ rows, in, out, block int }{{1, 32, 8, 32}, {2, 32, 8, 32}, {3, 64, 16, 32}, {7, 384, 24, 32}, {16, 384, 384, 32}, {5, 1536, 40, 32}, {33, 384, 1536, 32},
		{1, 64, 8, 64}, {3, 128, 16, 64}, {7, 384, 24, 64}, {33, 384, 1536, 64}, {2, 128, 8, 128}, {5, 1536, 40, 128}, {9, 3072, 24, 128}} {
		x, w := q8CaseBlock(r, s.rows, s.in, s.out, s.block)
		nb := s.in / s.block
		q, sc := make([]int16, s.rows*s.in), make([]float32, s.rows*nb)
		QuantizeI16Rows(q, sc, x, s.rows, s.in, s.block)
		got, want := make([]float32, s.rows*s.out), make([]float32, s.rows*s.out)
		kQgemm(got, quadsI16(q, s.rows, s.in), sc, s.rows, w, nil)
		GemmQ8I16(want, q, sc, s.rows, w)
		for i := 0; i < s.rows; i++ {
			for j := 0; j < s.out; j++ {
				var mag float64
				for b := 0; b < nb; b++ {
					var t int64
					for p := b * s.block; p < (b+1)*s.block; p++ {
						wq, _ := w.at(j, p)
						t += int64(math.Abs(float64(q[i*s.in+p]) * float64(wq)))
					}
					_, ws := w.at(j, b*s.block)
					mag += math.Abs(float64(sc[i*nb+b])*float64(ws)) * float64(t)
				}
				g, wv := got[i*s.out+j], want[i*s.out+j]
				if d := math.Abs(float64(g) - float64(wv)); d > tolGemmQ8(nb)*mag {
					t.Fatalf("%v: [%d,%d] kernel %v reference %v (|d| %g > %g)", s, i, j, g, wv, d, tolGemmQ8(nb)*mag)
				}
			}
		}
	}
}

// TestQ8PackedInPlace checks that the integer kernel's first product packs the matrix in place
// and that every reader of Q8 sees the same matrix after it: Dequantize, Row, the plain-Go MulT
// (all exactly), the float32 kernel path (SetQ8Int(false), which then takes Q8.MulT) and
// MulTShared (exactly MulT's result for each matrix).
func TestQ8PackedInPlace(t *testing.T) {
	requireSIMD(t)
	for _, block := range []int{32, 64, 128} {
		t.Run(fmt.Sprint("block", block), func(t *testing.T) { testQ8PackedInPlace(t, block) })
	}
}

func testQ8PackedInPlace(t *testing.T, block int) {
	r := rand.New(rand.NewPCG(21, 22))
	rows, in, out := 9, 384, 48
	x, w := q8CaseBlock(r, rows, in, out, block)
	before := make([]float32, out*in)
	w.Dequantize(before)
	ref := make([]float32, rows*out)
	w.MulT(ref, x, rows)
	kernel := make([]float32, rows*out)
	MulT(kernel, w, x, rows)
	if !w.Packed() {
		t.Fatal("not packed after the integer kernel's first product")
	}
	after := make([]float32, out*in)
	w.Dequantize(after)
	if !slices.Equal(before, after) {
		t.Fatal("Dequantize differs after packing")
	}
	row := make([]float32, in)
	for _, o := range []int{0, 3, 4, out - 1} {
		w.Row(row, o)
		if !slices.Equal(row, before[o*in:(o+1)*in]) {
			t.Fatalf("Row(%d) differs after packing", o)
		}
	}
	got := make([]float32, rows*out)
	w.MulT(got, x, rows)
	if !slices.Equal(got, ref) {
		t.Fatal("Q8.MulT differs after packing")
	}
	SetQ8Int(false)
	MulT(got, w, x, rows)
	SetQ8Int(true)
	if !slices.Equal(got, ref) {
		t.Fatal("MulT with SetQ8Int(false) on a packed matrix is not Q8.MulT")
	}
	MulT(got, w, x, rows)
	if !slices.Equal(got, kernel) {
		t.Fatal("a second product by the packed matrix differs from the first")
	}

	// MulTShared over [Q8, F32, Q8 (unpacked), Q8 of another block, Q8 (unpacked)] equals MulT on
	// each: x quantized again for the block that differs, and again after it.
	_, w2 := q8CaseBlock(r, rows, in, 16, block)
	other := 64
	if block != 32 {
		other = 32
	}
	_, w3 := q8CaseBlock(r, rows, in, 8, other)
	_, w4 := q8CaseBlock(r, rows, in, 24, block)
	f := NewF32(8, in, randVec(r, 8*in))
	ms := []Matrix{w, f, w2, w3, w4}
	dsts := [][]float32{make([]float32, rows*out), make([]float32, rows*8), make([]float32, rows*16), make([]float32, rows*8), make([]float32, rows*24)}
	MulTShared(dsts, ms, nil, x, rows, in)
	for i, m := range ms {
		o, _ := m.Dims()
		want := make([]float32, rows*o)
		MulT(want, m, x, rows)
		if !slices.Equal(dsts[i], want) {
			t.Fatalf("MulTShared[%d] (%T) differs from MulT", i, m)
		}
	}
}

// TestMulTBiasIsMulTThenAddBias checks that MulTBias, whose integer kernels add the bias as they
// finish each tile, gives MulT then the plain AddBias loop bit for bit (Q8 on qgemm_packed, F32 on
// sgemm_nt), at row counts that leave a tile part empty (its rows past M land in the scratch row,
// which must not carry a bias into the next tile), and MulTShared with biases likewise.
func TestMulTBiasIsMulTThenAddBias(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range []struct{ rows, in, out int }{{1, 32, 8}, {2, 32, 8}, {3, 64, 16}, {5, 384, 24}, {8, 384, 384}, {9, 384, 1536}, {33, 1536, 384}} {
		x, w := q8Case(r, s.rows, s.in, s.out)
		f := NewF32(s.out, s.in, randVec(r, s.out*s.in))
		bias := randVec(r, s.out)
		for _, m := range []Matrix{w, f} {
			want := make([]float32, s.rows*s.out)
			MulT(want, m, x, s.rows)
			AddBias(want, s.rows, bias)
			got := make([]float32, s.rows*s.out)
			for i := range got {
				got[i] = float32(i) // MulTBias overwrites dst
			}
			MulTBias(got, m, x, s.rows, bias)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("%v %T: MulTBias[%d] = %v, MulT + AddBias %v", s, m, i, got[i], want[i])
			}
			nobias := make([]float32, s.rows*s.out)
			MulTBias(nobias, m, x, s.rows, nil)
			plain := make([]float32, s.rows*s.out)
			MulT(plain, m, x, s.rows)
			if i := firstDiff(nobias, plain); i >= 0 {
				t.Fatalf("%v %T: MulTBias(nil)[%d] = %v, MulT %v", s, m, i, nobias[i], plain[i])
			}
		}
		// MulTShared over [Q8 with a bias, F32 with a bias, Q8 without] equals MulTBias on each.
		_, w2 := q8Case(r, s.rows, s.in, 16)
		ms := []Matrix{w, f, w2}
		biases := [][]float32{bias, randVec(r, s.out), nil}
		dsts := [][]float32{make([]float32, s.rows*s.out), make([]float32, s.rows*s.out), make([]float32, s.rows*16)}
		MulTShared(dsts, ms, biases, x, s.rows, s.in)
		for i, m := range ms {
			o, _ := m.Dims()
			want := make([]float32, s.rows*o)
			MulT(want, m, x, s.rows)
			if biases[i] != nil {
				AddBias(want, s.rows, biases[i])
			}
			if j := firstDiff(dsts[i], want); j >= 0 {
				t.Fatalf("%v: MulTShared[%d] (%T)[%d] = %v, MulT + AddBias %v", s, i, m, j, dsts[i][j], want[j])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MulTBias with a bias of the wrong length did not panic")
		}
	}()
	x, w := q8Case(r, 1, 32, 8)
	MulTBias(make([]float32, 8), w, x, 1, make([]float32, 7))
}

func TestGemmQ8I16CloseToQ8MulT(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	rows, in, out := 6, 384, 20
	for _, block := range []int{32, 64, 128} {
		x, w := q8CaseBlock(r, rows, in, out, block)
		q, sc := make([]int16, rows*in), make([]float32, rows*in/block)
		QuantizeI16Rows(q, sc, x, rows, in, block)
		got, want := make([]float32, rows*out), make([]float32, rows*out)
		GemmQ8I16(got, q, sc, rows, w)
		w.MulT(want, x, rows)
		wf := make([]float32, out*in)
		w.Dequantize(wf)
		for i := 0; i < rows; i++ {
			for j := 0; j < out; j++ {
				var mag float64
				for p := 0; p < in; p++ {
					mag += math.Abs(float64(x[i*in+p]) * float64(wf[j*in+p]))
				}
				if d := math.Abs(float64(got[i*out+j] - want[i*out+j])); d > tolI16Activations*mag {
					t.Fatalf("block %d: [%d,%d] int16 activations %v, f32 activations %v (|d| %g > %g)", block, i, j, got[i*out+j], want[i*out+j], d, tolI16Activations*mag)
				}
			}
		}
	}
}

// TestMulTSelection checks MulT on both paths: with SetSIMD(false) it is exactly the kernels'
// twin (gemmNTGo, the integer recipe in Go) or m.MulT (the plain-Go path hosts without the
// kernel module run); with the kernels (both Q8 modes) it is within their bounds of m.MulT.
func TestMulTSelection(t *testing.T) {
	for _, int8 := range []bool{false, true} {
		SetQ8Int(int8)
		testMulTSelection(t)
	}
	SetQ8Int(true)
}

func testMulTSelection(t *testing.T) {
	defer SetSIMD(true)
	r := rand.New(rand.NewPCG(11, 12))
	rows, in, out := 5, 384, 16
	x := randVec(r, rows*in)
	f := NewF32(out, in, randVec(r, out*in))
	q := QuantizeQ8(f.W, out, in, Q8Block)
	q64, q128 := QuantizeQ8(f.W, out, in, 64), QuantizeQ8(f.W, out, in, 128)
	h := NewF16(out, in, ToF16(f.W))
	for _, m := range []Matrix{f, q, q64, q128, h} {
		SetSIMD(false)
		if SIMD() {
			t.Fatal("SIMD() after SetSIMD(false)")
		}
		got, want := make([]float32, rows*out), make([]float32, rows*out)
		MulT(got, m, x, rows)
		switch w := m.(type) { // without the kernel module: the twins of the kernels that would run
		case *F32:
			gemmNTGo(want, out, x, in, w.W, in, rows, in, out)
		case *Q8:
			if Relaxed() { // the host asks for the 7-bit recipe (ADAPTERWASM_RELAXED=on or plain)
				w.reblock()
				qx, sx := make([]uint8, rows*in), make([]float32, 2*rows*in/Q8Block)
				QuantizeU7Rows(qx, sx, x, rows, in)
				GemmQ8U7(want, qx, sx, rows, w)
				break
			}
			if q8Int {
				qx, sx := quantizeI16Go(x, rows, in, w.Block)
				GemmQ8I16(want, qx, sx, rows, w)
				break
			}
			m.MulT(want, x, rows)
		default:
			m.MulT(want, x, rows)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%T, SIMD off: MulT[%d] = %v, twin %v", m, i, got[i], want[i])
			}
		}
		m.MulT(want, x, rows)
		SetSIMD(true)
		MulT(got, m, x, rows)
		wq := make([]float32, out*in)
		q.Dequantize(wq)
		for i := range got {
			var mag float64 // Σ|x|·|w| of this output
			for p := 0; p < in; p++ {
				mag += math.Abs(float64(x[i/out*in+p]) * float64(f.W[i%out*in+p]))
			}
			bound := tolI16Activations * mag
			if _, ok := m.(*Q8); ok && Relaxed() {
				bound = u7Bound(x[i/out*in:i/out*in+in], wq[i%out*in:i%out*in+in])
			}
			if d := math.Abs(float64(got[i] - want[i])); d > bound {
				t.Fatalf("%T, SIMD %v: MulT[%d] = %v, m.MulT %v", m, SIMD(), i, got[i], want[i])
			}
		}
	}
	t.Logf("kernels in use: %s", Name())
}

func BenchmarkGemmNT(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	m, k, n := 128, 384, 1536
	x, w, dst := randVec(r, m*k), randVec(r, n*k), make([]float32, m*n)
	b.SetBytes(int64(2 * m * k * n)) // MB/s reads as MFLOPS
	for b.Loop() {
		GemmNT(dst, n, x, k, w, k, m, k, n)
	}
}

// BenchmarkGemmNN times attention's two products for one head of MiniLM at 128 tokens: q·kᵀ on
// the keys transposed (K = 32, rows of stride 384 and 128) and P·V (K = 128, V's columns read in
// place at stride 384).
func BenchmarkGemmNN(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	t, d, h := 128, 32, 384
	q, kt, p, v := randVec(r, t*h), randVec(r, d*t), randVec(r, t*t), randVec(r, t*h)
	sc, ctx := make([]float32, t*t), make([]float32, t*h)
	b.Run("qk", func(b *testing.B) {
		b.SetBytes(int64(2 * t * t * d))
		for b.Loop() {
			GemmNN(sc, t, q, h, kt, t, t, d, t)
		}
	})
	b.Run("pv", func(b *testing.B) {
		b.SetBytes(int64(2 * t * t * d))
		for b.Loop() {
			GemmNN(ctx, h, p, t, v, h, t, t, d)
		}
	})
}

// BenchmarkGemmNTHead is attention's q·kᵀ for one head of MiniLM at 128 tokens: K = 32 on
// rows of stride 384.
func BenchmarkGemmNTHead(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const t, d, h = 128, 32, 384
	q, k, dst := randVec(r, t*h), randVec(r, t*h), make([]float32, t*t)
	b.SetBytes(int64(2 * t * t * d))
	for b.Loop() {
		GemmNT(dst, t, q, h, k, h, t, d, t)
	}
}

// BenchmarkMulTQ8 times a Q8 product at 128 tokens on each of a MiniLM layer's four shapes
// (K×N: attention's q, k, v together; its output; the FFN's two) and bert-base's FFN; bytes/s is
// 2·M·K·N ops/s.
func BenchmarkMulTQ8(b *testing.B) {
	for _, s := range [][2]int{{384, 1536}, {384, 1152}, {384, 384}, {1536, 384}, {768, 3072}, {3072, 768}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			m, k, n := 128, s[0], s[1]
			x, w := q8Case(r, m, k, n)
			dst := make([]float32, m*n)
			b.SetBytes(int64(2 * m * k * n))
			for b.Loop() {
				MulT(dst, w, x, m)
			}
		})
	}
}

// tolExp bounds exp4's relative error against math.Exp (Cephes' expf: about 2 ulp).
const tolExp = 4 * u32

// tolGELU bounds |gelu_erf - GELU| by tolGELU·max(1, |x|): the rational erf's 3.9e-7 (float32
// evaluation included; fit_erf.py), halved and scaled by x, plus the rounding of 0.5·x·(1 + erf).
const tolGELU = 5e-7

// tolGELUBackward bounds |gelu_erf_backward - GELUBackwardRef| by tolGELUBackward·|dy|: Φ's
// error is half the rational erf's 3.9e-7, x·φ(x) ≤ 0.25 carries exp4's 4 ulp, plus the float32
// roundings of the sum and the product (GELU' is in [-0.17, 1.13]).
const tolGELUBackward = 6e-7

// tolSoftmax bounds |softmax_rows - SoftmaxRowsRef| per probability by tolSoftmax·p + 1e-10
// (exp's error, a float32 sum of at most a few hundred terms, one division).
const tolSoftmax = 2e-6

func TestExpMatchesMath(t *testing.T) {
	requireSIMD(t)
	var x []float32
	for v := -87.0; v <= 88; v += 0.0137 {
		x = append(x, float32(v))
	}
	x = x[:len(x)&^3]
	got := append([]float32(nil), x...)
	simdExp(got)
	for i, v := range x {
		want := math.Exp(float64(v))
		if d := math.Abs(float64(got[i])-want) / want; d > tolExp {
			t.Fatalf("exp(%v) = %v, math.Exp %v (rel %g > %g)", v, got[i], want, d, tolExp)
		}
	}
}

func TestGELUKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	var x []float32
	for v := -10.0; v <= 10; v += 0.00123 {
		x = append(x, float32(v))
	}
	x = append(x, 0, -0, 1e-30, -1e-30, 30, -30, 3) // and an odd length: the scalar tail
	got, want := append([]float32(nil), x...), append([]float32(nil), x...)
	Activate("gelu", GELU, got)
	GELU(want)
	for i, v := range x {
		if d := math.Abs(float64(got[i] - want[i])); d > tolGELU*max(1, math.Abs(float64(v))) {
			t.Fatalf("gelu(%v) = %v, reference %v (|d| %g)", v, got[i], want[i], d)
		}
	}
}

// gelu_erf takes 4 vectors per iteration, their operations interleaved, then single vectors,
// then single lanes: the same arithmetic per lane, so any split of a slice gives the same bits.
func TestGELUKernelSameForAnySplit(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(23, 24))
	x := randVec(r, 1000)
	for i := range x {
		x[i] *= 5
	}
	whole := append([]float32(nil), x...)
	Activate("gelu", GELU, whole)
	for _, c := range []int{1, 4, 8, 12, 20, 68} {
		part := append([]float32(nil), x...)
		for i := 0; i < len(part); i += c {
			Activate("gelu", GELU, part[i:min(i+c, len(part))])
		}
		for i := range x {
			if math.Float32bits(part[i]) != math.Float32bits(whole[i]) {
				t.Fatalf("chunks of %d: gelu(%v) = %v, in one call %v", c, x[i], part[i], whole[i])
			}
		}
	}
}

func TestGELUBackwardKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(21, 22))
	var x []float32
	for v := -12.0; v <= 12; v += 0.00123 {
		x = append(x, float32(v))
	}
	x = append(x, 0, -0, 1e-30, -1e-30, 30, -30, 100, -100, 3) // and an odd length: the scalar tail
	dy := randVec(r, len(x))
	got, want := append([]float32(nil), dy...), append([]float32(nil), dy...)
	GELUBackward(got, x)
	GELUBackwardRef(want, x)
	for i, v := range x {
		if d := math.Abs(float64(got[i] - want[i])); d > tolGELUBackward*math.Abs(float64(dy[i])) {
			t.Fatalf("dy·gelu'(%v) = %v, reference %v (dy %v, |d| %g)", v, got[i], want[i], dy[i], d)
		}
	}
}

// GELUBackwardRef is the derivative of GELU: compared with GELU's central difference in float64.
func TestGELUBackwardRefIsTheDerivative(t *testing.T) {
	for _, v := range []float64{-6, -3, -1.5, -0.7, -0.1, 0, 0.2, 0.9, 1.7, 2.5, 4, 7} {
		const h = 1e-3
		g := func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
		want := (g(v+h) - g(v-h)) / (2 * h)
		dy := []float32{1}
		GELUBackwardRef(dy, []float32{float32(v)})
		if d := math.Abs(float64(dy[0]) - want); d > 1e-6 {
			t.Errorf("GELU'(%v) = %v, central difference %v (|d| %g)", v, dy[0], want, d)
		}
	}
}

func TestSoftmaxRowsKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range []struct{ rows, n int }{{1, 1}, {3, 4}, {2, 5}, {7, 31}, {16, 128}, {4, 259}} {
		ld := (s.n + 3) &^ 3
		x := randVec(r, s.rows*ld)
		for i := range x {
			x[i] *= 8
		}
		bias := make([]float32, ld)
		if s.n > 2 {
			bias[s.n-1] = -math.MaxFloat32 // a padding token
		}
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		simdSoftmaxRows(got, ld, s.rows, s.n, 0.17677669, bias)
		SoftmaxRowsRef(want, ld, s.rows, s.n, 0.17677669, bias)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > tolSoftmax*float64(want[i])+1e-10 {
				t.Fatalf("%v: p[%d] = %v, reference %v", s, i, got[i], want[i])
			}
		}
	}
}

// tolLayerNormBackward bounds |layer_norm_backward - LayerNormBackwardRef| per value by
// tolLayerNormBackward·rstd·(|g| + mean|g| + |x̂|·mean|g·x̂|), g = dy·gamma: each float32 mean
// sums n/4 terms per lane (relative error about (n/4)·u of the sum of magnitudes: 5.7e-6 at
// n = 384), plus a few roundings of g and the result.
const tolLayerNormBackward = 1e-5

func TestLayerNormBackwardKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(23, 24))
	for _, s := range []struct{ rows, n int }{{1, 4}, {3, 8}, {5, 36}, {16, 384}, {2, 768}} {
		x := randVec(r, s.rows*s.n)
		xhat, rstd := make([]float32, len(x)), make([]float32, s.rows)
		for i := 0; i < s.rows; i++ {
			row := x[i*s.n : (i+1)*s.n]
			var m, v float64
			for _, e := range row {
				m += float64(e)
			}
			m /= float64(s.n)
			for _, e := range row {
				v += (float64(e) - m) * (float64(e) - m)
			}
			rs := 1 / math.Sqrt(v/float64(s.n)+1e-12)
			rstd[i] = float32(rs * 3) // as if x had been a third of its size
			for j, e := range row {
				xhat[i*s.n+j] = float32((float64(e) - m) * rs)
			}
		}
		g := randVec(r, s.n)
		dy := randVec(r, s.rows*s.n)
		got, want := make([]float32, len(dy)), make([]float32, len(dy))
		LayerNormBackward(got, dy, s.rows, g, xhat, rstd)
		LayerNormBackwardRef(want, dy, s.rows, g, xhat, rstd)
		for i := 0; i < s.rows; i++ {
			var ag, agx float64
			for j := 0; j < s.n; j++ {
				gg := math.Abs(float64(dy[i*s.n+j] * g[j]))
				ag += gg
				agx += gg * math.Abs(float64(xhat[i*s.n+j]))
			}
			ag, agx = ag/float64(s.n), agx/float64(s.n)
			for j := 0; j < s.n; j++ {
				k := i*s.n + j
				bound := tolLayerNormBackward * float64(rstd[i]) * (math.Abs(float64(dy[k]*g[j])) + ag + math.Abs(float64(xhat[k]))*agx)
				if d := math.Abs(float64(got[k] - want[k])); d > bound {
					t.Fatalf("%v: dx[%d,%d] = %v, reference %v (|d| %g > %g)", s, i, j, got[k], want[k], d, bound)
				}
			}
		}
		LayerNormBackward(dy, dy, s.rows, g, xhat, rstd) // dx aliasing dy
		for k := range dy {
			if dy[k] != got[k] {
				t.Fatalf("%v: in place dx[%d] = %v, not %v", s, k, dy[k], got[k])
			}
		}
	}
}

func TestSoftmaxRowsRefPadsWithZeros(t *testing.T) {
	x := []float32{1, 2, 3, 9, 1, 1, 1, 9}
	SoftmaxRowsRef(x, 4, 2, 3, 1, []float32{0, 0, 0, 0})
	if x[3] != 0 || x[7] != 0 {
		t.Fatalf("padding not zeroed: %v", x)
	}
	if d := math.Abs(float64(x[4]) - 1.0/3); d > 1e-7 {
		t.Fatalf("uniform row: %v", x[4:7])
	}
}

// tolLayerNorm bounds |layer_norm - LayerNorm| by tolLayerNorm·(|gamma|·(1 + |x̂|) + |beta|)·...:
// float32 statistics over n values instead of float64 (relative error of the mean and variance
// about n·u, for rows whose mean is large against their spread a few times more).
const tolLayerNorm = 2e-5

func TestLayerNormKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range []struct {
		rows, n int
		off     float32
	}{{1, 4, 0}, {2, 20, 1}, {3, 392, 0}, {3, 384, 0}, {5, 384, 10}, {2, 1536, -3}} { // n % 16 ≠ 0: the kernel's single-vector loops too
		x := randVec(r, s.rows*s.n)
		for i := range x {
			x[i] += s.off
		}
		g, b := randVec(r, s.n), randVec(r, s.n)
		got, want := make([]float32, len(x)), make([]float32, len(x))
		LayerNormRows(got, x, s.rows, g, b, 1e-12)
		LayerNorm(want, x, s.rows, g, b, 1e-12)
		for i := range got {
			j := i % s.n
			if d := math.Abs(float64(got[i] - want[i])); d > tolLayerNorm*(math.Abs(float64(g[j]))*(1+math.Abs(float64(want[i]-b[j])))+1e-6) {
				t.Fatalf("%v: [%d] kernel %v reference %v", s, i, got[i], want[i])
			}
		}
		copy(got, x) // in place
		LayerNormRows(got, got, s.rows, g, b, 1e-12)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-3 {
				t.Fatalf("%v: in place [%d] %v vs %v", s, i, got[i], want[i])
			}
		}
	}
}

func TestAddBiasKernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(17, 18))
	x, b := randVec(r, 7*384), randVec(r, 384)
	got, want := append([]float32(nil), x...), append([]float32(nil), x...)
	AddBiasRows(got, 7, b)
	AddBias(want, 7, b)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("[%d] %v vs %v", i, got[i], want[i]) // one float32 add each: exact
		}
	}
}

func TestDequantQ8MatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(19, 20))
	w := QuantizeQ8(randVec(r, 24*384), 24, 384, Q8Block)
	got, want := make([]float32, 24*384), make([]float32, 24*384)
	simdDequantQ8(got, w)
	w.Dequantize(want)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("[%d] %v vs %v", i, got[i], want[i]) // one float32 multiply each: exact
		}
	}
	// one row at a time (Q8.Row: an embedding lookup), blocks of 32 and of 16 (an embedding
	// table's), each row against Dequantize's
	for _, block := range []int{Q8Block, 16} {
		w := QuantizeQ8(randVec(r, 24*384), 24, 384, block)
		w.Dequantize(want)
		nb := 384 / block
		for o := range 24 {
			row := got[o*384 : (o+1)*384]
			clear(row)
			simdDequantQ8Row(row, w.Q[o*384:(o+1)*384], w.Scale[o*nb:(o+1)*nb], block)
			for k, v := range row {
				if v != want[o*384+k] {
					t.Fatalf("block %d: row %d [%d] %v vs %v", block, o, k, v, want[o*384+k])
				}
			}
		}
	}
}

// The element-wise kernels on one MiniLM layer's shapes at 128 tokens (MB/s reads as millions of
// values per second).
func BenchmarkGELU(b *testing.B) {
	x := randVec(rand.New(rand.NewPCG(1, 1)), 128*1536)
	y := make([]float32, len(x))
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		copy(y, x)
		Activate("gelu", GELU, y)
	}
}

func BenchmarkGELUBackward(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, dy := randVec(r, 128*1536), randVec(r, 128*1536)
	y := make([]float32, len(x))
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		copy(y, dy)
		GELUBackward(y, x)
	}
}

func BenchmarkSoftmaxRows(b *testing.B) {
	const rows, n = 12 * 128, 128
	x := randVec(rand.New(rand.NewPCG(1, 1)), rows*n)
	y := make([]float32, len(x))
	bias := make([]float32, n)
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		copy(y, x)
		SoftmaxRows(y, n, rows, n, 0.17, bias)
	}
}

func BenchmarkQuantizeI16(b *testing.B) {
	const rows, k = 128, 1536
	x := randVec(rand.New(rand.NewPCG(1, 1)), rows*k)
	q, s := make([]int16, rows*k), make([]float32, rows*k/Q8Block)
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		if SIMD() {
			simdQuantI16(q, s, x, rows, k, Q8Block)
		} else {
			QuantizeI16Rows(q, s, x, rows, k, Q8Block)
		}
	}
}

// TestAddScaleKernels checks add_f32 and scale_f32 (through Add and Scale) against the plain
// loops: the same float32 operations, so exactly equal; with a tail that is not a multiple of 4
// and dst aliasing an operand.
func TestAddScaleKernels(t *testing.T) {
	requireSIMD(t)
	defer SetSIMD(true)
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{0, 3, 63, 64, 67, 1000, 384 * 9} {
		a, b := randVec(r, n), randVec(r, n)
		run := func(simd bool) (sum, alias, scaled []float32) {
			SetSIMD(simd)
			sum = make([]float32, n)
			Add(sum, a, b)
			alias = slices.Clone(a)
			Add(alias, alias, b)
			scaled = slices.Clone(a)
			Scale(scaled, 0.37)
			return
		}
		s1, a1, c1 := run(true)
		s0, a0, c0 := run(false)
		if !slices.Equal(s1, s0) || !slices.Equal(a1, a0) || !slices.Equal(c1, c0) {
			t.Fatalf("n=%d: add_f32/scale_f32 differ from the plain loops", n)
		}
	}
}

// TestKernelsPropagateNaN checks that a NaN in the activations stays a NaN through the kernels
// that reduce with a maximum (quant_i16's block amax, softmax_rows' row max) or clamp (gelu_erf),
// now that they use integer or pseudo min/max: a NaN in a model must give NaN scores, not
// finite garbage.
func TestKernelsPropagateNaN(t *testing.T) {
	requireSIMD(t)
	nan := float32(math.NaN())
	x := randVec(rand.New(rand.NewPCG(25, 26)), 2*64)
	x[37] = nan // block 1 of row 0
	q, s := make([]int16, 4*64), make([]float32, len(x)/Q8Block)
	simdQuantI16(q, s, x, 2, 64, Q8Block)
	if !math.IsNaN(float64(s[1])) {
		t.Fatalf("quant_i16: the scale of a block with a NaN is %v", s[1])
	}
	for b, v := range s {
		if b != 1 && math.IsNaN(float64(v)) {
			t.Fatalf("quant_i16: block %d without a NaN has scale NaN", b)
		}
	}
	g := []float32{1, nan, -2, 3, nan}
	Activate("gelu", GELU, g)
	if !math.IsNaN(float64(g[1])) || !math.IsNaN(float64(g[4])) || math.IsNaN(float64(g[0])) {
		t.Fatalf("gelu_erf: %v", g)
	}
	for _, at := range []int{0, 5, 7} { // first, middle, last
		row := randVec(rand.New(rand.NewPCG(27, uint64(at))), 8)
		row[at] = nan
		SoftmaxRows(row, 8, 1, 8, 0.5, make([]float32, 8))
		for j, p := range row {
			if !math.IsNaN(float64(p)) {
				t.Fatalf("softmax_rows with a NaN at %d: p[%d] = %v", at, j, p)
			}
		}
	}
}

// TestTransposeMatchesReference checks transpose_f32 against TransposeRef (the same values) and
// that it zero-pads: rows past rows are zeros, nothing past rowsp or cols is written.
func TestTransposeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, s := range []struct{ rows, cols, rowsp, ldx, ldd int }{{1, 1, 4, 1, 4}, {5, 7, 8, 9, 8}, {33, 384, 36, 384, 40}, {128, 384, 128, 384, 128}} {
		x := randVec(r, s.rows*s.ldx)
		got, want := randVec(r, s.cols*s.ldd), make([]float32, s.cols*s.ldd)
		copy(want, got)
		Transpose(got, s.ldd, x, s.ldx, s.rows, s.cols, s.rowsp)
		TransposeRef(want, s.ldd, x, s.ldx, s.rows, s.cols, s.rowsp)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("%+v: d[%d] = %v, reference %v (SIMD %v)", s, i, got[i], want[i], SIMD())
		}
		for c := 0; c < s.cols; c++ {
			for j := 0; j < s.ldd; j++ {
				v, w := want[c*s.ldd+j], float32(0)
				if j < s.rows {
					w = x[j*s.ldx+c]
				} else if j >= s.rowsp {
					continue
				}
				if v != w {
					t.Fatalf("%+v: TransposeRef d[%d, %d] = %v, want %v", s, c, j, v, w)
				}
			}
		}
	}
}

// TestAttentionMatchesReference checks the kernel module's attention against AttentionRef (the
// per-sequence Transpose and per-head GemmNN, SoftmaxRows, GemmNN calls it replaces): bit for bit, over sequences with a
// padding mask, keys past the queries (prefix tuning) and kv not a multiple of 4; natively both
// are AttentionRef.
func TestAttentionMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, s := range []struct{ B, T, kv, nh, d int }{{1, 5, 5, 2, 4}, {2, 7, 9, 3, 8}, {3, 16, 19, 12, 32}, {2, 33, 33, 4, 16}} {
		H := s.nh * s.d
		kvp := (s.kv + 3) &^ 3
		q, k, v := randVec(r, s.B*s.T*H), randVec(r, s.B*s.kv*H), randVec(r, s.B*s.kv*H)
		bias := make([]float32, s.B*kvp)
		for bi := 0; bi < s.B; bi++ {
			for j := s.kv - bi; j < s.kv; j++ { // the last bi keys masked
				bias[bi*kvp+j] = -1e4
			}
		}
		got, want := make([]float32, s.B*s.T*H), make([]float32, s.B*s.T*H)
		scratch := make([]float32, (s.T+H)*kvp)
		Attention(got, q, k, v, H, s.B, s.T, s.kv, s.d, s.nh, 0.25, bias, scratch)
		AttentionRef(want, q, k, v, H, s.B, s.T, s.kv, s.d, s.nh, 0.25, bias, scratch)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("%+v: ctx[%d] = %v, reference %v (SIMD %v)", s, i, got[i], want[i], SIMD())
		}
		// a row of probabilities sums to 1: ctx is a convex combination of v's rows
		for bi := 0; bi < s.B; bi++ {
			for c := 0; c < H; c++ {
				lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
				for j := 0; j < s.kv; j++ {
					lo, hi = min(lo, v[(bi*s.kv+j)*H+c]), max(hi, v[(bi*s.kv+j)*H+c])
				}
				if x := got[bi*s.T*H+c]; x < lo-1e-5 || x > hi+1e-5 {
					t.Fatalf("%+v: ctx[%d,0,%d] = %v outside v's column range [%v, %v]", s, bi, c, x, lo, hi)
				}
			}
		}
	}
}
