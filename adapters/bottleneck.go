package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// bottleneck is one bottleneck adapter module at one location of one layer: Adapter or
// ParallelAdapter of adapters/methods/modeling.py.
type bottleneck struct {
	cfg        *BnConfig
	H, d       int
	normBefore *bert.LayerNorm // adapter_norm_before (= adapter_down.0) when ln_before
	down       bert.Linear     // adapter_down.{0|1}  [d, H]
	act        kernels.Activation
	up         bert.Linear     // adapter_up          [H, d]
	scaling    []float32       // 1 value (float, learned) or H (channel)
	normAfter  *bert.LayerNorm // adapter_norm_after when ln_after
	gate       *bert.Linear    // gate [1, H] when use_gating
}

// bindBottleneck binds the module under prefix p ("encoder.layer.3.output.adapters.NAME."); shared
// is where the adapter's shared parameters live ("shared_parameters.NAME.", Compacter).
func bindBottleneck(bd *binder, p, shared string, cfg *BnConfig, H, layer int, eps float32) *bottleneck {
	rf, ok := cfg.reduction(layer)
	if !ok {
		bd.problem(fmt.Sprintf("reduction_factor gives no value for layer %d and no default", layer))
		return nil
	}
	d := int(math.Floor(float64(H) / rf))
	if d < 1 {
		d = 1
	}
	m := &bottleneck{cfg: cfg, H: H, d: d}
	downIdx, actIdx := "0", "1"
	if cfg.LnBefore {
		m.normBefore = &bert.LayerNorm{Weight: bd.vec(p+"adapter_down.0.weight", H), Bias: bd.vec(p+"adapter_down.0.bias", H), Eps: 1e-5}
		bd.alias(p+"adapter_norm_before.weight", p+"adapter_norm_before.bias")
		downIdx, actIdx = "1", "2"
	}
	if cfg.PHM != nil {
		m.down = bindPHM(bd, p+"adapter_down."+downIdx+".", shared, "down", cfg.PHM, H, d)
	} else {
		m.down = bd.linear(p+"adapter_down."+downIdx, d, H, true)
	}
	// The activation module sits in adapter_down and is also the attribute non_linearity: a
	// learned one (prelu, xielu) is saved under both names.
	m.act = bindActivation(bd, cfg.NonLinearity, p+"adapter_down."+actIdx+".", p+"non_linearity.")
	if cfg.PHM != nil {
		m.up = bindPHM(bd, p+"adapter_up.", shared, "up", cfg.PHM, d, H)
	} else {
		m.up = bd.linear(p+"adapter_up", H, d, true)
	}
	switch cfg.ScalingMode {
	case "float":
		m.scaling = []float32{float32(cfg.Scaling)}
	case "learned":
		m.scaling = bd.vec(p+"scaling", 1)
	case "channel":
		m.scaling = bd.vec(p+"scaling", H)
	}
	if cfg.LnAfter {
		m.normAfter = &bert.LayerNorm{Weight: bd.vec(p+"adapter_norm_after.weight", H), Bias: bd.vec(p+"adapter_norm_after.bias", H), Eps: 1e-5}
	}
	if cfg.UseGating {
		g := bd.linear(p+"gate", 1, H, true)
		m.gate = &g
	}
	return m
}

// preForward is Adapter.pre_forward / ParallelAdapter.pre_forward: it returns the adapter input,
// the fusion query (when fusion) and the adapter residual. in is the sublayer's residual input.
func (m *bottleneck) preForward(a *arena, h, in []float32, ln *bert.LayerNorm, fusion *FusionConfig) (hOut, query, residual []float32) {
	rows := len(h) / m.H
	if m.cfg.IsParallel {
		if fusion != nil {
			query = in
		}
		return in, query, in
	}
	if m.cfg.ResidualBeforeLn && !m.cfg.ResidualPostAdd {
		residual = h
	}
	if fusion != nil && fusion.QueryBeforeLn {
		query = h
	}
	if m.cfg.OriginalLnBefore {
		s := a.get(len(h))
		kernels.Add(s, h, in)
		if m.cfg.ResidualPostAdd {
			residual = a.clone(s)
		}
		ln.Forward(s, s, rows)
		h = s
	}
	if !m.cfg.ResidualBeforeLn {
		residual = h
	}
	if fusion != nil && !fusion.QueryBeforeLn {
		query = h
	}
	return h, query, residual
}

