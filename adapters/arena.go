package adapters

// arena hands out float32 scratch slices for one hook call and takes them all back at reset.
// Chunks are kept across resets, so once a batch shape has been seen nothing is allocated:
// the composition code may "allocate" freely, as the library creates new tensors, without
// allocating in the steady state.
type arena struct {
	chunks [][]float32
	cur    int // chunk in use
	off    int // next free float in chunks[cur]
}

func (a *arena) reset() { a.cur, a.off = 0, 0 }

// get returns n floats of scratch (not zeroed).
func (a *arena) get(n int) []float32 {
	for a.cur < len(a.chunks) {
		c := a.chunks[a.cur]
		if a.off+n <= len(c) {
			s := c[a.off : a.off+n : a.off+n]
			a.off += n
			return s
		}
		a.cur++
		a.off = 0
	}
	size := 1 << 16
	if len(a.chunks) > 0 {
		size = 2 * len(a.chunks[len(a.chunks)-1])
	}
	for size < n {
		size *= 2
	}
	a.chunks = append(a.chunks, make([]float32, size))
	a.off = n
	return a.chunks[a.cur][:n:n]
}

// zeros returns n zeroed floats of scratch.
func (a *arena) zeros(n int) []float32 {
	s := a.get(n)
	clear(s)
	return s
}

// clone returns a scratch copy of x.
func (a *arena) clone(x []float32) []float32 {
	s := a.get(len(x))
	copy(s, x)
	return s
}
