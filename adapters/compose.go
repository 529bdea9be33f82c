package adapters

import (
	"fmt"
	"slices"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// This file runs the active setup at the encoder's hook points, mirroring the compose_* methods
// of adapters/methods/adapter_layer_base.py, bottleneck.py, lora.py and prefix_tuning.py. States
// are row blocks [nseq*tlen, hidden] of the padded batch; slicing a batch (BatchSplit, Parallel)
// takes contiguous rows, Split gathers token ranges. Where the library raises, the hooks record
// an error and Forward returns it.

// ---- bottleneck adapters (BottleneckLayer) ----

// bnState is BottleneckState, plus the attention mask of its rows (the gates average over the
// real tokens only: tokenMean).
type bnState struct {
	h, in, res, up []float32
	mask           []int32
	nseq, tlen     int
	last           *bottleneck
}

type bnCtx struct {
	st  *State
	l   int
	r   bert.Residual
	ln  *bert.LayerNorm
	H   int
	err error
}

func (c *bnCtx) fail(format string, args ...any) bnState {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
	return bnState{}
}

func (c *bnCtx) module(name string) *bottleneck { return c.st.m.adapters[name].bn[c.l][c.r] }

// Residual implements bert.Hooks: bottleneck_layer_forward.
func (st *State) Residual(l int, r bert.Residual, h, residual []float32, ln *bert.LayerNorm, dst []float32, b bert.Batch) bool {
	m := st.m
	if st.err != nil || !m.hasBn(l, r) {
		return false
	}
	st.a.reset()
	st.masks = st.masks[:0]
	c := &bnCtx{st: st, l: l, r: r, ln: ln, H: m.Base.Config.HiddenSize}
	s := c.compose(m.active, bnState{h: h, in: residual, res: residual, mask: b.Mask[:b.Rows()], nseq: b.B, tlen: b.T}, 0)
	if c.err == nil && s.last == nil {
		c.fail("no adapter applied")
	}
	if c.err != nil {
		st.fail(&SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("layer %d %s: %v", l, r, c.err)})
		return false
	}
	s.last.postForward(dst[:len(h)], s.h, h, s.in, ln)
	return true
}

func (c *bnCtx) compose(b *Block, s bnState, lvl int) bnState {
	if c.err != nil {
		return s
	}
	switch b.Kind {
	case Single:
		return c.single(b.Name, s)
	case Stack:
		for _, ch := range b.Children {
			if ch.Kind != Single {
				s = c.compose(ch, s, lvl+1)
			} else if c.module(ch.Name) != nil {
				s = c.preBlock(ch, s)
				s = c.single(ch.Name, s)
			}
		}
		return s
	case Fuse:
		return c.fuse(b, s, lvl)
	case Split:
		return c.split(b, s, lvl)
	case BatchSplit:
		if sum(b.Sizes) != s.nseq {
			return c.fail("the batch has %d sequences, not the sum of batch_sizes %v", s.nseq, b.Sizes)
		}
		return c.slices(b, c.preBlock(b, s), b.Sizes, lvl)
	case Parallel:
		n := len(b.Children)
		if s.nseq%n != 0 {
			return c.fail("batch of %d not divisible by %d parallel channels", s.nseq, n)
		}
		return c.slices(b, c.preBlock(b, s), c.st.equalSizes(n, s.nseq/n), lvl)
	case Average:
		return c.average(b, s, lvl)
	case MultiTask:
		return c.multiTask(b, s, lvl)
	}
	return c.fail("unknown block %v", b.Kind)
}

