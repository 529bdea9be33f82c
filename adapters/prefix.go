package adapters

import (
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// prefixModule is PrefixTuning / FlatPrefixTuning of adapters/methods/prefix_tuning.py for
// BERT's self-attention ("self_prefix"). Its output does not depend on the input, so the key
// and value prefixes of every layer are computed once, at load time.
type prefixModule struct {
	n            int         // prefix_length
	keys, values [][]float32 // per encoder layer: [n, hidden], nil where left out
	// gates are PrefixTuningLayer.prefix_gates (use_gating): per layer a Linear [1 or 2, hidden]
	// on the attention input; nil without gating.
	gates []*bert.Linear
}

// bindGates binds prefix_gates.NAME of every layer that has the prefix (PrefixTuningLayer.add_adapter).
func (m *prefixModule) bindGates(bd *binder, k *bert.Layout, name string, cfg *PrefixConfig, H int) {
	outs := 2
	if cfg.SharedGating {
		outs = 1
	}
	m.gates = make([]*bert.Linear, len(m.keys))
	for l := range m.keys {
		if m.keys[l] != nil {
			g := bd.linear(k.SelfAttentionKey(l)+".prefix_tuning.prefix_gates."+name, outs, H, true)
			m.gates[l] = &g
		}
	}
}

// gate is the gating of PrefixTuningLayer.compose_single for one sequence x [T, hidden] with
// its attention mask (nil: all real): the mean of sigmoid(gate(x)) over the sequence's real
// tokens (the library averages over its padding too; like the bottleneck and LoRA gates, this
// package leaves padding out so that a text's result does not depend on its batch: tokenMean);
// keys take output 0, values the last one.
func (m *prefixModule) gate(a *arena, l int, x []float32, mask []int32, T int) (gk, gv float32) {
	g := m.gates[l]
	outs, _ := g.W.Dims()
	y := a.get(T * outs)
	g.Forward(y, x, T)
	kernels.Sigmoid(y)
	col := a.get(T)
	for t := range col {
		col[t] = y[t*outs]
	}
	gk = tokenMean(col, mask, 0, T)
	for t := range col {
		col[t] = y[t*outs+outs-1]
	}
	return gk, tokenMean(col, mask, 0, T)
}

// bindPrefix reads the pool weights under p ("prefix_tuning.prefix_tunings.NAME.self_prefix.";
// the location is the encoder's Layout.PrefixLocation)
// and evaluates them for the layers that are not left out.
func bindPrefix(bd *binder, p string, cfg *PrefixConfig, c *bert.Config) *prefixModule {
	H, L := c.HiddenSize, c.NumHiddenLayers
	var layers []int // prefix id -> layer (PrefixTuningPool.indicate_prefix counts in layer order)
	for l := 0; l < L; l++ {
		if !leftOut(cfg.LeaveOut, l) {
			layers = append(layers, l)
		}
	}
	n, nl := cfg.PrefixLength, len(layers)
	width := nl * 2 * H
	var kv []float32 // [n, nl*2*H]
	if cfg.Flat {
		kv = bd.vec(p+"control_trans", n*width)
	} else {
		wte := bd.vec(p+"wte.weight", n, H)
		l0 := bd.linear(p+"control_trans.0", cfg.BottleneckSize, H, true)
		act := bindActivation(bd, cfg.NonLinearity, p+"control_trans.1.")
		l2 := bd.linear(p+"control_trans.2", width, cfg.BottleneckSize, true)
		if wte != nil && l0.W != nil && l0.B != nil && l2.W != nil && l2.B != nil {
			mid := make([]float32, n*cfg.BottleneckSize)
			l0.Forward(mid, wte, n)
			act(mid)
			kv = make([]float32, n*width)
			l2.Forward(kv, mid, n)
		}
	}
	if kv == nil {
		return nil
	}
	m := &prefixModule{n: n, keys: make([][]float32, L), values: make([][]float32, L)}
	for id, l := range layers {
		k := make([]float32, n*H)
		v := make([]float32, n*H)
		for t := 0; t < n; t++ {
			row := kv[t*width : (t+1)*width]
			copy(k[t*H:(t+1)*H], row[2*id*H:(2*id+1)*H])
			copy(v[t*H:(t+1)*H], row[(2*id+1)*H:(2*id+2)*H])
		}
		m.keys[l], m.values[l] = k, v
	}
	return m
}
