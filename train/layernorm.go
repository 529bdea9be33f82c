package train

import (
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// lnActs keeps what LayerNorm's backward needs: the normalized input x̂ and 1/σ per row.
type lnActs struct {
	xhat, rstd []float32
}

// lnForward writes LayerNorm(x) into dst (may alias x) and keeps x̂ and 1/σ in a (nn.LayerNorm:
// biased variance, eps inside the square root; statistics in float64).
func lnForward(a *lnActs, dst, x []float32, rows int, ln *bert.LayerNorm, pool *pool) {
	H := len(ln.Weight)
	a.xhat = pool.get(rows * H)
	a.rstd = pool.get(rows)
	for r := 0; r < rows; r++ {
		xr := x[r*H : (r+1)*H]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mean := s / float64(H)
		var q float64
		for _, v := range xr {
			d := float64(v) - mean
			q += d * d
		}
		rstd := 1 / math.Sqrt(q/float64(H)+float64(ln.Eps))
		a.rstd[r] = float32(rstd)
		xh := a.xhat[r*H : (r+1)*H]
		dr := dst[r*H : (r+1)*H]
		for j, v := range xr {
			n := float32((float64(v) - mean) * rstd)
			xh[j] = n
			dr[j] = n*ln.Weight[j] + ln.Bias[j]
		}
	}
}

// lnBackward writes dx = ∂L/∂x into dx (may alias dy) from dy = ∂L/∂y:
// dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ (kernels.LayerNormBackward: the SIMD
// kernel when in use, else its plain-Go twin; float64 means only for rows not a multiple of 4).
func lnBackward(dx, dy []float32, rows int, ln *bert.LayerNorm, a *lnActs) {
	kernels.LayerNormBackward(dx, dy, rows, ln.Weight, a.xhat, a.rstd)
}
