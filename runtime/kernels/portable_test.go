package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// sameBits fails unless got and want hold the same float32 bit patterns.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] kernel %v (%#08x), twin %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

// withoutSIMD runs f with the SIMD kernels switched off (the twins run, as natively).
func withoutSIMD(f func()) {
	defer SetSIMD(true)
	SetSIMD(false)
	f()
}

// TestTwinsMatchKernels checks every portable twin against its kernel bit for bit, through the
// public entry points (with the kernels, then without), over shapes that reach every loop of
// the kernels: tails of 1-3 values, fewer than 4 whole vectors, strided rows, masked keys.
func TestTwinsMatchKernels(t *testing.T) {
	requireSIMD(t)
	r := rand.New(rand.NewPCG(61, 62))
	scaled := func(n int, s float32) []float32 {
		v := randVec(r, n)
		for i := range v {
			v[i] *= s
		}
		return v
	}
	t.Run("exp", func(t *testing.T) {
		var x []float32
		for v := -100.0; v <= 100; v += 0.0371 {
			x = append(x, float32(v))
		}
		x = x[:len(x)&^3]
		got, want := append([]float32(nil), x...), make([]float32, len(x))
		simdExp(got)
		for i, v := range x {
			want[i] = exp1(v)
		}
		sameBits(t, "exp", got, want)
	})
	t.Run("gelu", func(t *testing.T) {
		for _, n := range []int{1, 3, 4, 7, 16, 17, 63, 1536*3 + 5} {
			x := append(scaled(n, 3), 0, float32(math.Copysign(0, -1)), 1e-30, -40, 40, 3.925*math.Sqrt2, -5.55)
			got, want := append([]float32(nil), x...), append([]float32(nil), x...)
			Activate("gelu", GELU, got)
			withoutSIMD(func() { Activate("gelu", GELU, want) })
			sameBits(t, fmt.Sprint("gelu n=", len(x)), got, want)
		}
	})
	t.Run("softmax", func(t *testing.T) {
		for _, s := range []struct{ rows, n, ld int }{{1, 1, 4}, {3, 4, 4}, {2, 5, 8}, {7, 31, 32}, {16, 128, 128}, {4, 259, 264}, {2, 70, 72}} {
			for _, mag := range []float32{1, 8, 60} {
				x := scaled(s.rows*s.ld, mag)
				bias := scaled((s.n+3)&^3, 1)
				if s.n > 2 {
					bias[s.n-1] = -math.MaxFloat32 // a padding token
					bias[0] = float32(math.Inf(-1))
				}
				got, want := append([]float32(nil), x...), append([]float32(nil), x...)
				SoftmaxRows(got, s.ld, s.rows, s.n, 0.17677669, bias)
				withoutSIMD(func() { SoftmaxRows(want, s.ld, s.rows, s.n, 0.17677669, bias) })
				sameBits(t, fmt.Sprint("softmax ", s, mag), got, want)
			}
		}
	})
	t.Run("layernorm", func(t *testing.T) {
		for _, s := range []struct {
			rows, n int
			off     float32
		}{{1, 4, 0}, {2, 8, 3}, {2, 12, 0}, {2, 20, 1}, {3, 28, 0}, {3, 384, 0}, {3, 392, 0}, {5, 384, 10}, {2, 1536, -3}, {1, 1028, 0}} {
			x := scaled(s.rows*s.n, 2)
			for i := range x {
				x[i] += s.off
			}
			g, b := randVec(r, s.n), randVec(r, s.n)
			got, want := make([]float32, len(x)), make([]float32, len(x))
			LayerNormRows(got, x, s.rows, g, b, 1e-12)
			withoutSIMD(func() { LayerNormRows(want, x, s.rows, g, b, 1e-12) })
			sameBits(t, fmt.Sprint("layernorm ", s), got, want)
		}
	})
	t.Run("gelu backward", func(t *testing.T) {
		for _, n := range []int{1, 3, 4, 7, 64, 1536*3 + 5} {
			x := append(scaled(n, 3), 0, -40, 40, 3.925*math.Sqrt2, 13.3)
			dy := scaled(len(x), 1)
			got, want := append([]float32(nil), dy...), append([]float32(nil), dy...)
			GELUBackward(got, x)
			withoutSIMD(func() { GELUBackward(want, x) })
			sameBits(t, fmt.Sprint("gelu backward n=", len(x)), got, want)
		}
	})
	t.Run("layernorm backward", func(t *testing.T) {
		for _, s := range []struct{ rows, n int }{{1, 4}, {2, 12}, {3, 384}, {2, 1540}} {
			dy, xh, g := scaled(s.rows*s.n, 1), scaled(s.rows*s.n, 1), randVec(r, s.n)
			rstd := scaled(s.rows, 2)
			got, want := make([]float32, len(dy)), make([]float32, len(dy))
			LayerNormBackward(got, dy, s.rows, g, xh, rstd)
			withoutSIMD(func() { LayerNormBackward(want, dy, s.rows, g, xh, rstd) })
			sameBits(t, fmt.Sprint("layernorm backward ", s), got, want)
			copy(got, dy) // in place
			LayerNormBackward(got, got, s.rows, g, xh, rstd)
			sameBits(t, fmt.Sprint("layernorm backward in place ", s), got, want)
		}
	})
	t.Run("gemm", func(t *testing.T) {
		for _, s := range gemmShapes {
			if s.k%4 != 0 {
				continue
			}
			x, w := randVec(r, (s.m-1)*s.ldx+s.k), randVec(r, (s.n-1)*s.ldw+s.k)
			got, want := make([]float32, (s.m-1)*s.ldd+s.n), make([]float32, (s.m-1)*s.ldd+s.n)
			GemmNT(got, s.ldd, x, s.ldx, w, s.ldw, s.m, s.k, s.n)
			withoutSIMD(func() { GemmNT(want, s.ldd, x, s.ldx, w, s.ldw, s.m, s.k, s.n) })
			sameBits(t, fmt.Sprint("GemmNT ", s), got, want)
			if s.n%4 == 0 {
				ldy := s.n + 4
				y := randVec(r, (s.k-1)*ldy+s.n)
				GemmNN(got, s.ldd, x, s.ldx, y, ldy, s.m, s.k, s.n)
				withoutSIMD(func() { GemmNN(want, s.ldd, x, s.ldx, y, ldy, s.m, s.k, s.n) })
				sameBits(t, fmt.Sprint("GemmNN ", s), got, want)
			}
			f := NewF32(s.n, s.k, randVec(r, s.n*s.k))
			xr := randVec(r, s.m*s.k)
			got, want = make([]float32, s.m*s.n), make([]float32, s.m*s.n)
			MulT(got, f, xr, s.m)
			withoutSIMD(func() { MulT(want, f, xr, s.m) })
			sameBits(t, fmt.Sprint("MulT F32 ", s), got, want)
		}
	})
	t.Run("q8", func(t *testing.T) {
		defer SetQ8Relaxed(true)
		SetQ8Relaxed(false) // the default recipe: quant_i16 + qgemm_packed
		for _, s := range []struct{ rows, in, out int }{{1, 32, 8}, {2, 32, 8}, {3, 64, 16}, {5, 384, 24}, {16, 384, 384}, {9, 1536, 40}} {
			x, w := q8Case(r, s.rows, s.in, s.out)
			for i := range x {
				x[i] *= 4
			}
			w2 := &Q8{Out: w.Out, In: w.In, Block: w.Block, Q: append([]int8(nil), w.Q...), Scale: append([]float32(nil), w.Scale...)} // stays row-major: the twin's fast path
			got, want := make([]float32, s.rows*s.out), make([]float32, s.rows*s.out)
			MulT(got, w, x, s.rows)
			withoutSIMD(func() { MulT(want, w2, x, s.rows) })
			sameBits(t, fmt.Sprint("MulT Q8 ", s), got, want)
			withoutSIMD(func() { MulT(want, w, x, s.rows) }) // w packed by the kernel: the twin on any layout
			sameBits(t, fmt.Sprint("MulT Q8 packed ", s), got, want)
		}
	})
	t.Run("q8 7-bit", func(t *testing.T) {
		if !Relaxed() {
			t.Skip("the host did not ask for the 7-bit recipe (ADAPTERWASM_RELAXED=on or plain)")
		}
		defer RequestRelaxed(false)
		RequestRelaxed(true)
		for _, s := range []struct{ rows, in, out int }{{1, 32, 8}, {2, 32, 8}, {3, 64, 16}, {5, 384, 24}, {16, 384, 384}, {9, 1536, 40}} {
			x, w := q8Case(r, s.rows, s.in, s.out)
			for i := range x {
				x[i] = x[i]*4 + 1 // asymmetric blocks: the min matters
			}
			w2 := &Q8{Out: w.Out, In: w.In, Block: w.Block, Q: append([]int8(nil), w.Q...), Scale: append([]float32(nil), w.Scale...)}
			got, want := make([]float32, s.rows*s.out), make([]float32, s.rows*s.out)
			MulT(got, w, x, s.rows)
			withoutSIMD(func() {
				if Name() != "go+u7" {
					t.Fatalf("without the kernels, asked for the 7-bit recipe: Name %q", Name())
				}
				MulT(want, w2, x, s.rows)
			})
			sameBits(t, fmt.Sprintf("MulT Q8 7-bit (%s) %v", Name(), s), got, want)
			withoutSIMD(func() { MulT(want, w, x, s.rows) })
			sameBits(t, fmt.Sprintf("MulT Q8 7-bit (%s) packed %v", Name(), s), got, want)
		}
	})
}

