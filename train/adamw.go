package train

import "math"

// adamw is one step of torch.optim.AdamW (torch/optim/adam.py _single_tensor_adam with
// decoupled weight decay, the CPU path), element by element in float32 as torch computes it:
//
//	p ← p·(1 − lr·wd)
//	m ← m + (g − m)·(1 − β1)           (lerp)
//	v ← v·β2 + g²·(1 − β2)
//	p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
func (t *Trainer) adamw() {
	t.step++
	o := &t.Opt
	step := float64(t.step)
	bc1 := 1 - math.Pow(o.Beta1, step)
	bc2 := 1 - math.Pow(o.Beta2, step)
	stepSize := float32(o.LR / bc1)
	bc2s := float32(math.Sqrt(bc2))
	decay := float32(1 - o.LR*o.WeightDecay)
	w1 := float32(1 - o.Beta1)
	b2, w2 := float32(o.Beta2), float32(1-o.Beta2)
	eps := float32(o.Eps)
	for _, p := range t.params {
		if p.m == nil {
			p.m = make([]float32, len(p.W))
			p.v = make([]float32, len(p.W))
		}
		for i, g := range p.G {
			p.W[i] *= decay
			p.m[i] += w1 * (g - p.m[i])
			p.v[i] = p.v[i]*b2 + w2*g*g
			denom := float32(math.Sqrt(float64(p.v[i])))/bc2s + eps
			p.W[i] -= stepSize * p.m[i] / denom
		}
	}
}
