package adapters

import (
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// prefixModule is PrefixTuning / FlatPrefixTuning of adapters/methods/prefix_tuning.py for
// BERT's self-attention ("self_prefix"). Its output does not depend on the input, so the key
// and value prefixes of every layer are computed once, at load time.
type prefixModule struct {
	n            int         // prefix_length
	keys, values [][]float32 // per encoder layer: [n, hidden], nil where left out
}

// bindPrefix reads the pool weights under p ("prefix_tuning.prefix_tunings.NAME.self_prefix.")
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
