package adapters

import (
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// FusionConfig is AdapterFusionConfig (adapters/configuration/adapter_fusion_config.py).
type FusionConfig struct {
	Key, Query, Value  bool
	QueryBeforeLn      bool
	ResidualBefore     bool
	Temperature        bool
	ValueBeforeSoftmax bool
}

// fusionModule is BertFusion (adapters/methods/modeling.py) at one location of one layer.
type fusionModule struct {
	cfg               *FusionConfig
	query, key, value *bert.Linear // nil when the config switches them off; value has no bias
	// t is BertFusion.T: the softmax temperature, 50 with temperature, else 1. The library
	// lowers T by 50/1000 after every call (in eval mode too, down to 1), so its answers drift
	// with the number of calls since loading; here T stays at its value on the first call after
	// loading, so an answer never depends on the calls, batches or length groups before it
	// (adapters/README.md, "differs from the library on purpose").
	t float64
}

// fusionTemperature is BertFusion.T on the library's call-th forward pass after loading (1-based):
// 50 lowered by 0.05 per earlier call, down to 1; 1 without temperature.
func fusionTemperature(temperature bool, call int) float64 {
	if !temperature {
		return 1
	}
	t := 50.0
	for i := 1; i < call && t > 1; i++ {
		t = max(t-50.0/1000, 1) // self.T = max(self.T - self.reduction, 1.0)
	}
	return t
}

func bindFusion(bd *binder, p string, cfg *FusionConfig, H int) *fusionModule {
	m := &fusionModule{cfg: cfg, t: fusionTemperature(cfg.Temperature, 1)}
	if cfg.Query {
		l := bd.linear(p+"query", H, H, true)
		m.query = &l
	}
	if cfg.Key {
		l := bd.linear(p+"key", H, H, true)
		m.key = &l
	}
	if cfg.Value {
		l := bd.linear(p+"value", H, H, false)
		m.value = &l
	}
	return m
}

// forward is BertFusion.forward: query [rows, H], ups = the children's up-projections (each
// [rows, H]), residual [rows, H]; it returns the fused hidden states [rows, H].
func (m *fusionModule) forward(a *arena, query []float32, ups [][]float32, residual []float32, H int) []float32 {
	rows := len(query) / H
	if rows == 0 {
		return a.get(0) // an empty slice of the batch (BatchSplit with a zero batch size)
	}
	n := len(ups)
	// key and value are the same tensor in the library: residual_before adds into both.
	// Up to 8 fused adapters live on the stack; more allocate.
	var vbuf, kbuf, valbuf [8][]float32
	vals := ups
	if m.cfg.ResidualBefore {
		vals = grow2(vbuf[:0], n)
		for i, u := range ups {
			vals[i] = a.get(len(u))
			kernels.Add(vals[i], u, residual)
		}
	}
	q := query
	if m.query != nil {
		q = a.get(rows * H)
		m.query.Forward(q, query, rows)
	}
	keys := vals
	if m.key != nil {
		keys = grow2(kbuf[:0], n)
		for i, v := range vals {
			keys[i] = a.get(rows * H)
			m.key.Forward(keys[i], v, rows)
		}
	}
	values := vals
	if m.value != nil && m.cfg.ValueBeforeSoftmax {
		values = grow2(valbuf[:0], n)
		for i, v := range vals {
			values[i] = a.get(rows * H)
			m.value.Forward(values[i], v, rows)
		}
	}
	ctx := a.zeros(rows * H)
	probs := a.get(n)
	t := float32(m.t)
	for r := 0; r < rows; r++ {
		qr := q[r*H : (r+1)*H]
		for i := 0; i < n; i++ {
			probs[i] = kernels.Dot(qr, keys[i][r*H:(r+1)*H])
			if t != 1 {
				probs[i] /= t
			}
		}
		kernels.Softmax(probs)
		cr := ctx[r*H : (r+1)*H]
		for i := 0; i < n; i++ {
			vr := values[i][r*H : (r+1)*H]
			p := probs[i]
			for j := range cr {
				cr[j] += p * vr[j]
			}
		}
	}
	if m.value != nil && !m.cfg.ValueBeforeSoftmax {
		out := a.get(rows * H)
		m.value.Forward(out, ctx, rows)
		ctx = out
	}
	if !m.cfg.ResidualBefore {
		kernels.Add(ctx, ctx, residual)
	}
	return ctx
}

// grow2 returns s resized to n (allocating only if n exceeds its capacity).
func grow2(s [][]float32, n int) [][]float32 {
	if cap(s) < n {
		return make([][]float32, n)
	}
	return s[:n]
}
