package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// requireRelaxed skips (or, with ADAPTERWASM_REQUIRE_RELAXED=1, fails) a test of the 7-bit
// recipe where the host did not ask for it (wat/go_js_wasm_exec does with ADAPTERWASM_RELAXED=on,
// instantiating kernels_relaxed.wat where the engine has relaxed SIMD, and with =plain, where
// qgemm_u7 runs it: ./build.sh test runs this package both ways too).
func requireRelaxed(t *testing.T) {
	t.Helper()
	requireSIMD(t)
	if !Relaxed() {
		if os.Getenv("ADAPTERWASM_REQUIRE_RELAXED") == "1" {
			t.Fatal("7-bit recipe not requested (wat/go_js_wasm_exec with ADAPTERWASM_RELAXED=on or plain)")
		}
		t.Skip("the host does not ask for the 7-bit recipe here")
	}
	if os.Getenv("ADAPTERWASM_REQUIRE_RELAXED") == "1" && os.Getenv("ADAPTERWASM_RELAXED") == "on" && !RelaxedSIMD() {
		t.Fatal("relaxed-SIMD module not loaded (an engine with relaxed SIMD: go_js_wasm_exec gives Node 20 its flag)")
	}
}

// u7Kernels returns the settings of u7Plain to test: qgemm_u7 always, and qgemm_r7 where the
// relaxed module is there.
func u7Kernels() []bool {
	if RelaxedSIMD() {
		return []bool{false, true}
	}
	return []bool{true}
}

// u7Bound bounds |GemmQ8U7 - Q8.MulT| for one output: half a quantization step per activation,
// (max-min)/254 of its block, times |w|, plus both sides' float32 rounding (tolI16Activations of
// Σ|x|·|w|, as for the int16 path).
func u7Bound(x, w []float32) float64 {
	var e, mag float64
	for b := 0; b < len(x); b += Q8Block {
		lo, hi := slices.Min(x[b:b+Q8Block]), slices.Max(x[b:b+Q8Block])
		var sw float64
		for p := b; p < b+Q8Block; p++ {
			sw += math.Abs(float64(w[p]))
			mag += math.Abs(float64(x[p]) * float64(w[p]))
		}
		e += float64(hi-lo) / 254 * (1 + 1e-5) * sw
	}
	return e + tolI16Activations*mag
}

// u7Case is q8Case with activations that exercise quant_u7: skewed blocks (GELU-like, min near
// 0), a constant block (d = 0) and a block with one large outlier.
func u7Case(r *rand.Rand, rows, in, out int) ([]float32, *Q8) {
	x, w := q8Case(r, rows, in, out)
	for i := 0; i < rows; i++ {
		row := x[i*in : (i+1)*in]
		if i%3 == 1 {
			for p := range row {
				row[p] = max(row[p], -0.17)
			}
		}
		if in >= 96 {
			for p := 32; p < 64; p++ {
				row[p] = 0.5
			}
			row[70] = 40
		}
	}
	return x, w
}

func TestQuantizeU7RowsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	rows, k := 5, 384
	x, _ := u7Case(r, rows, k, 8)
	q, s := make([]uint8, rows*k), make([]float32, 2*rows*k/Q8Block)
	QuantizeU7Rows(q, s, x, rows, k)
	for i, v := range x {
		b := i / Q8Block
		d, lo := s[2*b], s[2*b+1]
		if q[i] > 127 {
			t.Fatalf("x[%d]: q %d > 127", i, q[i])
		}
		if e := math.Abs(float64(lo) + float64(d)*float64(q[i]) - float64(v)); e > float64(d)/2*(1+1e-5)+1e-6*math.Abs(float64(v)) {
			t.Fatalf("x[%d] = %v: lo %v + q %d · d %v off by %g > d/2", i, v, lo, q[i], d, e)
		}
	}
}

