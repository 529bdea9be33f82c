package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// activation maps AdapterHub's activation names (Activation_Function_Class of
// adapters/methods/modeling.py, which lowercases and defers to transformers' ACT2FN in
// transformers/activations.py, plus its own "leakyrelu") to kernels. "gelu" is the exact erf
// GELU. "prelu" and "xielu" have learned parameters: their kernels here are placeholders for
// validation, bindActivation binds the real ones. "" and "identity" are not in ACT2FN (the
// library raises KeyError).
func activation(name string) (kernels.Activation, error) {
	switch name {
	case "leakyrelu":
		return kernels.LeakyReLU, nil
	case "prelu", "xielu":
		return kernels.Identity, nil
	case "", "identity":
		return nil, fmt.Errorf("unsupported activation %q", name)
	}
	return kernels.ActivationByName(name)
}

// bindActivation returns the activation for name, binding the parameters of the learned ones
// (torch.nn.PReLU, transformers' XIELUActivation) from p+"f.*"; aliases are the other names the
// same module is saved under. The name was validated with activation when the config was parsed.
func bindActivation(bd *binder, name, p string, aliases ...string) kernels.Activation {
	switch name {
	case "prelu":
		for _, a := range aliases {
			bd.alias(a + "f.weight")
		}
		w := bd.vec(p+"f.weight", 1) // num_parameters = 1
		if w == nil {
			return kernels.Identity
		}
		return preluKernel(w[0])
	case "xielu":
		for _, a := range aliases {
			bd.alias(a+"f.alpha_p", a+"f.alpha_n", a+"f.beta", a+"f.eps")
		}
		ap, an := bd.vec(p+"f.alpha_p", 1), bd.vec(p+"f.alpha_n", 1)
		beta, eps := bd.vec(p+"f.beta"), bd.vec(p+"f.eps")
		if ap == nil || an == nil || beta == nil || eps == nil {
			return kernels.Identity
		}
		return xieluKernel(ap[0], an[0], beta[0], eps[0])
	}
	act, _ := activation(name)
	return act
}

// preluKernel is torch.nn.PReLU with one learned slope w: x for x > 0, w·x otherwise.
func preluKernel(w float32) kernels.Activation {
	return func(x []float32) {
		for i, v := range x {
			if v <= 0 {
				x[i] = w * v
			}
		}
	}
}

// xieluKernel is XIELUActivation._xielu_python (transformers/activations.py; the CUDA kernel is
// never used on CPU). Its parameters and buffers are bfloat16 tensors, so softplus(alpha_p) and
// beta + softplus(alpha_n) are rounded to bfloat16 as torch does; the rest runs in float32:
//
//	x > 0: α_p·x·x + β·x        x ≤ 0: (expm1(min(x, ε)) − x)·α_n + β·x
func xieluKernel(alphaP, alphaN, beta, eps float32) kernels.Activation {
	ap := bf16(softplus(alphaP))
	an := bf16(beta + bf16(softplus(alphaN)))
	return func(x []float32) {
		for i, v := range x {
			bx := float32(beta * v)
			if v > 0 {
				x[i] = float32(float32(ap*v)*v) + bx
				continue
			}
			e := float32(math.Expm1(float64(min(v, eps))))
			x[i] = float32(float32(e-v)*an) + bx
		}
	}
}

// softplus is torch's softplus (beta 1, threshold 20) in float32.
func softplus(v float32) float32 {
	if v > 20 {
		return v
	}
	return float32(math.Log1p(math.Exp(float64(v))))
}

// bf16 rounds a float32 to the nearest bfloat16 (ties to even), as torch's float → bfloat16
// conversion does.
func bf16(f float32) float32 {
	if f != f {
		return f
	}
	b := math.Float32bits(f)
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b &^ 0xffff)
}
