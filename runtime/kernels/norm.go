package kernels

import "math"

// LayerNorm normalizes each row of x[rows,n] into dst (which may alias x):
// dst = (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance, as
// torch.nn.functional.layer_norm. Statistics accumulate in float64.
func LayerNorm(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	n := len(gamma)
	for i := 0; i < rows; i++ {
		r := x[i*n : i*n+n]
		d := dst[i*n : i*n+n]
		var sum float64
		for _, v := range r {
			sum += float64(v)
		}
		mean := sum / float64(n)
		var ss float64
		for _, v := range r {
			c := float64(v) - mean
			ss += c * c
		}
		inv := 1 / math.Sqrt(ss/float64(n)+float64(eps))
		m32, inv32 := float32(mean), float32(inv)
		for j, v := range r {
			d[j] = (v-m32)*inv32*gamma[j] + beta[j]
		}
	}
}

// Softmax replaces x with softmax(x), subtracting the max first for stability.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}