// TestPackQ7Layout checks packQ7 and unpack: every reader of Q8 sees the same matrix in every
// layout, and the block sums packQ7 stores are the scale times the block's int8 sum.
func TestPackQ7Layout(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	_, w := q8Case(r, 1, 96, 24)
	before := make([]float32, 24*96)
	w.Dequantize(before)
	q0 := slices.Clone(w.Q)
	w.packQ7()
	if w.packed != packOcts || len(w.Scale) != 2*24*3 {
		t.Fatalf("packed %d, len(Scale) %d", w.packed, len(w.Scale))
	}
	after := make([]float32, 24*96)
	w.Dequantize(after)
	if !slices.Equal(before, after) {
		t.Fatal("Dequantize differs after packQ7")
	}
	for o := 0; o < 24; o++ {
		for b := 0; b < 3; b++ {
			var sum int32
			for p := b * 32; p < (b+1)*32; p++ {
				sum += int32(q0[o*96+p])
			}
			sc := w.Scale[((o>>3)*3+b)*16+((o>>2)&1)*8+o&3]
			if got, want := w.Scale[((o>>3)*3+b)*16+((o>>2)&1)*8+4+o&3], sc*float32(sum); got != want || w.blockSum(o, b) != want {
				t.Fatalf("row %d block %d: stored sum %v, blockSum %v, want %v", o, b, got, w.blockSum(o, b), want)
			}
		}
	}
	w.unpack()
	if w.packed != packNone || !slices.Equal(w.Q, q0) {
		t.Fatal("unpack does not give back the row-major matrix")
	}
}

func TestGemmQ8U7CloseToQ8MulT(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	rows, in, out := 6, 384, 16
	x, w := u7Case(r, rows, in, out)
	q, s := make([]uint8, rows*in), make([]float32, 2*rows*in/Q8Block)
	QuantizeU7Rows(q, s, x, rows, in)
	got, want := make([]float32, rows*out), make([]float32, rows*out)
	GemmQ8U7(got, q, s, rows, w)
	w.MulT(want, x, rows)
	wf := make([]float32, out*in)
	w.Dequantize(wf)
	var worst float64
	for i := 0; i < rows; i++ {
		for j := 0; j < out; j++ {
			bound := u7Bound(x[i*in:(i+1)*in], wf[j*in:(j+1)*in])
			d := math.Abs(float64(got[i*out+j] - want[i*out+j]))
			if d > bound {
				t.Fatalf("[%d,%d] 7-bit activations %v, f32 activations %v (|d| %g > %g)", i, j, got[i*out+j], want[i*out+j], d, bound)
			}
			worst = max(worst, d/bound)
		}
	}
	t.Logf("worst |d| / bound %.3f", worst)
}

// TestQuantU7MatchesReference checks quant_u7 and quant_u7_i16 against QuantizeU7Rows exactly,
// through their interleaved layouts, with the rows up to a multiple of 4 zeroed.
func TestQuantU7MatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(37, 38))
	for _, s := range []struct{ rows, k int }{{1, 32}, {3, 96}, {4, 384}, {7, 384}, {9, 1536}} {
		x, _ := u7Case(r, s.rows, s.k, 8)
		nb, r4 := s.k/Q8Block, (s.rows+3)&^3
		q, sc := make([]uint8, r4*s.k), make([]float32, 2*r4*nb)
		for i := range q {
			q[i] = 0xEE
		}
		for i := range sc {
			sc[i] = 99
		}
		qr, sr := make([]uint8, s.rows*s.k), make([]float32, 2*s.rows*nb)
		simdQuantU7(q, sc, x, s.rows, s.k)
		QuantizeU7Rows(qr, sr, x, s.rows, s.k)
		// quant_u7_i16 (qgemm_u7's): the same values as int16 in quant_i16's layout, the same scales
		qi, sci := make([]int16, r4*s.k), make([]float32, 2*r4*nb)
		for i := range qi {
			qi[i] = -0x1111
		}
		simdQuantU7I16(qi, sci, x, s.rows, s.k)
		if i := firstDiff(sci, sc); i >= 0 && !(math.IsNaN(float64(sci[i])) && math.IsNaN(float64(sc[i]))) {
			t.Fatalf("%v: quant_u7_i16's scale %d = %v, quant_u7's %v", s, i, sci[i], sc[i])
		}
		for i := 0; i < r4; i++ {
			for k := 0; k < s.k; k++ {
				got := q[((i>>2)*(s.k/4)+k>>2)*16+(i&3)*4+k&3]
				want := uint8(0)
				if i < s.rows {
					want = qr[i*s.k+k]
				}
				if got != want {
					t.Fatalf("%v: q[%d,%d] = %d, reference %d (x %v)", s, i, k, got, want, x[min(i, s.rows-1)*s.k+k])
				}
				if gi := qi[((i>>2)*(s.k/2)+k>>1)*8+(i&3)*2+k&1]; gi != int16(want) {
					t.Fatalf("%v: quant_u7_i16 [%d,%d] = %d, reference %d", s, i, k, gi, want)
				}
			}
			for b := 0; b < nb; b++ {
				p := (((i>>2)*nb+b)*4 + i&3) * 2
				var d, lo float32
				if i < s.rows {
					d, lo = sr[2*(i*nb+b)], sr[2*(i*nb+b)+1]
				}
				if sc[p] != d || sc[p+1] != lo {
					t.Fatalf("%v: row %d block %d: (d, lo) = (%v, %v), reference (%v, %v)", s, i, b, sc[p], sc[p+1], d, lo)
				}
			}
		}
	}
}