// forward is Adapter.forward / ParallelAdapter.forward on x [nseq*tlen, H] with the attention
// mask of its rows; it returns the output and the scaled up-projection (used by fusion).
func (m *bottleneck) forward(a *arena, x, residual []float32, mask []int32, nseq, tlen int) (out, up []float32) {
	H, d := m.H, m.d
	rows := len(x) / H
	if rows == 0 {
		// An empty slice of the batch (BatchSplit with a zero batch size): nothing to compute.
		return a.get(0), a.get(0)
	}
	in := x
	if m.normBefore != nil {
		in = a.get(len(x))
		m.normBefore.Forward(in, x, rows)
	}
	down := a.get(rows * d)
	m.down.Forward(down, in, rows)
	m.act(down)
	up = a.get(rows * H)
	m.up.Forward(up, down, rows)
	if len(m.scaling) == 1 {
		kernels.Scale(up, m.scaling[0])
	} else {
		for r := 0; r < rows; r++ {
			row := up[r*H : (r+1)*H]
			for j := range row {
				row[j] *= m.scaling[j]
			}
		}
	}
	out = a.clone(up)
	if m.gate != nil {
		// gate = mean over the real tokens of sigmoid(gate(x)), one scalar per sequence.
		g := a.get(rows)
		m.gate.Forward(g, x, rows)
		kernels.Sigmoid(g)
		for s := 0; s < nseq; s++ {
			kernels.Scale(out[s*tlen*H:(s+1)*tlen*H], tokenMean(g, mask, s, tlen))
		}
	}
	if m.cfg.IsParallel {
		if m.normAfter != nil {
			m.normAfter.Forward(out, out, rows)
		}
		return out, up
	}
	if m.cfg.AdapterResidualBeforeLn {
		kernels.Add(out, out, residual)
	}
	if m.normAfter != nil {
		m.normAfter.Forward(out, out, rows)
	}
	if !m.cfg.AdapterResidualBeforeLn {
		kernels.Add(out, out, residual)
	}
	return out, up
}

// postForward is Adapter.post_forward / ParallelAdapter.post_forward, writing into dst.
func (m *bottleneck) postForward(dst, h, inputH, in []float32, ln *bert.LayerNorm) {
	rows := len(h) / m.H
	if m.cfg.IsParallel {
		kernels.Add(dst, h, inputH)
		h = dst
	}
	if m.cfg.OriginalLnAfter {
		kernels.Add(dst, h, in)
		ln.Forward(dst, dst, rows)
		return
	}
	copy(dst, h)
}

// tokenMean is the gate's torch.mean(gate, dim=1) for sequence s of g [nseq*tlen], taken over
// the sequence's real tokens (mask 1) only. The library averages over the padded length, so
// its gate, and every logit after it, depends on how long the longest text of the batch is
// (issue #20: up to 0.2 in logits, and a flipped label). Over the real tokens, a text gets the
// gate it gets alone, unpadded, in the library. A slice with no real token (a Split part past
// the end of a short text) takes the plain mean: its rows are padding, which nothing reads.
func tokenMean(g []float32, mask []int32, s, tlen int) float32 {
	row := g[s*tlen : (s+1)*tlen]
	var sum float32
	n := 0
	for t, v := range row {
		if mask == nil || mask[s*tlen+t] != 0 {
			sum += v
			n++
		}
	}
	if n == 0 {
		for _, v := range row {
			sum += v
		}
		n = tlen
	}
	return sum / float32(n)
}
