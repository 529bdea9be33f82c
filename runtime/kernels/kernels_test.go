package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tolMatMul bounds |MatMulT - float64 reference| relative to the sum of |terms|: float32
// accumulation error over k terms.
const tolMatMul = 1e-5

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestMatMulTMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ m, k, n int }{{1, 1, 1}, {3, 5, 7}, {4, 32, 4}, {7, 33, 9}, {16, 384, 13}} {
		x, w := randVec(r, s.m*s.k), randVec(r, s.n*s.k)
		dst := make([]float32, s.m*s.n)
		MatMulT(dst, x, s.m, s.k, w, s.n)
		for i := 0; i < s.m; i++ {
			for j := 0; j < s.n; j++ {
				var ref, mag float64
				for p := 0; p < s.k; p++ {
					term := float64(x[i*s.k+p]) * float64(w[j*s.k+p])
					ref += term
					mag += math.Abs(term)
				}
				if d := math.Abs(float64(dst[i*s.n+j]) - ref); d > tolMatMul*mag+1e-6 {
					t.Fatalf("%v: [%d,%d] got %v want %v", s, i, j, dst[i*s.n+j], ref)
				}
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	x := []float32{1, 2, 3, 4, -1, -1, -1, -1}
	g := []float32{1, 1, 2, 1}
	b := []float32{0, 0, 0, 0.5}
	dst := make([]float32, 8)
	LayerNorm(dst, x, 2, g, b, 1e-12)
	// Row 0: mean 2.5, var 1.25.
	inv := 1 / math.Sqrt(1.25)
	want := []float64{-1.5 * inv, -0.5 * inv, 2 * 0.5 * inv, 1.5*inv + 0.5, 0, 0, 0, 0.5}
	for i := range want {
		if math.Abs(float64(dst[i])-want[i]) > 1e-6 {
			t.Fatalf("dst[%d] = %v, want %v", i, dst[i], want[i])
		}
	}
}

func TestSoftmax(t *testing.T) {
	x := []float32{1, 2, 3, -math.MaxFloat32}
	Softmax(x)
	e := []float64{math.Exp(-2), math.Exp(-1), 1}
	s := e[0] + e[1] + e[2]
	for i, v := range e {
		if math.Abs(float64(x[i])-v/s) > 1e-7 {
			t.Fatalf("x[%d]=%v want %v", i, x[i], v/s)
		}
	}
	if x[3] != 0 {
		t.Fatalf("masked entry %v, want 0", x[3])
	}
	// All entries masked with float32 min: uniform, as PyTorch gives.
	y := []float32{-math.MaxFloat32, -math.MaxFloat32}
	Softmax(y)
	if y[0] != 0.5 || y[1] != 0.5 {
		t.Fatalf("all-masked row: %v", y)
	}
}

func TestActivations(t *testing.T) {
	cases := []struct {
		name string
		in   float32
		want float64
	}{
		{"gelu", 1, 0.8413447460685429},
		{"gelu", -1, -0.15865525393145707},
		{"gelu_new", 1, 0.8411919906082768},
		{"relu", -2, 0},
		{"swish", 1, 0.7310585786300049},
		{"tanh", 0.5, math.Tanh(0.5)},
		{"sigmoid", 0, 0.5},
		{"linear", 3, 3},
		{"mish", 1, 0.8650983882673103}, // tanh(ln(1+e))
		{"mish", 30, 30},
		{"quick_gelu", 1, 0.8457957659328212},
		{"relu2", 3, 9},
		{"relu2", -3, 0},
		{"relu6", 7, 6},
		{"relu6", -1, 0},
		{"laplace", 0.707107, 0.5},
		{"gelu_10", 20, 10},
		{"gelu_accurate", 1, 0.8411919906082768},
	}
	for _, c := range cases {
		f, err := ActivationByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{c.in}
		f(x)
		if math.Abs(float64(x[0])-c.want) > 1e-6 {
			t.Errorf("%s(%v) = %v, want %v", c.name, c.in, x[0], c.want)
		}
	}
	if _, err := ActivationByName("nope"); err == nil {
		t.Error("unknown activation accepted")
	}
}

// BenchmarkMatMulT384 is MiniLM's attention projection at 32 tokens: [32,384]·[384,384]ᵀ.
func BenchmarkMatMulT384(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	m, k, n := 32, 384, 384
	x, w := randVec(r, m*k), randVec(r, n*k)
	dst := make([]float32, m*n)
	b.SetBytes(int64(4 * n * k))
	b.ReportAllocs()
	for b.Loop() {
		MatMulT(dst, x, m, k, w, n)
	}
	b.ReportMetric(float64(2*m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}