// multiTask is compose_multi_task on a BottleneckLayer: the first adapter's pre_forward, the rows
// sorted by task id, compose_batch_split over the children (which runs pre_forward once more, as
// the library does), the rows put back in their order.
func (c *bnCtx) multiTask(b *Block, s bnState, lvl int) bnState {
	s = c.preBlock(b, s)
	if c.err != nil {
		return s
	}
	order, sizes, err := c.st.taskOrder(b, s.nseq)
	if err != nil {
		return c.fail("%v", err)
	}
	H, T := c.H, s.tlen
	g := func(x []float32) []float32 { return c.st.permuteRows(x, order, T*H, false) }
	ps := bnState{h: g(s.h), in: g(s.in), res: g(s.res), up: g(s.up), nseq: s.nseq, tlen: T, last: s.last,
		mask: c.st.permuteMask(s.mask, order, T)}
	out := c.slices(b, c.preBlock(b, ps), sizes, lvl)
	if c.err != nil {
		return s
	}
	out.h = c.st.permuteRows(out.h, order, T*H, true)
	out.up = c.st.permuteRows(out.up, order, T*H, true)
	out.res = c.st.permuteRows(out.res, order, T*H, true)
	out.in, out.mask = s.in, s.mask
	return out
}

// preBlock is BottleneckLayer.pre_block: the first adapter's pre_forward.
func (c *bnCtx) preBlock(b *Block, s bnState) bnState {
	if c.err != nil {
		return s
	}
	m := c.module(b.first())
	if m == nil {
		return c.fail("%s: its first adapter %s has no module here (the reference library fails here too)", b, b.first())
	}
	s.h, _, s.res = m.preForward(&c.st.a, s.h, s.in, c.ln, nil)
	return s
}

func (c *bnCtx) single(name string, s bnState) bnState {
	if c.err != nil {
		return s
	}
	m := c.module(name)
	if m == nil {
		return c.fail("adapter %s has no module here", name)
	}
	s.h, s.up = m.forward(&c.st.a, s.h, s.res, s.mask, s.nseq, s.tlen)
	s.last = m
	return s
}

func (c *bnCtx) fuse(b *Block, s bnState, lvl int) bnState {
	f := c.st.m.fusions[b.Name]
	var fm *fusionModule
	if f != nil {
		fm = f.layers[c.l][c.r]
	}
	if fm == nil {
		return c.fail("fusion %s has no layer here", b.Name)
	}
	lastM := c.module(b.last())
	if lastM == nil {
		return c.fail("fused adapter %s has no module here", b.last())
	}
	// The config of the last fused adapter decides pre_forward.
	var query []float32
	s.h, query, s.res = lastM.preForward(&c.st.a, s.h, s.in, c.ln, &f.Config)
	ups := c.st.ups[:0]
	for _, ch := range b.Children {
		var cs bnState
		if ch.Kind != Single {
			cs = c.compose(ch, s, lvl+1)
		} else if c.module(ch.Name) != nil {
			cs = c.single(ch.Name, s)
		} else {
			continue
		}
		if c.err != nil {
			return s
		}
		if cs.up == nil {
			return c.fail("fused block %s produced no up-projection", ch)
		}
		ups = append(ups, cs.up)
	}
	c.st.ups = ups
	if len(ups) > 0 && s.nseq > 0 {
		s.h = fm.forward(&c.st.a, query, ups, s.res, c.H)
	}
	s.last = lastM
	return s
}

func (c *bnCtx) split(b *Block, s bnState, lvl int) bnState {
	if sum(b.Sizes) != s.tlen {
		return c.fail("the input has sequence length %d which is not the sum of splits %v", s.tlen, b.Sizes)
	}
	s = c.preBlock(b, s)
	if c.err != nil {
		return s
	}
	H := c.H
	out := c.st.a.get(len(s.h))
	var last *bottleneck
	t0 := 0
	for i, ch := range b.Children {
		w := b.Sizes[i]
		if w == 0 {
			continue
		}
		g := func(x []float32) []float32 {
			if x == nil {
				return nil
			}
			y := c.st.a.get(s.nseq * w * H)
			for q := 0; q < s.nseq; q++ {
				copy(y[q*w*H:(q+1)*w*H], x[(q*s.tlen+t0)*H:(q*s.tlen+t0+w)*H])
			}
			return y
		}
		cs := bnState{h: g(s.h), in: g(s.in), res: g(s.res), up: g(s.up), mask: c.st.gatherMask(s.mask, s.nseq, s.tlen, t0, w), nseq: s.nseq, tlen: w}
		switch {
		case ch.Kind != Single:
			cs = c.compose(ch, cs, lvl+1)
		case c.module(ch.Name) != nil:
			cs = c.single(ch.Name, cs)
		default:
			return c.fail("Split child %s has no module here (the reference library fails here too)", ch.Name)
		}
		if c.err != nil {
			return s
		}
		if cs.last != nil {
			last = cs.last
		}
		for q := 0; q < s.nseq; q++ {
			copy(out[(q*s.tlen+t0)*H:(q*s.tlen+t0+w)*H], cs.h[q*w*H:(q+1)*w*H])
		}
		t0 += w
	}
	s.h, s.last = out, last
	return s
}

