package adapters

import (
	"fmt"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// MaxPHMValues bounds the dense matrix a PHM layer expands to (in_features·out_features).
const MaxPHMValues = 1 << 24

// PHMConfig holds the phm_* fields of BnConfig (Compacter, Compacter++): the bottleneck's down
// and up projections are parameterized hypercomplex multiplication layers.
type PHMConfig struct {
	Dim, Rank      int  // phm_dim, phm_rank
	FactorizedW    bool // factorized_phm_W: W = W_left·W_right
	SharedW        bool // shared_W_phm: one W_down/W_up for every layer (shared_parameters.NAME)
	SharedRule     bool // shared_phm_rule: one rule for the whole adapter
	FactorizedRule bool // factorized_phm_rule: rule = rule_left·rule_right
	Bias           bool // phm_bias
}

// bindPHM binds a PHMLayer (adapters/methods/modeling.py) of `in` → `out` features under p, its
// shared parameters (init_shared_parameters) under shared, and returns it as the dense linear it
// computes: y = x·H + b with H = Σᵢ ruleᵢ ⊗ Wᵢ [in, out] (kronecker_product(...).sum(0)), so the
// weight [out, in] is Hᵀ. pos is "down" or "up" (the names of the shared W). Everything depends on
// weights only, so H is built once here.
func bindPHM(bd *binder, p, shared, pos string, c *PHMConfig, in, out int) bert.Linear {
	var l bert.Linear
	n := c.Dim
	if n <= 0 || in%n != 0 || out%n != 0 {
		bd.problem(fmt.Sprintf("%s: phm_dim %d does not divide in_features %d and out_features %d (the reference library asserts)", p, n, in, out))
		return l
	}
	if in*out > MaxPHMValues {
		// The dense matrix is in·out values while the file holds only n·(in+out)/n·rank of them:
		// bound it before a tiny reduction factor turns a small file into gigabytes.
		bd.problem(fmt.Sprintf("%s: a %d×%d PHM layer exceeds %d values", p, in, out, MaxPHMValues))
		return l
	}
	ki, ko := in/n, out/n
	// W: [n, in/n, out/n]
	var W []float32
	wp := p
	wname := "W"
	if c.SharedW {
		wp, wname = shared, "W_"+pos
	}
	if c.FactorizedW {
		left := bd.vec(wp+wname+"_left", n, ki, c.Rank)
		right := bd.vec(wp+wname+"_right", n, c.Rank, ko)
		if left != nil && right != nil {
			W = bmm(left, right, n, ki, c.Rank, ko)
		}
	} else {
		W = bd.vec(wp+wname, n, ki, ko)
	}
	// rule: [n, n, n]
	var rule []float32
	rp := p
	if c.SharedRule {
		rp = shared
	}
	if c.FactorizedRule {
		left := bd.vec(rp+"phm_rule_left", n, n, 1)
		right := bd.vec(rp+"phm_rule_right", n, 1, n)
		if left != nil && right != nil {
			rule = bmm(left, right, n, n, 1, n)
		}
	} else {
		rule = bd.vec(rp+"phm_rule", n, n, n)
	}
	if c.Bias {
		l.B = bd.vec(p+"b", out)
	}
	if W == nil || rule == nil {
		return l
	}
	// H[r*ki+s, q*ko+t] = Σᵢ rule[i, r, q]·W[i, s, t]; the weight is Hᵀ [out, in].
	wt := make([]float32, out*in)
	for r := 0; r < n; r++ {
		for q := 0; q < n; q++ {
			for s := 0; s < ki; s++ {
				for t := 0; t < ko; t++ {
					var sum float32
					for i := 0; i < n; i++ {
						sum += rule[(i*n+r)*n+q] * W[(i*ki+s)*ko+t]
					}
					wt[(q*ko+t)*in+r*ki+s] = sum
				}
			}
		}
	}
	l.W = kernels.NewF32(out, in, wt)
	return l
}

// bmm is torch.bmm of a [b, m, k] and c [b, k, n].
func bmm(a, c []float32, b, m, k, n int) []float32 {
	out := make([]float32, b*m*n)
	for i := 0; i < b; i++ {
		copy(out[i*m*n:], matMul(a[i*m*k:(i+1)*m*k], c[i*k*n:(i+1)*k*n], m, k, n))
	}
	return out
}
