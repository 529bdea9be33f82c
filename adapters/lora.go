package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// loraModule is LoRA or IA3 of adapters/methods/lora.py on one linear layer.
type loraModule struct {
	cfg     *LoRAConfig
	in, out int
	r       int
	A       []float32 // lora_A [r, in] (LoRA only)
	B       []float32 // lora_B [out, r] (IA3: [out, 1])
	scaling float32   // alpha/r (LoRA, VeRA) or alpha (IA3)
	gate    *bert.Linear
	// dense is VeRA's ΔW = vera_B·lora_B·vera_D·lora_A [out, in] (Vera.delta_w), nil otherwise.
	dense []float32
	// mag is DoRA's magnitude m.weight [out, 1]; doraScale = m / ‖W₀ + ΔW‖ per output row,
	// computed from the base weights once they are known (bindDoRA). nil without DoRA.
	mag, doraScale []float32
	// mtl marks an MTL-LoRA module, run as a LoRA with the matrices bindMTL folds.
	mtl bool
}

// bindMTL binds an MTLLoRA module (methods/lora.py) and folds it into one LoRA pair. MTLLoRA.forward
// is, for each row x,
//
//	y = Σ_k w_k · (x · lora_Aᵀ · diag(values) · lora_B[k]ᵀ) / Σ_k w_k,   w = exp(weights / weights_sharpness)
//
// (then · alpha/r or the gate, as LoRA). The sum is linear in x, so it equals x · A'ᵀ · B'ᵀ with
// A' = diag(values)·lora_A [r, in] and B' = Σ_k (w_k/Σw)·lora_B[k] [out, r], computed once here.
// The weights are normalized as a softmax with its maximum subtracted, in float64: the same
// numbers where the library's float32 exp stays finite (weights below ~4.4 at sharpness 0.05).
func bindMTL(bd *binder, p string, cfg *LoRAConfig, in, out int) (A, B []float32) {
	n, r := cfg.NUpProjection, cfg.R
	a := bd.vec(p+"lora_A", r, in)
	b := bd.vec(p+"lora_B", n, out, r)
	w := bd.vec(p+"weights", n)
	vals := bd.vec(p+"task_specific.values", r)
	if a == nil || b == nil || w == nil || vals == nil {
		return nil, nil
	}
	A = make([]float32, r*in)
	for j := 0; j < r; j++ {
		for i := 0; i < in; i++ {
			A[j*in+i] = vals[j] * a[j*in+i]
		}
	}
	top := math.Inf(-1)
	for _, x := range w {
		top = math.Max(top, float64(x)/cfg.WeightsSharpness)
	}
	ew := make([]float64, n)
	var tot float64
	for k, x := range w {
		ew[k] = math.Exp(float64(x)/cfg.WeightsSharpness - top)
		tot += ew[k]
	}
	acc := make([]float64, out*r)
	for k := 0; k < n; k++ {
		f := ew[k] / tot
		for i, x := range b[k*out*r : (k+1)*out*r] {
			acc[i] += f * float64(x)
		}
	}
	B = make([]float32, out*r)
	for i, x := range acc {
		B[i] = float32(x)
	}
	return A, B
}

// loraSites lists where BERT wraps linears with LoRALinear (models/bert/mixin_bert.py) and the
// config switch and attention key that enable each.
func loraEnabled(c *LoRAConfig, s bert.Site) bool { return c.At(s) }

// At reports whether the config puts a LoRA module at site s (loraEnabled; package train uses it too).
func (c *LoRAConfig) At(s bert.Site) bool {
	has := func(k string) bool {
		for _, m := range c.AttnMatrices {
			if m == k {
				return true
			}
		}
		return false
	}
	switch s {
	case bert.SiteQuery:
		return c.SelfAttn && has("q")
	case bert.SiteKey:
		return c.SelfAttn && has("k")
	case bert.SiteValue:
		return c.SelfAttn && has("v")
	case bert.SiteIntermediate:
		return c.Intermediate
	case bert.SiteOutput:
		return c.Output
	}
	return false
}

// bindLoRA binds the module under p ("encoder.layer.3.attention.self.query.loras.NAME."); shared
// is where the adapter's shared parameters live ("shared_parameters.NAME.", VeRA).
func bindLoRA(bd *binder, p, shared string, cfg *LoRAConfig, in, out int) *loraModule {
	m := &loraModule{cfg: cfg, in: in, out: out, r: cfg.R}
	switch {
	case cfg.Scale:
		m.B = bd.vec(p+"lora_B", out, 1)
		m.scaling = float32(cfg.Alpha)
	case cfg.Vera:
		m.dense = bindVera(bd, p, shared, cfg.R, in, out)
		m.scaling = float32(cfg.Alpha / float64(cfg.R))
	case cfg.MTL:
		m.A, m.B = bindMTL(bd, p, cfg, in, out)
		m.scaling = float32(cfg.Alpha / float64(cfg.R))
		m.mtl = true
	default:
		m.A = bd.vec(p+"lora_A", cfg.R, in)
		m.B = bd.vec(p+"lora_B", out, cfg.R)
		m.scaling = float32(cfg.Alpha / float64(cfg.R))
	}
	if cfg.DoRA {
		m.mag = bd.vec(p+"m.weight", out, 1)
	}
	if cfg.UseGating {
		g := bd.linear(p+"gate", 1, in, true)
		m.gate = &g
	}
	return m
}