// gatherMask returns the mask of tokens [t0, t0+w) of each of nseq sequences of tlen tokens
// (Split's parts), in the State's scratch. A mask taken earlier in the same hook call stays valid.
func (st *State) gatherMask(mask []int32, nseq, tlen, t0, w int) []int32 {
	start := len(st.masks)
	for q := 0; q < nseq; q++ {
		st.masks = append(st.masks, mask[q*tlen+t0:q*tlen+t0+w]...)
	}
	return st.masks[start:len(st.masks):len(st.masks)]
}

// slices runs the children of a BatchSplit or Parallel block on consecutive sequence ranges
// and concatenates them (compose_batch_split, compose_parallel, pad_and_concat).
func (c *bnCtx) slices(b *Block, s bnState, sizes []int, lvl int) bnState {
	if c.err != nil {
		return s
	}
	if err := batchSplitChildren(b); err != nil {
		return c.fail("%v", err)
	}
	H, T := c.H, s.tlen
	out := bnState{h: c.st.a.get(len(s.h)), in: s.in, res: s.res, nseq: s.nseq, tlen: T}
	if s.up != nil {
		out.up = c.st.a.get(len(s.up))
	}
	s0 := 0
	var lastState bnState
	for i, ch := range b.Children {
		n := sizes[i]
		lo, hi := s0*T*H, (s0+n)*T*H
		cs := bnState{h: s.h[lo:hi], in: s.in[lo:hi], res: s.res[lo:hi], mask: s.mask[s0*T : (s0+n)*T], nseq: n, tlen: T, last: s.last}
		if s.up != nil {
			cs.up = s.up[lo:hi]
		}
		switch {
		case ch.Kind != Single:
			cs = c.compose(ch, cs, lvl+1)
		case c.module(ch.Name) != nil:
			cs = c.single(ch.Name, cs)
		}
		if c.err != nil {
			return s
		}
		copy(out.h[lo:hi], cs.h)
		if out.up != nil {
			if cs.up == nil {
				out.up = nil
			} else {
				copy(out.up[lo:hi], cs.up)
			}
		}
		lastState = cs
		s0 += n
	}
	out.last = lastState.last
	return out
}

// average is compose_average + BottleneckLayer.mean: torch.mean(stack(h_i) * w, 0), which
// with k child states and n weights is Σ w_i·h_i / n when k == n and (Σ w / n)·h when k == 1.
func (c *bnCtx) average(b *Block, s bnState, lvl int) bnState {
	s = c.preBlock(b, s)
	if c.err != nil {
		return s
	}
	kids := c.st.children[:0]
	for _, ch := range b.Children {
		switch {
		case ch.Kind != Single:
			kids = append(kids, c.compose(ch, s, lvl+1))
		case c.module(ch.Name) != nil:
			kids = append(kids, c.single(ch.Name, s))
		}
		if c.err != nil {
			return s
		}
	}
	c.st.children = kids
	h, err := mean(&c.st.a, len(s.h), b.Weights, len(kids), func(i int) []float32 { return kids[i].h })
	if err != nil {
		return c.fail("%s: %v", b, err)
	}
	out := kids[0]
	out.h, out.last = h, kids[len(kids)-1].last
	return out
}

