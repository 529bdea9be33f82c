package adapters

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// DoRA (use_dora, adapters/methods/lora.py): when the last module a LoRALinear applies has a
// magnitude m, the layer output becomes
//
//	m / ‖W₀ + ΔW‖ · (W₀x + b + h)        (compute_dora_norm, compute_dora_deltaw)
//
// where h is the composed (scaled) LoRA/VeRA state, ΔW the module's delta_w without alpha/r
// (B·A, or VeRA's product) and the norm runs over each output row of the weight. The factor
// depends on weights only, so it is computed once per module when the adapter is bound.

// rowReader is a base weight matrix that can hand out float32 rows (F32, F16, Q8).
type rowReader interface {
	Row(dst []float32, o int)
}

// bindDoRA computes doraScale from the base linear lin (as loaded: a quantized base gives the
// norms of its dequantized rows). A missing magnitude or delta was reported by the binder.
func (m *loraModule) bindDoRA(lin *bert.Linear) error {
	if m.mag == nil {
		return nil
	}
	delta := m.dense
	if delta == nil {
		if m.A == nil || m.B == nil {
			return nil
		}
		delta = matMul(m.B, m.A, m.out, m.r, m.in) // delta_w = lora_B @ lora_A
	}
	rr, ok := lin.W.(rowReader)
	if !ok {
		return &UnsupportedError{What: fmt.Sprintf("DoRA on a %T base matrix", lin.W)}
	}
	row := make([]float32, m.in)
	m.doraScale = make([]float32, m.out)
	for o := 0; o < m.out; o++ {
		rr.Row(row, o)
		var ss float64
		for i, w := range row {
			v := float64(w + delta[o*m.in+i])
			ss += v * v
		}
		m.doraScale[o] = float32(float64(m.mag[o]) / math.Sqrt(ss))
	}
	return nil
}

// doraOutput is the DoRA branch of LoRALinear.forward: y = scale ⊙ (y + h), row by row.
func (m *loraModule) doraOutput(y, h []float32) {
	for r := 0; r+m.out <= len(y); r += m.out {
		yr, hr := y[r:r+m.out], h[r:r+m.out]
		for o, s := range m.doraScale {
			yr[o] = s * (yr[o] + hr[o])
		}
	}
}
