package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// reftModule is ReftModule of adapters/methods/reft.py at one layer's output: one ReftUnit for
// the first prefix_positions and one for the last suffix_positions real tokens of each sequence
// (or one for both, tied_weights).
type reftModule struct {
	cfg   *ReftConfig
	units []*reftUnit
}

// reftUnit is ReftUnit: x + Rᵀ·(act(W·x + b) − R·x), with R = projection.weight [r, hidden].
// The saved config never records subtract_projection (a class attribute, not a field), so a
// reloaded config always subtracts, as the library's own reload does.
type reftUnit struct {
	r, H   int
	source bert.Linear // learned_source [r, hidden] with bias
	R      []float32   // projection weight [r, hidden]
	act    kernels.Activation
}

// bindReft binds encoder.layer.L.reft_layer.refts.NAME. (p) for a layer that has the intervention.
func bindReft(bd *binder, p string, cfg *ReftConfig, H int) *reftModule {
	m := &reftModule{cfg: cfg}
	n := 2
	if cfg.TiedWeights {
		n = 1
	}
	for u := 0; u < n; u++ {
		up := fmt.Sprintf("%sunits.%d.", p, u)
		un := &reftUnit{r: cfg.R, H: H, source: bd.linear(up+"learned_source", cfg.R, H, true)}
		if cfg.NonLinearity != "" {
			un.act = bindActivation(bd, cfg.NonLinearity, up+"non_linearity.")
		}
		if cfg.Orthogonality {
			un.R = bindOrthogonal(bd, up+"projection.parametrizations.weight.", cfg.R, H)
		} else {
			un.R = bd.vec(up+"projection.weight", cfg.R, H)
		}
		m.units = append(m.units, un)
	}
	return m
}

// bindOrthogonal evaluates torch.nn.utils.parametrizations.orthogonal on a [r, hidden] weight
// (r < hidden: the "householder" map, with the trivialization base) from its saved original
// and base: X = originalᵀ [n=hidden, k=r]; Q = householder_product(tril(X, −1), τ) with
// τⱼ = 2/(1 + ‖column j of tril(X, −1)‖²); column j times int(X[j, j]) (truncated, as torch's
// .int()); Q = base·Q; weight = Qᵀ.
func bindOrthogonal(bd *binder, p string, r, H int) []float32 {
	orig := bd.vec(p+"original", r, H)
	base := bd.vec(p+"0.base", H, H)
	if orig == nil || base == nil {
		return nil
	}
	if r >= H {
		bd.problem(fmt.Sprintf("%s: orthogonal ReFT projection with r = %d ≥ hidden %d (torch's matrix_exp map) is not implemented", p, r, H))
		return nil
	}
	n, k := H, r
	X := func(i, j int) float64 { return float64(orig[j*H+i]) } // X = originalᵀ
	// Q = H₀·H₁·…·H_{k−1}·I[:, :k], applying the reflections right to left.
	Q := make([]float64, n*k)
	for j := 0; j < k; j++ {
		Q[j*k+j] = 1
	}
	v := make([]float64, n)
	for j := k - 1; j >= 0; j-- {
		var ss float64
		for i := range v {
			switch {
			case i < j:
				v[i] = 0
			case i == j:
				v[i] = 1
			default:
				v[i] = X(i, j)
				ss += v[i] * v[i]
			}
		}
		tau := 2 / (1 + ss)
		for c := 0; c < k; c++ {
			var dot float64
			for i := j; i < n; i++ {
				dot += v[i] * Q[i*k+c]
			}
			for i := j; i < n; i++ {
				Q[i*k+c] -= tau * v[i] * dot
			}
		}
	}
	for j := 0; j < k; j++ {
		sign := float64(int32(float32(X(j, j)))) // X.diagonal().int()
		for i := 0; i < n; i++ {
			Q[i*k+j] *= sign
		}
	}
	w := make([]float32, r*H) // (base·Q)ᵀ
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			var s float64
			for q := 0; q < n; q++ {
				s += float64(base[i*n+q]) * Q[q*k+c]
			}
			w[c*H+i] = float32(s)
		}
	}
	for _, x := range w {
		if math.IsNaN(float64(x)) {
			bd.problem(p + ": orthogonal projection is not finite")
			return nil
		}
	}
	return w
}