// mean is torch.mean(torch.stack(states) * weights[:, None, None, None], dim=0).
func mean(a *arena, n int, w []float64, k int, get func(int) []float32) ([]float32, error) {
	if k == 0 {
		return nil, fmt.Errorf("no child produced an output")
	}
	out := a.zeros(n)
	inv := 1 / float32(len(w))
	switch {
	case k == len(w):
		for i := 0; i < k; i++ {
			x := get(i)
			if x == nil {
				return nil, fmt.Errorf("child %d produced no output", i)
			}
			wi := float32(w[i])
			for j := range out {
				out[j] += x[j] * wi
			}
		}
	case k == 1:
		x := get(0)
		if x == nil {
			return nil, fmt.Errorf("no child produced an output")
		}
		for i := range w {
			wi := float32(w[i])
			for j := range out {
				out[j] += x[j] * wi
			}
		}
	default:
		return nil, fmt.Errorf("%d of %d children have a module here: the weights cannot broadcast (the reference library fails here too)", k, len(w))
	}
	kernels.Scale(out, inv)
	return out, nil
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// ---- LoRA and (IA)^3 (LoRALinear) ----

// loraState is LoRAState: the layer input, the running adapter state (nil before the first
// module) and the plain layer output.
type loraState struct {
	x, h       []float32
	mask       []int32 // the attention mask of the rows (gates: tokenMean)
	nseq, tlen int
	last       *loraModule
}

type loraCtx struct {
	st      *State
	l       int
	s       bert.Site
	in, out int
	err     error
}

func (c *loraCtx) fail(format string, args ...any) loraState {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
	return loraState{}
}

func (c *loraCtx) module(name string) *loraModule { return c.st.m.adapters[name].lora[c.l][c.s] }

// Linear implements bert.Hooks: LoRALinear.forward.
func (st *State) Linear(l int, site bert.Site, x, out []float32, b bert.Batch) {
	m := st.m
	if st.err != nil || m.merged[l][site] != "" || !m.hasLoRA(l, site) {
		return
	}
	st.a.reset()
	st.masks = st.masks[:0]
	in, od := site.Dims(&m.Base.Config)
	c := &loraCtx{st: st, l: l, s: site, in: in, out: od}
	s := c.compose(m.active, loraState{x: x[:b.Rows()*in], mask: b.Mask[:b.Rows()], nseq: b.B, tlen: b.T}, 0)
	if c.err == nil && (s.last == nil || s.h == nil) {
		c.fail("no LoRA module applied")
	}
	if c.err != nil {
		st.fail(&SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("layer %d %s: %v", l, site, c.err)})
		return
	}
	y := out[:len(s.h)]
	switch {
	case s.last.cfg.Scale:
		for i := range y {
			y[i] *= s.h[i]
		}
	case s.last.doraScale != nil:
		s.last.doraOutput(y, s.h)
	default:
		kernels.Add(y, y, s.h)
	}
}