// apply is LoRA.forward / IA3.forward: from the running state h (nil before the first module)
// and the layer input x [rows, in] with the attention mask of its rows, it returns the new
// state [rows, out].
func (m *loraModule) apply(a *arena, h, x []float32, mask []int32, nseq, tlen int) []float32 {
	rows := len(x) / m.in
	if rows == 0 {
		return a.get(0) // an empty slice of the batch (BatchSplit with a zero batch size)
	}
	var res []float32
	if m.cfg.Scale {
		res = a.get(rows * m.out)
		for r := 0; r < rows; r++ {
			row := res[r*m.out : (r+1)*m.out]
			if h == nil {
				copy(row, m.B)
			} else {
				hr := h[r*m.out : (r+1)*m.out]
				for j := range row {
					row[j] = hr[j] * m.B[j]
				}
			}
		}
	} else {
		if h == nil {
			h = x
		}
		if len(h) != rows*m.in {
			// Stacked LoRAs feed one module's output into the next one's A: shapes must agree.
			return nil
		}
		res = a.get(rows * m.out)
		if m.dense != nil {
			// Vera.forward: h · (vera_B·lora_B·vera_D·lora_A)ᵀ
			kernels.MatMulT(res, h, rows, m.in, m.dense, m.out)
		} else {
			tmp := a.get(rows * m.r)
			kernels.MatMulT(tmp, h, rows, m.in, m.A, m.r)
			kernels.MatMulT(res, tmp, rows, m.r, m.B, m.out)
		}
	}
	if m.gate != nil {
		g := a.get(rows)
		m.gate.Forward(g, x, rows)
		kernels.Sigmoid(g)
		for s := 0; s < nseq; s++ {
			// the mean over the real tokens, as for bottleneck gates (tokenMean)
			kernels.Scale(res[s*tlen*m.out:(s+1)*tlen*m.out], tokenMean(g, mask, s, tlen))
		}
	} else {
		kernels.Scale(res, m.scaling)
	}
	return res
}

// merge folds the module into W [out, in] in place (LoRALinear.merge_adapter): W + s·B·A for
// LoRA, W ⊙ (B·alpha) row-wise for IA3. unmerge inverts it (reset_adapter).
func (m *loraModule) merge(w []float32, inverse bool) error {
	if m.gate != nil {
		return &UnsupportedError{What: "merging a LoRA module with gating"}
	}
	if m.mtl {
		// LoRALinear.merge_adapter adds MTLLoRA.delta_w = lora_B @ lora_A, [n_up_projection, out, in],
		// to the [out, in] weight: the library's merged linear no longer has a weight's shape.
		return &UnsupportedError{What: "merging an MTL-LoRA module (the reference library's delta_w has an extra n_up_projection axis)"}
	}
	if m.mag != nil {
		// dora_merge writes m·(W + BA)/‖W + BA‖ without alpha/r, and reset_adapter does not write
		// the weights back: the library's merged DoRA is neither its forward nor reversible.
		return &UnsupportedError{What: "merging a DoRA module (the reference library's merge and reset differ from its forward)"}
	}
	if len(w) != m.out*m.in {
		return fmt.Errorf("adapters: merge: weight has %d values, want %d", len(w), m.out*m.in)
	}
	for o := 0; o < m.out; o++ {
		row := w[o*m.in : (o+1)*m.in]
		if m.cfg.Scale {
			f := m.B[o] * m.scaling
			for i := range row {
				if inverse {
					row[i] /= f
				} else {
					row[i] *= f
				}
			}
			continue
		}
		if m.dense != nil {
			// Vera: lora.com(W, delta_w) = W + ΔW·alpha/r
			for i, d := range m.dense[o*m.in : (o+1)*m.in] {
				if inverse {
					row[i] -= d * m.scaling
				} else {
					row[i] += d * m.scaling
				}
			}
			continue
		}
		b := m.B[o*m.r : (o+1)*m.r]
		for i := range row {
			var d float32
			for k := 0; k < m.r; k++ {
				d += b[k] * m.A[k*m.in+i]
			}
			if inverse {
				row[i] -= d * m.scaling
			} else {
				row[i] += d * m.scaling
			}
		}
	}
	return nil
}
