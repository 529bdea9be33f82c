package train

import (
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// mulN computes dx[rows, in] = dy[rows, out]·W for a frozen weight W [out, in] in any storage
// (the backward of y = x·Wᵀ): f32 directly, f16 and q8 dequantized into scratch (out·in values),
// then gemmN. The reference it is tested against is mulNRef. The trainer calls Trainer.mulN,
// which keeps the dequantized weights between steps.
func mulN(dx, dy []float32, w kernels.Matrix, rows int, scratch *[]float32) {
	out, in := w.Dims()
	gemmN(dx, dy, dequantize(w, scratch), rows, out, in)
}

// dequantize returns W [out, in] as f32: the matrix's own values when it is f32, else W
// dequantized into (*scratch), grown as needed.
func dequantize(w kernels.Matrix, scratch *[]float32) []float32 {
	out, in := w.Dims()
	switch m := w.(type) {
	case *kernels.F32:
		return m.W
	case *kernels.F16:
		wf := grow(scratch, out*in)
		m.Dequantize(wf)
		return wf
	case *kernels.Q8:
		wf := grow(scratch, out*in)
		m.Dequantize(wf)
		return wf
	}
	r, ok := w.(kernels.Rows)
	if !ok {
		panic("train: weight matrix without rows")
	}
	wf := grow(scratch, out*in)
	for o := 0; o < out; o++ {
		r.Row(wf[o*in:(o+1)*in], o)
	}
	return wf
}

// gemmN is dx[rows, in] = dy[rows, out]·wf[out, in]: kernels.GemmNN (the Wasm SIMD sgemm_nn when
// in use), else gemmNN4.
func gemmN(dx, dy, wf []float32, rows, out, in int) {
	if kernels.SIMD() {
		kernels.GemmNN(dx, in, dy, out, wf, in, rows, out, in)
		return
	}
	gemmNN4(dx, dy, wf, rows, out, in)
}

// DefaultMaxDequantizedBytes bounds the f32 copies of a q8 or f16 base's weights a Trainer keeps
// for the backward products (Options.MaxDequantizedBytes): dequantizing every frozen matrix
// again at every step took a quarter to a third of a MiniLM q8 step in Wasm (plain Go, 10.6 M
// values a step). MiniLM-L6's encoder needs 42 MB of copies; BERT-base's 340 MB, more than the
// default, so it dequantizes per product as before (in one scratch buffer).
const DefaultMaxDequantizedBytes = 128 << 20

// mulN is mulN with the trainer's dequantized copies: a q8 or f16 matrix is dequantized once and
// kept while the copies stay within Opt.MaxDequantizedBytes, else into t.scratch per call. The
// values are the same either way.
func (t *Trainer) mulN(dx, dy []float32, w kernels.Matrix, rows int) {
	out, in := w.Dims()
	var key any // the *Q8 or *F16 (pointers: comparable); other storages are not kept
	switch m := w.(type) {
	case *kernels.Q8:
		key = m
	case *kernels.F16:
		key = m
	}
	wf, ok := t.dequant[key]
	if !ok {
		if key == nil || t.dequantBytes+4*int64(out*in) > t.Opt.MaxDequantizedBytes {
			gemmN(dx, dy, dequantize(w, &t.scratch), rows, out, in)
			return
		}
		wf = dequantize(w, new([]float32))
		if t.dequant == nil {
			t.dequant = map[any][]float32{}
		}
		t.dequant[key] = wf
		t.dequantBytes += 4 * int64(out*in)
	}
	gemmN(dx, dy, wf, rows, out, in)
}

// gemmNN4 is dx[rows, in] = dy[rows, out]·w[out, in] in plain Go, four rows of dx at a time, so
// that each row of w is read once per four rows (kernels.GemmNNRef reads all of w per row: 2×
// slower on MiniLM's shapes, where w does not fit in cache).
func gemmNN4(dx, dy, w []float32, rows, out, in int) {
	i := 0
	for ; i+4 <= rows; i += 4 {
		d0 := dx[i*in : (i+1)*in]
		d1 := dx[(i+1)*in : (i+2)*in]
		d2 := dx[(i+2)*in : (i+3)*in]
		d3 := dx[(i+3)*in : (i+4)*in]
		clear(dx[i*in : (i+4)*in])
		y0, y1, y2, y3 := dy[i*out:(i+1)*out], dy[(i+1)*out:(i+2)*out], dy[(i+2)*out:(i+3)*out], dy[(i+3)*out:(i+4)*out]
		for o := 0; o < out; o++ {
			a0, a1, a2, a3 := y0[o], y1[o], y2[o], y3[o]
			if a0 == 0 && a1 == 0 && a2 == 0 && a3 == 0 {
				continue
			}
			wr := w[o*in : (o+1)*in]
			d0, d1, d2, d3 := d0[:len(wr)], d1[:len(wr)], d2[:len(wr)], d3[:len(wr)]
			for j, v := range wr {
				d0[j] += float32(a0 * v) // not fused: sgemm_nn multiplies, then adds
				d1[j] += float32(a1 * v)
				d2[j] += float32(a2 * v)
				d3[j] += float32(a3 * v)
			}
		}
	}
	if i < rows {
		kernels.GemmNNRef(dx[i*in:], in, dy[i*out:], out, w, in, rows-i, out, in)
	}
}

// mulNRef is the plain-Go oracle of mulN: each row of W dequantized by Row, summed in float64.
func mulNRef(dx, dy []float32, w kernels.Matrix, rows int) {
	out, in := w.Dims()
	r := w.(kernels.Rows)
	row := make([]float32, in)
	acc := make([]float64, rows*in)
	for o := 0; o < out; o++ {
		r.Row(row, o)
		for i := 0; i < rows; i++ {
			g := float64(dy[i*out+o])
			a := acc[i*in : (i+1)*in]
			for k, v := range row {
				a[k] += g * float64(v)
			}
		}
	}
	for i := range acc {
		dx[i] = float32(acc[i])
	}
}

// grow returns (*s)[:n], reallocating when it is too short.
func grow(s *[]float32, n int) []float32 {
	if cap(*s) < n {
		*s = make([]float32, n)
	}
	*s = (*s)[:n]
	return *s
}

// matT computes y[rows, out] = x[rows, in]·wᵀ for a small trainable w [out, in].
func matT(y, x []float32, rows, in int, w []float32, out int) {
	kernels.MatMulT(y[:rows*out], x[:rows*in], rows, in, w, out)
}

// matN computes dx[rows, in] = dy[rows, out]·w for a trainable w [out, in], with gemmN (the
// Wasm SIMD sgemm_nn when in use: the adapters' up/down projections, LoRA's and the head's).
func matN(dx, dy []float32, rows, out int, w []float32, in int) {
	gemmN(dx, dy, w, rows, out, in)
}

// addOuter accumulates dw[out, in] += dyᵀ·x over rows (the weight gradient of y = x·wᵀ) and,
// when db is not nil, db[out] += Σ_rows dy.
func addOuter(dw, db, dy, x []float32, rows, out, in int) {
	for r := 0; r < rows; r++ {
		yr := dy[r*out : (r+1)*out]
		xr := x[r*in : (r+1)*in]
		for o, g := range yr {
			if g == 0 {
				continue
			}
			d := dw[o*in : (o+1)*in]
			for k, v := range xr {
				d[k] += g * v
			}
			if db != nil {
				db[o] += g
			}
		}
	}
}

// addTo accumulates dst += src.
func addTo(dst, src []float32) {
	for i, v := range src[:len(dst)] {
		dst[i] += v
	}
}