// apply runs the unit on rows x [rows, hidden] into dst.
func (u *reftUnit) apply(a *arena, dst, x []float32, rows int) {
	if rows == 0 {
		return
	}
	src := a.get(rows * u.r)
	u.source.Forward(src, x, rows)
	if u.act != nil {
		u.act(src)
	}
	proj := a.get(rows * u.r)
	kernels.MatMulT(proj, x, rows, u.H, u.R, u.r)
	for i := range src {
		src[i] -= proj[i]
	}
	copy(dst, x)
	for row := 0; row < rows; row++ {
		d := dst[row*u.H : (row+1)*u.H]
		for j := 0; j < u.r; j++ {
			s := src[row*u.r+j]
			for i, rv := range u.R[j*u.H : (j+1)*u.H] {
				d[i] += s * rv
			}
		}
	}
}

// Layer implements bert.Hooks: ReftLayer.forward, the forward hook on each layer's output. Only
// the first adapter of the active setup intervenes, on every sequence of the (replicated) batch.
func (st *State) Layer(l int, h []float32, b bert.Batch) {
	m := st.m
	if st.err != nil {
		return
	}
	a := m.adapters[m.active.first()]
	if a == nil || a.reft == nil || a.reft[l] == nil {
		return
	}
	st.a.reset()
	if m.channels > 1 {
		// The library computes its position index once per call from the unreplicated mask and
		// reuses it: ReFT reaches every replica only if no adapter replicated the batch first.
		st.fail(&UnsupportedError{What: "ReFT in a Parallel setup (the reference library intervenes on the replicas unevenly)"})
		return
	}
	var err error
	if st.reftIdx, err = a.reft[l].forward(&st.a, st.reftIdx[:0], h, b); err != nil {
		st.fail(&SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("layer %d ReFT: %v", l, err)})
	}
}

// forward is ReftModule.forward on h [B*T, hidden]: gather the prefix and suffix positions of
// each sequence (from its first real token and its real length, as the library's
// context.offsets/seqlens from the attention mask), run the units, scatter the prefix results
// back, then the suffix results (which win where they overlap).
func (m *reftModule) forward(a *arena, idx []int, h []float32, b bert.Batch) ([]int, error) {
	H := m.units[0].H
	T := b.T
	np, ns := min(m.cfg.PrefixPositions, T), min(m.cfg.SuffixPositions, T)
	if np+ns == 0 {
		return idx, nil
	}
	// idx: the row of each gathered state, per sequence np then ns (a State buffer)
	for s := 0; s < b.B; s++ {
		first, n := 0, T
		if b.Mask != nil {
			mask := b.Mask[s*T : (s+1)*T]
			first, n = -1, 0
			for t, v := range mask {
				if v == 1 {
					n++
					if first < 0 {
						first = t
					}
				}
			}
			if first < 0 {
				first = 0 // argmax of an all-zero mask
			}
		}
		for t := 0; t < np; t++ {
			idx = append(idx, s*T+first+t)
		}
		for t := -ns; t < 0; t++ {
			p := first + n + t
			if p < 0 {
				return idx, fmt.Errorf("sequence %d has %d tokens, fewer than suffix_positions %d (the reference library fails here too)", s, n, ns)
			}
			idx = append(idx, s*T+p)
		}
	}
	x := a.get(len(idx) * H)
	for i, r := range idx {
		copy(x[i*H:(i+1)*H], h[r*H:(r+1)*H])
	}
	y := a.get(len(idx) * H)
	w := np + ns
	if len(m.units) == 1 {
		m.units[0].apply(a, y, x, len(idx))
	} else {
		// units[0] on the prefixes, units[1] on the suffixes, each sequence's rows in order.
		pre, suf := a.get(b.B*np*H), a.get(b.B*ns*H)
		for s := 0; s < b.B; s++ {
			copy(pre[s*np*H:(s+1)*np*H], x[s*w*H:(s*w+np)*H])
			copy(suf[s*ns*H:(s+1)*ns*H], x[(s*w+np)*H:(s+1)*w*H])
		}
		preY, sufY := a.get(len(pre)), a.get(len(suf))
		m.units[0].apply(a, preY, pre, b.B*np)
		m.units[1].apply(a, sufY, suf, b.B*ns)
		for s := 0; s < b.B; s++ {
			copy(y[s*w*H:(s*w+np)*H], preY[s*np*H:(s+1)*np*H])
			copy(y[(s*w+np)*H:(s+1)*w*H], sufY[s*ns*H:(s+1)*ns*H])
		}
	}
	for i, r := range idx { // prefixes then suffixes within each sequence: suffixes win
		copy(h[r*H:(r+1)*H], y[i*H:(i+1)*H])
	}
	return idx, nil
}