// The twins are as accurate as the kernels: natively, against the float64 references.
func TestTwinsMatchFloat64(t *testing.T) {
	defer SetQ8Relaxed(true)
	SetQ8Relaxed(false) // the 16-bit recipe, even where the host asks for the 7-bit one (below)
	withoutSIMD(func() {
		r := rand.New(rand.NewPCG(63, 64))
		var x []float32
		for v := -87.0; v <= 88; v += 0.0137 {
			x = append(x, float32(v))
		}
		for _, v := range x {
			want := math.Exp(float64(v))
			if d := math.Abs(float64(exp1(v))-want) / want; d > tolExp {
				t.Fatalf("exp1(%v) = %v, math.Exp %v (rel %g)", v, exp1(v), want, d)
			}
		}
		g := append([]float32(nil), x[:len(x)/2]...)
		for i := range g {
			g[i] /= 8
		}
		got, want := append([]float32(nil), g...), append([]float32(nil), g...)
		Activate("gelu", GELU, got)
		GELU(want)
		for i, v := range g {
			if d := math.Abs(float64(got[i] - want[i])); d > tolGELU*max(1, math.Abs(float64(v))) {
				t.Fatalf("gelu(%v) = %v, reference %v", v, got[i], want[i])
			}
		}
		for _, s := range []struct{ rows, n int }{{1, 1}, {2, 5}, {7, 31}, {4, 259}} {
			ld := (s.n + 3) &^ 3
			x := randVec(r, s.rows*ld)
			bias := make([]float32, ld)
			if s.n > 2 {
				bias[s.n-1] = -math.MaxFloat32
			}
			got, want := append([]float32(nil), x...), append([]float32(nil), x...)
			SoftmaxRows(got, ld, s.rows, s.n, 0.5, bias)
			SoftmaxRowsRef(want, ld, s.rows, s.n, 0.5, bias)
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > tolSoftmax*float64(want[i])+1e-10 {
					t.Fatalf("softmax %v: p[%d] = %v, reference %v", s, i, got[i], want[i])
				}
			}
		}
		for _, n := range []int{4, 20, 384, 392} {
			x, g, b := randVec(r, 3*n), randVec(r, n), randVec(r, n)
			got, want := make([]float32, len(x)), make([]float32, len(x))
			LayerNormRows(got, x, 3, g, b, 1e-12)
			LayerNorm(want, x, 3, g, b, 1e-12)
			for i := range got {
				j := i % n
				if d := math.Abs(float64(got[i] - want[i])); d > tolLayerNorm*(math.Abs(float64(g[j]))*(1+math.Abs(float64(want[i]-b[j])))+1e-6) {
					t.Fatalf("layernorm n=%d: [%d] twin %v reference %v", n, i, got[i], want[i])
				}
			}
		}
		for _, s := range gemmShapes {
			if s.k%4 == 0 {
				checkGemm(t, s, func(dst, x, w []float32) { GemmNT(dst, s.ldd, x, s.ldx, w, s.ldw, s.m, s.k, s.n) })
			}
		}
		for _, s := range []struct{ rows, in, out, block int }{{3, 64, 16, 32}, {16, 384, 40, 32}, {3, 128, 16, 64}, {16, 384, 40, 64}, {5, 768, 24, 128}} {
			x, w := q8CaseBlock(r, s.rows, s.in, s.out, s.block)
			got, want := make([]float32, s.rows*s.out), make([]float32, s.rows*s.out)
			MulT(got, w, x, s.rows)
			q, sc := quantizeI16Go(x, s.rows, s.in, s.block)
			GemmQ8I16(want, q, sc, s.rows, w) // within tolI16Activations of float32 activations (TestGemmQ8I16CloseToQ8MulT)
			sameBits(t, fmt.Sprint("q8 ", s), got, want)
			func() {
				defer SetQ8Relaxed(false)
				defer RequestRelaxed(false)
				SetQ8Relaxed(true)
				RequestRelaxed(true)
				MulT(got, w, x, s.rows)
			}()
			if w.Block != Q8Block {
				t.Fatalf("%v: blocks of %d after a product on the 7-bit recipe, want %d (Q8.reblock)", s, w.Block, Q8Block)
			}
			qu, su := make([]uint8, s.rows*s.in), make([]float32, 2*s.rows*s.in/Q8Block)
			QuantizeU7Rows(qu, su, x, s.rows, s.in)
			GemmQ8U7(want, qu, su, s.rows, w) // within its bound of float32 activations (TestGemmQ8U7CloseToQ8MulT)
			sameBits(t, fmt.Sprint("q8 7-bit ", s), got, want)
		}
	})
}