func (c *loraCtx) compose(b *Block, s loraState, lvl int) loraState {
	if c.err != nil {
		return s
	}
	switch b.Kind {
	case Single:
		return c.single(b.Name, s)
	case Stack:
		for _, ch := range b.Children {
			if ch.Kind != Single {
				s = c.compose(ch, s, lvl+1)
			} else if c.module(ch.Name) != nil {
				s = c.single(ch.Name, s)
			}
		}
		return s
	case Fuse, Split:
		// compose_fuse / compose_split of ComposableAdapterLayerBase: LoRALinear has none, so a
		// block is passed over where none of its adapters has a LoRA module at this site (a Fuse
		// of bottleneck adapters stacked on a LoRA), and raises NotImplementedError where one has.
		c.st.flat = b.flatten(c.st.flat[:0])
		for _, n := range c.st.flat {
			if c.module(n) != nil {
				return c.fail("unsupported: %s over %s, which has a LoRA/(IA)^3 module here (the reference library raises NotImplementedError)", b.Kind, n)
			}
		}
		return s
	case BatchSplit:
		if sum(b.Sizes) != s.nseq {
			return c.fail("the batch has %d sequences, not the sum of batch_sizes %v", s.nseq, b.Sizes)
		}
		return c.slices(b, s, b.Sizes, lvl)
	case Parallel:
		n := len(b.Children)
		if s.nseq%n != 0 {
			return c.fail("batch of %d not divisible by %d parallel channels", s.nseq, n)
		}
		return c.slices(b, s, c.st.equalSizes(n, s.nseq/n), lvl)
	case Average:
		kids := c.st.loraKids[:0]
		for _, ch := range b.Children {
			switch {
			case ch.Kind != Single:
				kids = append(kids, c.compose(ch, s, lvl+1))
			case c.module(ch.Name) != nil:
				kids = append(kids, c.single(ch.Name, s))
			}
			if c.err != nil {
				return s
			}
		}
		c.st.loraKids = kids
		if len(kids) == 0 || kids[0].h == nil {
			return c.fail("%s: no LoRA state to average", b)
		}
		h, err := mean(&c.st.a, len(kids[0].h), b.Weights, len(kids), func(i int) []float32 { return kids[i].h })
		if err != nil {
			return c.fail("%s: %v", b, err)
		}
		s.h, s.last = h, kids[len(kids)-1].last
		return s
	case MultiTask:
		// compose_multi_task: the rows sorted by task id, a BatchSplit of the children, the rows
		// put back (LoRALinear has no pre_block).
		order, sizes, err := c.st.taskOrder(b, s.nseq)
		if err != nil {
			return c.fail("%v", err)
		}
		T := s.tlen
		ps := loraState{x: c.st.permuteRows(s.x, order, T*c.in, false), h: c.st.permuteRows(s.h, order, T*c.out, false),
			mask: c.st.permuteMask(s.mask, order, T), nseq: s.nseq, tlen: T, last: s.last}
		out := c.slices(b, ps, sizes, lvl)
		if c.err != nil {
			return s
		}
		s.h, s.last = c.st.permuteRows(out.h, order, T*c.out, true), out.last
		return s
	}
	return c.fail("unknown block %v", b.Kind)
}

func (c *loraCtx) single(name string, s loraState) loraState {
	m := c.module(name)
	h := m.apply(&c.st.a, s.h, s.x, s.mask, s.nseq, s.tlen)
	if h == nil {
		return c.fail("stacked LoRA %s: input width does not match", name)
	}
	s.h, s.last = h, m
	return s
}

func (c *loraCtx) slices(b *Block, s loraState, sizes []int, lvl int) loraState {
	if err := batchSplitChildren(b); err != nil {
		return c.fail("%v", err)
	}
	T := s.tlen
	var hout []float32
	var last *loraModule
	s0 := 0
	for i, ch := range b.Children {
		n := sizes[i]
		cs := loraState{x: s.x[s0*T*c.in : (s0+n)*T*c.in], mask: s.mask[s0*T : (s0+n)*T], nseq: n, tlen: T, last: s.last}
		if s.h != nil {
			cs.h = s.h[s0*T*c.out : (s0+n)*T*c.out]
		}
		switch {
		case ch.Kind != Single:
			cs = c.compose(ch, cs, lvl+1)
		case c.module(ch.Name) != nil:
			cs = c.single(ch.Name, cs)
		}
		if c.err != nil {
			return s
		}
		if cs.h == nil {
			return c.fail("%s: branch %s has no LoRA module at this layer while another has (the reference library fails here too)", b.Kind, ch)
		}
		if hout == nil {
			hout = c.st.a.get(s.nseq * T * c.out)
		}
		copy(hout[s0*T*c.out:(s0+n)*T*c.out], cs.h)
		last = cs.last
		s0 += n
	}
	s.h, s.last = hout, last
	return s
}

// ---- prefix tuning (PrefixTuningLayer) ----

