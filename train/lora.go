package train

import (
	"math"

	"github.com/adapterwasm/adapterwasm/adapters"
)

// loraModule is LoRA or (IA)^3 (adapters/methods/lora.py LoRA, IA3) on one frozen linear,
// as LoRALinear.forward composes it (composition_mode "add": y + s·x·Aᵀ·Bᵀ; "scale":
// y ⊙ (B·alpha)), with its backward.
type loraModule struct {
	ia3     bool
	r       int
	in, out int
	scaling float32
	A, B    *Param // lora_A [r, in] (LoRA only), lora_B [out, r] (IA3: [out, 1])
}

func newLoRAModule(cfg *adapters.LoRAConfig, prefix string, in, out int) *loraModule {
	m := &loraModule{ia3: cfg.Scale, r: cfg.R, in: in, out: out}
	if m.ia3 {
		m.scaling = float32(cfg.Alpha)
		m.B = newParam(prefix+"lora_B", out, 1)
		return m
	}
	m.scaling = float32(cfg.Alpha / float64(cfg.R))
	m.A = newParam(prefix+"lora_A", cfg.R, in)
	m.B = newParam(prefix+"lora_B", out, cfg.R)
	return m
}

func (m *loraModule) params() []*Param {
	if m.ia3 {
		return []*Param{m.B}
	}
	return []*Param{m.A, m.B}
}

// init is LoRA.__init__ / IA3.__init__ after fix_seed(seed): init_weights "lora" (A
// kaiming-uniform with a = √5, B zero), "bert" (both normal, std 0.02), "ia3" (ones).
func (m *loraModule) init(kind string, seed uint64) {
	r := newTorchRNG(seed)
	switch kind {
	case "bert":
		if m.A != nil {
			r.normal(m.A.W, 0, 0.02)
		}
		r.normal(m.B.W, 0, 0.02)
	case "ia3":
		if m.A != nil {
			m.A.fill(1)
		}
		m.B.fill(1)
	default: // "lora"
		if m.A != nil {
			r.kaimingUniform(m.A.W, m.in, math.Sqrt(5))
		}
		clear(m.B.W)
	}
}

// loraActs keeps the module's input and its low-rank projection (LoRA) or the frozen output
// before scaling (IA3).
type loraActs struct {
	x, t, y0 []float32
}

// forward changes y [rows, out] = x·Wᵀ + b in place.
func (m *loraModule) forward(la *loraActs, x, y []float32, rows int, p *pool) {
	if m.ia3 {
		la.y0 = p.clone(y)
		for r := 0; r < rows; r++ {
			row := y[r*m.out : (r+1)*m.out]
			for j := range row {
				row[j] *= m.B.W[j] * m.scaling
			}
		}
		return
	}
	la.x = p.clone(x[:rows*m.in])
	la.t = p.get(rows * m.r)
	matT(la.t, la.x, rows, m.in, m.A.W, m.r)
	d := p.get(rows * m.out)
	matT(d, la.t, rows, m.r, m.B.W, m.out)
	for i, v := range d {
		y[i] += v * m.scaling
	}
}

// backward turns dy = ∂L/∂y into ∂L/∂(x·Wᵀ+b) in place, adds the module's path to ∂L/∂x into
// dx, and accumulates its parameter gradients.
func (m *loraModule) backward(la *loraActs, dy, dx []float32, rows int, p *pool) {
	if m.ia3 {
		for r := 0; r < rows; r++ {
			row := dy[r*m.out : (r+1)*m.out]
			y0 := la.y0[r*m.out : (r+1)*m.out]
			for j, g := range row {
				m.B.G[j] += g * y0[j] * m.scaling
				row[j] = g * m.B.W[j] * m.scaling
			}
		}
		return
	}
	ds := p.get(rows * m.out)
	for i, g := range dy[:rows*m.out] {
		ds[i] = g * m.scaling
	}
	addOuter(m.B.G, nil, ds, la.t, rows, m.out, m.r)
	dt := p.get(rows * m.r)
	matN(dt, ds, rows, m.out, m.B.W, m.r)
	addOuter(m.A.G, nil, dt, la.x, rows, m.r, m.in)
	dxm := p.get(rows * m.in)
	matN(dxm, dt, rows, m.r, m.A.W, m.in)
	addTo(dx, dxm)
}