// TestTwinsNotFused compiles this package for arm64 and for amd64 with GOAMD64=v3 (both fuse
// x*y + z into one instruction where the Go spec allows it) and checks that no function whose
// sums must match the kernels' contains a fused multiply-add: an explicit float32 conversion of
// every product that is added is what keeps them out.
func TestTwinsNotFused(t *testing.T) {
	if testing.Short() || runtime.GOOS == "js" {
		t.Skip("compiles the package twice (not under -short or GOOS=js)")
	}
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	exact := []string{"gelu1", "geluGo", "expCephes", "exp1", "softmaxRowsGo", "layerNormGo", "gemmNTGo", "mulQ8Go", "mulQ8U7Go",
		"dgelu1", "geluBackwardGo", "layerNormBackwardGo",
		"GemmNNRef", "GemmQ8I16", "GemmQ8U7", "QuantizeI16Rows", "QuantizeU7Rows", "MatMulT", "Dot", "mulTile", "(*Q8).MulT"}
	for _, target := range []struct {
		env   []string
		fused *regexp.Regexp
	}{
		{[]string{"GOARCH=arm64"}, regexp.MustCompile(`\bF(N?)M(ADD|SUB)[SD]\b`)},
		{[]string{"GOARCH=amd64", "GOAMD64=v3"}, regexp.MustCompile(`\bVF(N?)M(ADD|SUB)\d+S[SD]\b`)},
	} {
		cmd := exec.Command(gotool, "build", "-gcflags=-S", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), append(target.env, "GOOS=linux", "CGO_ENABLED=0")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v go build: %v\n%s", target.env, err, out)
		}
		fn := ""
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, " STEXT"); i > 0 && !strings.HasPrefix(line, "\t") {
				fn = strings.TrimPrefix(line[:i], "github.com/adapterwasm/adapterwasm/runtime/kernels.")
				continue
			}
			if target.fused.MatchString(line) && slices.Contains(exact, fn) {
				t.Errorf("%v: %s has a fused multiply-add: %s", target.env, fn, strings.TrimSpace(line))
			}
		}
		if fn == "" {
			t.Fatalf("%v: no function in the assembly listing", target.env)
		}
	}
}