// Prefix implements bert.Hooks: the prefixes of the active setup, per sequence, newest first;
// a gated prefix (UniPELT) scaled per sequence by its gates on the layer input x.
func (st *State) Prefix(l int, x []float32, b bert.Batch) (int, []float32, []float32) {
	m := st.m
	if st.err != nil || !m.hasPrefix(l) {
		return 0, nil, nil
	}
	if cap(st.seqPre) < b.B {
		st.seqPre = make([][]*prefixModule, b.B)
	}
	st.seqPre = st.seqPre[:b.B]
	for i := range st.seqPre {
		st.seqPre[i] = st.seqPre[i][:0]
	}
	if err := st.prefixWalk(m.active, l, 0, b.B); err != nil {
		st.fail(&SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("layer %d prefix tuning: %v", l, err)})
		return 0, nil, nil
	}
	n := -1
	for _, ps := range st.seqPre {
		k := 0
		for _, p := range ps {
			k += p.n
		}
		if n >= 0 && k != n {
			st.fail(&UnsupportedError{What: "prefixes of different lengths in one batch (Parallel/BatchSplit branches); the reference library pads them with pad_token_id keys"})
			return 0, nil, nil
		}
		n = k
	}
	if n <= 0 {
		return 0, nil, nil
	}
	H := m.Base.Config.HiddenSize
	need := b.B * n * H
	if cap(st.pk) < need {
		st.pk, st.pv = make([]float32, need), make([]float32, need)
	}
	st.pk, st.pv = st.pk[:need], st.pv[:need]
	st.a.reset()
	for s, ps := range st.seqPre {
		off := s * n * H
		for i := len(ps) - 1; i >= 0; i-- { // the last applied prefix comes first
			p := ps[i]
			copy(st.pk[off:], p.keys[l])
			copy(st.pv[off:], p.values[l])
			if p.gates != nil && p.gates[l] != nil {
				var mask []int32
				if b.Mask != nil {
					mask = b.Mask[s*b.T : (s+1)*b.T]
				}
				gk, gv := p.gate(&st.a, l, x[s*b.T*H:(s+1)*b.T*H], mask, b.T)
				kernels.Scale(st.pk[off:off+p.n*H], gk)
				kernels.Scale(st.pv[off:off+p.n*H], gv)
			}
			off += p.n * H
		}
	}
	return n, st.pk, st.pv
}

func (st *State) prefixWalk(b *Block, l, s0, s1 int) error {
	m := st.m
	has := func(name string) *prefixModule {
		if p := m.adapters[name].prefix; p != nil && p.keys[l] != nil {
			return p
		}
		return nil
	}
	anyIn := func(b *Block) bool {
		for _, n := range b.flatten(nil) {
			if has(n) != nil {
				return true
			}
		}
		return false
	}
	switch b.Kind {
	case Single:
		if p := has(b.Name); p != nil {
			for s := s0; s < s1; s++ {
				st.seqPre[s] = append(st.seqPre[s], p)
			}
		}
	case Stack:
		for _, ch := range b.Children {
			if err := st.prefixWalk(ch, l, s0, s1); err != nil {
				return err
			}
		}
	case Parallel, BatchSplit:
		sizes := b.Sizes
		if b.Kind == Parallel {
			n := len(b.Children)
			if (s1-s0)%n != 0 {
				return fmt.Errorf("batch of %d not divisible by %d parallel channels", s1-s0, n)
			}
			sizes = st.equalSizes(n, (s1-s0)/n)
		} else if sum(sizes) != s1-s0 {
			return fmt.Errorf("the batch has %d sequences, not the sum of batch_sizes %v", s1-s0, sizes)
		}
		lo := s0
		for i, ch := range b.Children {
			if err := st.prefixWalk(ch, l, lo, lo+sizes[i]); err != nil {
				return err
			}
			lo += sizes[i]
		}
	case MultiTask:
		// compose_multi_task passes over a block without a prefix here (Stack(prefix,
		// MultiTask(lora_a,lora_b)) runs) and fails where a child has one (TypeError in the library).
		if anyIn(b) {
			return &UnsupportedError{What: "MultiTask with prefix tuning (the reference library fails: TypeError)"}
		}
	case Average:
		// compose_average ends in PrefixTuningLayer.mean, which raises NotImplementedError
		// whether or not a child has a prefix in this layer (Stack(prefix, Average(a, b)) too).
		return &UnsupportedError{What: "Average with prefix tuning (the reference library raises NotImplementedError)"}
	default:
		// Fuse, Split: compose_fuse / compose_split pass over a block without a prefix here.
		if anyIn(b) {
			return &UnsupportedError{What: b.Kind.String() + " with prefix tuning (the reference library raises NotImplementedError)"}
		}
	}
	return nil
}

