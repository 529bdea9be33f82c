package train

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// bnModule is a bottleneck adapter at one residual of one layer: Adapter / ParallelAdapter of
// adapters/methods/modeling.py with pre_forward, forward and post_forward as
// adapters/bottleneck.go runs them, plus their backward.
type bnModule struct {
	cfg      *adapters.BnConfig
	H, d     int
	act      act
	scaling  float32
	down, up *Param // adapter_down.0 [d, H], adapter_up [H, d]
	downB    *Param
	upB      *Param
}

func newBnModule(cfg *adapters.BnConfig, prefix string, H, layer int) (*bnModule, error) {
	rf, ok := cfg.ReductionFactor[fmt.Sprint(layer)]
	if !ok {
		rf, ok = cfg.ReductionFactor["default"]
	}
	if !ok {
		return nil, &ConfigError{Reason: fmt.Sprintf("reduction_factor gives no value for layer %d and no default", layer)}
	}
	d := max(int(math.Floor(float64(H)/rf)), 1)
	a, ok := activationByName(cfg.NonLinearity)
	if !ok {
		return nil, &UnsupportedError{What: fmt.Sprintf("training with non_linearity %q", cfg.NonLinearity)}
	}
	return &bnModule{cfg: cfg, H: H, d: d, act: a, scaling: float32(cfg.Scaling),
		down:  newParam(prefix+"adapter_down.0.weight", d, H),
		downB: newParam(prefix+"adapter_down.0.bias", d),
		up:    newParam(prefix+"adapter_up.weight", H, d),
		upB:   newParam(prefix+"adapter_up.bias", H),
	}, nil
}

func (m *bnModule) params() []*Param { return []*Param{m.down, m.downB, m.up, m.upB} }

// init is Adapter.__init__'s initialisation after fix_seed(seed) (init_weights "bert",
// "mam_adapter"; "houlsby" is refused when the config is read).
func (m *bnModule) init(kind string, seed uint64) {
	r := newTorchRNG(seed)
	switch kind {
	case "mam_adapter":
		r.kaimingUniform(m.down.W, m.H, math.Sqrt(5))
		clear(m.downB.W)
		clear(m.up.W)
		clear(m.upB.W)
	default: // "bert": init_bert_weights on adapter_down, then adapter_up
		r.normal(m.down.W, 0, 0.02)
		clear(m.downB.W)
		r.normal(m.up.W, 0, 0.02)
		clear(m.upB.W)
	}
}

// residualActs is what one residual step keeps for the backward pass.
type residualActs struct {
	lnBefore, lnAfter lnActs    // the original LayerNorm on h+in (original_ln_before) and at the end
	hIn               []float32 // the adapter's input [rows, H]
	pre, a            []float32 // the down projection before and after the activation [rows, d]
}

// forward runs the step dst = LN(…) of a residual with this adapter, keeping its activations.
func (m *bnModule) forward(ra *residualActs, h, in, dst []float32, rows int, ln *bert.LayerNorm, p *pool) {
	H, d := m.H, m.d
	c := m.cfg
	var hIn, residual []float32
	if c.IsParallel {
		hIn = p.clone(in)
	} else {
		hIn = p.clone(h)
		if c.OriginalLnBefore {
			kernelsAdd(hIn, h, in)
			if c.ResidualPostAdd {
				residual = p.clone(hIn)
			}
			lnForward(&ra.lnBefore, hIn, hIn, rows, ln, p)
		}
		switch {
		case !c.ResidualBeforeLn:
			residual = hIn
		case !c.ResidualPostAdd:
			residual = h
		}
	}
	ra.hIn = hIn
	ra.pre = p.get(rows * d)
	matT(ra.pre, hIn, rows, H, m.down.W, d)
	addBias(ra.pre, m.downB.W)
	ra.a = p.get(rows * d)
	m.act.apply(ra.a, ra.pre)
	out := p.get(rows * H)
	matT(out, ra.a, rows, d, m.up.W, H)
	addBias(out, m.upB.W)
	for i := range out {
		out[i] *= m.scaling
	}
	if c.IsParallel {
		kernelsAdd(out, out, h)
	} else {
		kernelsAdd(out, out, residual)
	}
	if c.OriginalLnAfter {
		kernelsAdd(out, out, in)
		lnForward(&ra.lnAfter, dst, out, rows, ln, p)
	} else {
		copy(dst, out)
	}
}

// backward takes dDst = ∂L/∂dst and writes ∂L/∂h into dH and ∂L/∂in into dIn (both
// overwritten), accumulating the adapter's parameter gradients.
func (m *bnModule) backward(ra *residualActs, dDst, dH, dIn []float32, rows int, ln *bert.LayerNorm, p *pool) {
	H, d := m.H, m.d
	c := m.cfg
	dOut := p.get(rows * H)
	if c.OriginalLnAfter {
		lnBackward(dOut, dDst, rows, ln, &ra.lnAfter)
		copy(dIn, dOut)
	} else {
		copy(dOut, dDst)
		clear(dIn)
	}
	// out = up·s + residual (or + h when parallel)
	dUp := p.get(rows * H)
	for i, g := range dOut {
		dUp[i] = g * m.scaling
	}
	addOuter(m.up.G, m.upB.G, dUp, ra.a, rows, H, d)
	dA := p.get(rows * d)
	matN(dA, dUp, rows, H, m.up.W, d)
	m.act.backward(dA, ra.pre)
	addOuter(m.down.G, m.downB.G, dA, ra.hIn, rows, d, H)
	dHIn := p.get(rows * H)
	matN(dHIn, dA, rows, d, m.down.W, H)
	if c.IsParallel {
		copy(dH, dOut)
		addTo(dIn, dHIn)
		return
	}
	if !c.ResidualBeforeLn {
		addTo(dHIn, dOut)
	}
	if c.OriginalLnBefore {
		dS := p.get(rows * H)
		lnBackward(dS, dHIn, rows, ln, &ra.lnBefore)
		if c.ResidualPostAdd {
			addTo(dS, dOut)
		}
		copy(dH, dS)
		addTo(dIn, dS)
	} else {
		copy(dH, dHIn)
	}
	if c.ResidualBeforeLn && !c.ResidualPostAdd {
		addTo(dH, dOut)
	}
}

// plainForward is the encoder's own step dst = LN(h + in), keeping LayerNorm's activations.
func plainForward(ra *residualActs, h, in, dst []float32, rows int, ln *bert.LayerNorm, p *pool) {
	z := p.get(len(h))
	kernelsAdd(z, h, in)
	lnForward(&ra.lnAfter, dst, z, rows, ln, p)
}

// plainBackward: dH = dIn = LN'ᵀ·dDst.
func plainBackward(ra *residualActs, dDst, dH, dIn []float32, rows int, ln *bert.LayerNorm) {
	lnBackward(dH, dDst, rows, ln, &ra.lnAfter)
	copy(dIn, dH)
}

func kernelsAdd(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// addBias adds b to every row of x.
func addBias(x, b []float32) {
	n := len(b)
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		for j, v := range b {
			row[j] += v
		}
	}
}