// TestQgemmR7MatchesReference checks the 7-bit path of MulT and MulTShared (quant_u7, packQ7,
// qgemm_r7 and its plain-SIMD twin qgemm_u7) against QuantizeU7Rows + GemmQ8U7: exactly, as all
// do the same float32 operations on the same exact integer block sums; then the plain path
// again on the same matrices (they are repacked), and the 7-bit path's distance from Q8.MulT
// (u7Bound). Row counts that are not multiples of 4 put a tile's last rows past M (both kernels
// tile 4 rows).
func TestQgemmR7MatchesReference(t *testing.T) {
	requireRelaxed(t)
	defer func() { u7Plain = false }()
	for _, plain := range u7Kernels() {
		u7Plain = plain
		testQgemmR7MatchesReference(t, map[bool]string{false: "qgemm_r7", true: "qgemm_u7"}[plain])
	}
}

func testQgemmR7MatchesReference(t *testing.T, kernel string) {
	r := rand.New(rand.NewPCG(39, 40))
	for _, s := range []struct{ rows, in, out int }{{1, 32, 8}, {2, 32, 8}, {3, 64, 16}, {5, 96, 24}, {7, 384, 24}, {16, 384, 384}, {5, 1536, 40}, {33, 384, 1536}, {6, 3072, 16}} {
		name := fmt.Sprint(kernel, s)
		x, w := u7Case(r, s.rows, s.in, s.out)
		nb := s.in / Q8Block
		q, sc := make([]uint8, s.rows*s.in), make([]float32, 2*s.rows*nb)
		QuantizeU7Rows(q, sc, x, s.rows, s.in)
		want := make([]float32, s.rows*s.out)
		GemmQ8U7(want, q, sc, s.rows, w)
		got := make([]float32, s.rows*s.out)
		MulT(got, w, x, s.rows)
		if want := map[string]uint8{"qgemm_r7": packOcts, "qgemm_u7": packPairs}[kernel]; w.packed != want {
			t.Fatalf("%s: packed %d, want %d", name, w.packed, want)
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("%s: MulT[%d] = %v, GemmQ8U7 %v", name, i, got[i], want[i])
		}
		shared := [][]float32{make([]float32, s.rows*s.out)}
		MulTShared(shared, []Matrix{w}, nil, x, s.rows, s.in)
		if i := firstDiff(shared[0], want); i >= 0 {
			t.Fatalf("%s: MulTShared[%d] = %v, GemmQ8U7 %v", name, i, shared[0][i], want[i])
		}
		// With a bias (qgemm_u7 adds it as it finishes each tile; after qgemm_r7, add_bias):
		// the product then the plain AddBias loop, bit for bit, alone and shared.
		bias := randVec(r, s.out)
		wantB := slices.Clone(want)
		AddBias(wantB, s.rows, bias)
		gotB := make([]float32, s.rows*s.out)
		MulTBias(gotB, w, x, s.rows, bias)
		MulTShared(shared, []Matrix{w}, [][]float32{bias}, x, s.rows, s.in)
		if i := firstDiff(gotB, wantB); i >= 0 {
			t.Fatalf("%s: MulTBias[%d] = %v, GemmQ8U7 + AddBias %v", name, i, gotB[i], wantB[i])
		}
		if i := firstDiff(shared[0], wantB); i >= 0 {
			t.Fatalf("%s: MulTShared with a bias [%d] = %v, GemmQ8U7 + AddBias %v", name, i, shared[0][i], wantB[i])
		}
		ref := make([]float32, s.rows*s.out)
		w.MulT(ref, x, s.rows)
		wf := make([]float32, s.out*s.in)
		w.Dequantize(wf)
		for i := 0; i < s.rows; i++ {
			for j := 0; j < s.out; j++ {
				if d, b := math.Abs(float64(got[i*s.out+j]-ref[i*s.out+j])), u7Bound(x[i*s.in:(i+1)*s.in], wf[j*s.in:(j+1)*s.in]); d > b {
					t.Fatalf("%s: [%d,%d] relaxed %v, Q8.MulT %v (|d| %g > %g)", name, i, j, got[i*s.out+j], ref[i*s.out+j], d, b)
				}
			}
		}
		// The plain integer path on the same (repacked) matrix is GemmQ8I16.
		SetQ8Relaxed(false)
		MulT(got, w, x, s.rows)
		SetQ8Relaxed(true)
		if w.packed != packPairs {
			t.Fatalf("%s: SetQ8Relaxed(false) did not repack for qgemm_packed", name)
		}
		qi, si := make([]int16, s.rows*s.in), make([]float32, s.rows*nb)
		QuantizeI16Rows(qi, si, x, s.rows, s.in, Q8Block)
		GemmQ8I16(want, qi, si, s.rows, w)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: plain path after relaxed: [%d] %v, GemmQ8I16 %v", name, i, got[i], want[i])
			}
		}
	}
}

