package bert

import "math"

// MeanPool writes into dst[B, hidden] the mean of each sequence's hidden states over its real
// tokens (attention mask 1), as sentence-transformers' Pooling(mode="mean") does. mask nil = all real.
func MeanPool(dst, hidden []float32, mask []int32, B, T, H int) {
	for b := 0; b < B; b++ {
		d := dst[b*H : (b+1)*H]
		for j := range d {
			d[j] = 0
		}
		n := 0
		for t := 0; t < T; t++ {
			if mask != nil && mask[b*T+t] == 0 {
				continue
			}
			n++
			h := hidden[(b*T+t)*H : (b*T+t+1)*H]
			for j, v := range h {
				d[j] += v
			}
		}
		// sentence-transformers clamps the token count at 1e-9: an all-padding row stays zero.
		if n > 0 {
			inv := 1 / float32(n)
			for j := range d {
				d[j] *= inv
			}
		}
	}
}

// CLSPool writes the first token's hidden state of each sequence into dst[B, hidden].
func CLSPool(dst, hidden []float32, B, T, H int) {
	for b := 0; b < B; b++ {
		copy(dst[b*H:(b+1)*H], hidden[b*T*H:b*T*H+H])
	}
}

// Normalize scales each row of x[rows, n] to unit L2 norm (torch.nn.functional.normalize,
// eps 1e-12).
func Normalize(x []float32, rows, n int) {
	for r := 0; r < rows; r++ {
		v := x[r*n : (r+1)*n]
		var ss float64
		for _, f := range v {
			ss += float64(f) * float64(f)
		}
		norm := math.Max(math.Sqrt(ss), 1e-12)
		inv := float32(1 / norm)
		for i := range v {
			v[i] *= inv
		}
	}
}
