package train

import (
	"math"
	"strings"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// act is an activation with its derivative, both element-wise on the pre-activation value, or
// instead of df a backward over a whole slice (bwd: dy *= f'(x), in place).
type act struct {
	f   func(x float64) float64
	df  func(x float64) float64
	bwd func(dy, x []float32)
}

// activations the trainer differentiates (transformers' ACT2FN names as the library uses them).
var activations = map[string]act{
	"relu": {func(x float64) float64 { return max(x, 0) }, func(x float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	}, nil},
	// the erf GELU's backward is kernels.GELUBackward: the SIMD kernel when in use, else its
	// plain-Go twin (the same float32s)
	"gelu": {f: func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }, bwd: kernels.GELUBackward},
	"gelu_new": {geluTanh, func(x float64) float64 {
		c := math.Sqrt(2 / math.Pi)
		u := c * (x + 0.044715*x*x*x)
		t := math.Tanh(u)
		return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
	}, nil},
	"silu": {func(x float64) float64 { return x / (1 + math.Exp(-x)) }, func(x float64) float64 {
		s := 1 / (1 + math.Exp(-x))
		return s * (1 + x*(1-s))
	}, nil},
	"tanh": {math.Tanh, func(x float64) float64 { t := math.Tanh(x); return 1 - t*t }, nil},
	"sigmoid": {func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, func(x float64) float64 {
		s := 1 / (1 + math.Exp(-x))
		return s * (1 - s)
	}, nil},
	"linear": {func(x float64) float64 { return x }, func(float64) float64 { return 1 }, nil},
}

func geluTanh(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// activationByName resolves an activation name as the library does (lower-cased; swish is silu;
// gelu_pytorch_tanh and gelu_fast share gelu_new's formula up to rounding).
func activationByName(name string) (act, bool) {
	n := strings.ToLower(name)
	switch n {
	case "swish":
		n = "silu"
	case "gelu_pytorch_tanh":
		n = "gelu_new"
	}
	a, ok := activations[n]
	return a, ok
}

// apply writes f(x) into y (may alias x).
func (a act) apply(y, x []float32) {
	for i, v := range x {
		y[i] = float32(a.f(float64(v)))
	}
}

// backward multiplies dy by f'(x) in place.
func (a act) backward(dy, x []float32) {
	if a.bwd != nil {
		a.bwd(dy, x)
		return
	}
	for i, v := range x {
		dy[i] *= float32(a.df(float64(v)))
	}
}
