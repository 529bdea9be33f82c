package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// invertibleModule is NICECouplingBlock of adapters/methods/modeling.py, the invertible adapter
// of MAD-X (inv_adapter "nice"): each embedding vector x = [x1, x2] (x1 the first hidden/2
// units) becomes y1 = x1 + F(x2), y2 = x2 + G(y1), with F and G small MLPs
// Linear(n, int(n // rf)) → activation → Linear. The library runs it on the embedding output
// (after the embeddings' LayerNorm, before any prompt joins) for the first adapter of the active
// setup (InvertibleAdaptersMixin.invertible_adapters_forward).
type invertibleModule struct {
	h1, h2 int // split_len1 = hidden // 2, split_len2 = hidden - split_len1
	f, g   invSubnet
}

// invSubnet is get_subnet_constructor's nn.Sequential(Linear, Activation_Function_Class, Linear).
type invSubnet struct {
	in, d, out int
	down       bert.Linear // .0 [d, in]
	act        kernels.Activation
	up         bert.Linear // .2 [out, d]
}

// bindInvertible binds invertible_adapters.NAME.{F,G}.{0,2}.{weight,bias} (and a learned
// activation's F.1 / G.1) for the bottleneck config that declares inv_adapter.
func bindInvertible(bd *binder, name string, cfg *BnConfig, H int, modelType, file string) (*invertibleModule, error) {
	if cfg.InvAdapter == "glow" {
		// GLOWCouplingBlock.forward slices its subnet output on dimension 1, the token axis of
		// the [batch, tokens, hidden] embeddings, and then fails on a shape mismatch
		// (RuntimeError in the reference library, whatever the batch; recorded on BERT,
		// RoBERTa, XLM-R and DistilBERT): nothing to match.
		if modelType == "" {
			modelType = "bert"
		}
		return nil, &UnsupportedError{File: file, What: fmt.Sprintf(`inv_adapter "glow" (the reference library's GLOWCouplingBlock fails on a %s model's embeddings)`, modelType)}
	}
	p := "invertible_adapters." + name + "."
	m := &invertibleModule{h1: H / 2, h2: H - H/2}
	sub := func(s string, in, out int) invSubnet {
		d := int(math.Floor(float64(in) / cfg.InvReductionFactor))
		if d < 1 {
			bd.problem(fmt.Sprintf("inv_adapter_reduction_factor %g leaves %s no units", cfg.InvReductionFactor, p+s))
			return invSubnet{}
		}
		return invSubnet{in: in, d: d, out: out,
			down: bd.linear(p+s+".0", d, in, true),
			act:  bindActivation(bd, cfg.NonLinearity, p+s+".1."),
			up:   bd.linear(p+s+".2", out, d, true)}
	}
	m.f = sub("F", m.h2, m.h1)
	m.g = sub("G", m.h1, m.h2)
	return m, nil
}

// apply computes dst[rows, out] += subnet(x[rows, in]), x and dst being column ranges of
// [rows, H] matrices (offsets xo, do).
func (s *invSubnet) apply(a *arena, h []float32, rows, H, xo, do int, sign float32) {
	x := a.get(rows * s.in)
	for r := 0; r < rows; r++ {
		copy(x[r*s.in:(r+1)*s.in], h[r*H+xo:r*H+xo+s.in])
	}
	mid := a.get(rows * s.d)
	s.down.Forward(mid, x, rows)
	s.act(mid)
	out := a.get(rows * s.out)
	s.up.Forward(out, mid, rows)
	for r := 0; r < rows; r++ {
		dr := h[r*H+do : r*H+do+s.out]
		for j, v := range out[r*s.out : (r+1)*s.out] {
			dr[j] += sign * v
		}
	}
}

// forward is NICECouplingBlock.forward(x, rev=False) in place on h [rows, H].
func (m *invertibleModule) forward(a *arena, h []float32, rows int) {
	H := m.h1 + m.h2
	m.f.apply(a, h, rows, H, m.h1, 0, 1) // y1 = x1 + F(x2)
	m.g.apply(a, h, rows, H, 0, m.h1, 1) // y2 = x2 + G(y1)
}

// inverse is NICECouplingBlock.forward(x, rev=True) in place: what the library runs before an LM
// head's output embedding (no such head here; kept to check the coupling inverts).
func (m *invertibleModule) inverse(a *arena, h []float32, rows int) {
	H := m.h1 + m.h2
	m.g.apply(a, h, rows, H, 0, m.h1, -1) // y2 = x2 - G(x1)
	m.f.apply(a, h, rows, H, m.h1, 0, -1) // y1 = x1 - F(y2)
}

// Embedded implements bert.Hooks: InvertibleAdaptersMixin.invertible_adapters_forward, the
// invertible adapter of the active setup's first adapter (none if it has none) on the
// embedding output, for every sequence of the batch (before any Parallel replication, as
// the library's embeddings forward hook runs before its layers replicate).
func (st *State) Embedded(h []float32, b bert.Batch) {
	m := st.m
	if st.err != nil || m.active == nil {
		return
	}
	a := m.adapters[m.active.first()]
	if a == nil || a.inv == nil {
		return
	}
	st.a.reset()
	a.inv.forward(&st.a, h, b.Rows())
}