// batchSplitChildren is check_composition_valid for the children of a BatchSplit, which
// compose_multi_task builds from a MultiTask's children: a Fuse child, allowed in MultiTask, is
// refused there (the library raises ValueError). Other blocks were checked by ParseSetup.
func batchSplitChildren(b *Block) error {
	if b.Kind != MultiTask {
		return nil
	}
	for _, ch := range b.Children {
		if !slices.Contains(allowedNestings[BatchSplit], ch.Kind) {
			return fmt.Errorf("cannot nest %s inside BatchSplit, which MultiTask runs its children as (the reference library raises ValueError)", ch.Kind)
		}
	}
	return nil
}

// taskOrder is the first half of compose_multi_task: task_ids.argsort() (stable here: the
// library's order among equal ids does not change any row's result) and bincount, with one size
// per child. The ids were checked against every MultiTask block of the setup by Forward; the
// batch at this layer must have one row per id (Stack(Parallel(…), MultiTask(…)) does not).
func (st *State) taskOrder(b *Block, nseq int) ([]int, []int, error) {
	ids := st.taskIDs
	if ids == nil {
		return nil, nil, fmt.Errorf("MultiTask needs task ids, one per sequence (task_ids)")
	}
	if len(ids) != nseq {
		return nil, nil, fmt.Errorf("%d task ids for %d sequences at this layer", len(ids), nseq)
	}
	n := len(b.Children)
	if cap(st.taskSizes) < n {
		st.taskSizes = make([]int, n)
	}
	st.taskSizes = st.taskSizes[:n]
	clear(st.taskSizes)
	for _, id := range ids {
		if id < 0 || id >= n {
			return nil, nil, fmt.Errorf("task id %d out of range for %d tasks", id, n)
		}
		st.taskSizes[id]++
	}
	st.taskOrd = st.taskOrd[:0]
	for t := 0; t < n; t++ {
		for i, id := range ids {
			if id == t {
				st.taskOrd = append(st.taskOrd, i)
			}
		}
	}
	return st.taskOrd, st.taskSizes, nil
}

// permuteRows returns x's rows (of width w) in the order given (row i of the result is row
// order[i] of x), or with inverse the rows put back (row order[i] of the result is row i of x),
// in the arena. nil stays nil.
func (st *State) permuteRows(x []float32, order []int, w int, inverse bool) []float32 {
	if x == nil {
		return nil
	}
	y := st.a.get(len(x))
	for i, j := range order {
		if inverse {
			copy(y[j*w:(j+1)*w], x[i*w:(i+1)*w])
		} else {
			copy(y[i*w:(i+1)*w], x[j*w:(j+1)*w])
		}
	}
	return y
}

// permuteMask is permuteRows for the attention mask (T tokens per sequence), in the State's masks.
func (st *State) permuteMask(mask []int32, order []int, T int) []int32 {
	start := len(st.masks)
	for _, j := range order {
		st.masks = append(st.masks, mask[j*T:(j+1)*T]...)
	}
	return st.masks[start:len(st.masks):len(st.masks)]
}

// equalSizes returns n copies of each in a scratch slice of the State (Parallel's slices).
func (st *State) equalSizes(n, each int) []int {
	if cap(st.sizes) < n {
		st.sizes = make([]int, n)
	}
	st.sizes = st.sizes[:n]
	for i := range st.sizes {
		st.sizes[i] = each
	}
	return st.sizes
}