func firstDiff(a, b []float32) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestKernelsName checks Name against SIMD and Relaxed.
func TestKernelsName(t *testing.T) {
	defer SetSIMD(true)
	defer SetQ8Relaxed(true)
	SetSIMD(false)
	if want := map[bool]string{true: "go+u7", false: "go"}[u7Requested()]; Name() != want || Relaxed() != u7Requested() {
		t.Fatalf("SIMD off: Name %q (want %q), Relaxed %v (the host asks: %v)", Name(), want, Relaxed(), u7Requested())
	}
	RequestRelaxed(true)
	if Name() != "go+u7" || !Relaxed() {
		t.Fatalf("SIMD off, RequestRelaxed: Name %q, Relaxed %v", Name(), Relaxed())
	}
	RequestRelaxed(false)
	SetSIMD(true)
	SetQ8Relaxed(false)
	if want := map[bool]string{true: "wasm-simd", false: "go"}[SIMD()]; Name() != want || Relaxed() {
		t.Fatalf("relaxed off: Name %q (want %q), Relaxed %v", Name(), want, Relaxed())
	}
	SetQ8Relaxed(true)
	t.Logf("kernels: %s", Name())
}

// TestPackQ7KernelMatchesReference checks pack_q7 against Q8.packQ7: the same bytes and floats.
func TestPackQ7KernelMatchesReference(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(43, 44))
	for _, s := range []struct{ out, in int }{{8, 32}, {16, 96}, {24, 384}, {40, 1536}} {
		_, a := q8Case(r, 1, s.in, s.out)
		b := &Q8{Out: a.Out, In: a.In, Block: a.Block, Q: slices.Clone(a.Q), Scale: slices.Clone(a.Scale)}
		a.packQ7()
		simdPackQ7(b)
		if b.packed != packOcts || !slices.Equal(a.Q, b.Q) || !slices.Equal(a.Scale, b.Scale) {
			t.Fatalf("%v: pack_q7 differs from Q8.packQ7", s)
		}
	}
}
