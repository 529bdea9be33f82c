package kernels

import (
	"fmt"
	"math"
)

// Activation applies an elementwise nonlinearity in place.
type Activation func(x []float32)

// ActivationByName returns the activation that Hugging Face's ACT2FN (transformers/activations.py)
// and AdapterHub's Activation_Function_Class (adapters/methods/modeling.py) give a name.
// "gelu" is the exact erf form; "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast"
// and "gelu_accurate" are the tanh approximation (the same formula, written differently).
// ACT2FN's "prelu" and "xielu" have learned parameters: the caller binds them (adapters).
func ActivationByName(name string) (Activation, error) {
	switch name {
	case "gelu", "gelu_python":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_fast", "gelu_accurate":
		return GELUTanh, nil
	case "gelu_10":
		return GELU10, nil
	case "quick_gelu":
		return QuickGELU, nil
	case "laplace":
		return Laplace, nil
	case "mish":
		return Mish, nil
	case "relu":
		return ReLU, nil
	case "relu2":
		return ReLUSquared, nil
	case "relu6":
		return ReLU6, nil
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

// GELU10 is ClippedGELUActivation(-10, 10) of transformers/activations.py ("gelu_10"): the exact
// GELU clipped to [-10, 10].
func GELU10(x []float32) {
	GELU(x)
	for i, v := range x {
		x[i] = min(max(v, -10), 10)
	}
}

// QuickGELU is x·sigmoid(1.702·x) (QuickGELUActivation).
func QuickGELU(x []float32) {
	for i, v := range x {
		f := float64(v)
		x[i] = float32(f / (1 + math.Exp(-1.702*f)))
	}
}

// Laplace is LaplaceActivation (MEGA): 0.5·(1 + erf((x − μ)/(σ·√2))), μ = 0.707107, σ = 0.282095.
func Laplace(x []float32) {
	const mu, sigma = 0.707107, 0.282095
	for i, v := range x {
		x[i] = float32(0.5 * (1 + math.Erf((float64(v)-mu)/(sigma*math.Sqrt2))))
	}
}

// Mish is x·tanh(softplus(x)) (torch.nn.functional.mish; softplus is x itself above 20).
func Mish(x []float32) {
	for i, v := range x {
		f := float64(v)
		sp := f
		if f <= 20 {
			sp = math.Log1p(math.Exp(f))
		}
		x[i] = float32(f * math.Tanh(sp))
	}
}

// ReLUSquared is relu(x)² (ReLUSquaredActivation, "relu2").
func ReLUSquared(x []float32) {
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		x[i] = v * v
	}
}

// ReLU6 is min(max(x, 0), 6) (torch.nn.ReLU6).
func ReLU6(x []float32) {
	for i, v := range x {
		x[i] = min(max(v, 0), 6)
	}
}
