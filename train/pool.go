package train

// pool hands out float32 buffers for one step's activations and takes them all back at the
// next step (reset), so that steps of the same shape allocate nothing after the first. It also
// counts what one step holds, the figure Options.MaxActivationBytes bounds.
type pool struct {
	bufs [][]float32
	next int
	held int64 // floats handed out since reset
}

func (p *pool) reset() { p.next, p.held = 0, 0 }

// get returns a zeroed buffer of n floats.
func (p *pool) get(n int) []float32 {
	p.held += int64(n)
	if p.next < len(p.bufs) && cap(p.bufs[p.next]) >= n {
		b := p.bufs[p.next][:n]
		clear(b)
		p.next++
		return b
	}
	b := make([]float32, n)
	if p.next < len(p.bufs) {
		p.bufs[p.next] = b
	} else {
		p.bufs = append(p.bufs, b)
	}
	p.next++
	return b
}

// clone returns a pooled copy of x.
func (p *pool) clone(x []float32) []float32 {
	b := p.get(len(x))
	copy(b, x)
	return b
}
