package kernels

import (
	"fmt"
	"math"
)

// Activation applies an elementwise nonlinearity in place.
type Activation func(x []float32)

// ActivationByName returns the activation that Hugging Face's ACT2FN (transformers/activations.py)
// and AdapterHub's Activation_Function_Class (adapters/methods/modeling.py) give a name.
// "gelu" is the exact erf form; "gelu_new" and "gelu_pytorch_tanh" the tanh approximation.
func ActivationByName(name string) (Activation, error) {
	switch name {
	case "gelu", "gelu_python":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUTanh, nil
	case "relu":
		return ReLU, nil
	case "silu", "swish":
		return SiLU, nil
	case "tanh":
		return Tanh, nil
	case "sigmoid":
		return Sigmoid, nil
	case "linear", "identity", "":
		return Identity, nil
	case "leakyrelu", "leaky_relu":
		return LeakyReLU, nil
	}
	return nil, fmt.Errorf("unsupported activation %q", name)
}

// GELU is x·Φ(x) with the exact normal CDF: 0.5·x·(1 + erf(x/√2)).
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUTanh is the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // √(2/π)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// ReLU is max(x, 0).
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// LeakyReLU is x for x ≥ 0 and 0.01·x otherwise (torch's default slope).
func LeakyReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0.01 * v
		}
	}
}

// SiLU (swish) is x·sigmoid(x).
func SiLU(x []float32) {
	for i, v := range x {
		x[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
	}
}

// Tanh is the hyperbolic tangent.
func Tanh(x []float32) {
	for i, v := range x {
		x[i] = float32(math.Tanh(float64(v)))
	}
}

// Sigmoid is 1/(1+e^-x).
func Sigmoid(x []float32) {
	for i, v := range x {
		x[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// Identity leaves x unchanged.
func Identity(x []float32) {}
