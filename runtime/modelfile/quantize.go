package modelfile

import (
	"fmt"
	"math"

	"github.com/x448/float16"
)

// Scale search of quantizeQ8: the candidate scales of a block are amax/n for n from
// 127-searchSteps·searchStep to 127+searchSteps·searchStep, each rounded to f16, then
// least-squares refits of the best so far.
const (
	searchSteps  = 20
	searchStep   = 0.5
	searchRefits = 1
)

// quantizeQ8 quantizes w [out, in] to int8 with one f16 scale per block of block consecutive
// weights of a row (block divides in), in the planar layout of the file: q [out, in] and
// scale [out, in/block], every scale exactly representable in f16.
//
// The values are ggml's Q8_0 numerics (W ≈ d·q, q in [-127, 127]) and read by the same kernels;
// only the choice of d differs. ggml takes d = amax/127; quantizeQ8 tries a few scales around it
// and keeps, per block, the one whose rounding gives the smallest squared error Σ(w - d·q)², as
// llama.cpp's make_qx_quants does for its k-quants: the candidates amax/n for n in
// 117, 117.5, …, 137 (a scale below amax/127 clips the largest weight a little and gives every
// other weight finer steps), then a least-squares refit d = Σw·q/Σq² of the best one (and its f16
// neighbours). amax/127 is always a candidate, so no block is worse than ggml's. On MiniLM's
// linear weights this lowers the relative RMS error from 0.565% to 0.500% (measured by
// runtime/pretrained TestMiniLMQ8BlockChoice), and the encoder output error by 10%.
func quantizeQ8(w []float32, out, in, block int) (q []int8, scale []float32) {
	if block <= 0 || in%block != 0 || len(w) != out*in {
		panic(fmt.Sprintf("modelfile: quantizeQ8: out %d in %d block %d len %d", out, in, block, len(w)))
	}
	q = make([]int8, out*in)
	scale = make([]float32, out*(in/block))
	tmp := make([]int8, block)
	for b := range scale {
		scale[b] = quantizeBlock(w[b*block:(b+1)*block], q[b*block:(b+1)*block], tmp)
	}
	return q, scale
}

// quantizeBlock writes the int8 values of x into q and returns their f16-exact scale; tmp is
// scratch of len(x).
func quantizeBlock(x []float32, q, tmp []int8) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := f16Round(amax / 127)
	best := roundBlock(x, d, q)
	if amax == 0 || best == 0 {
		return d
	}
	try := func(c float32) {
		if !(c > 0) || math.IsInf(float64(c), 0) || c == d { // NaN, 0 or ∞ from the refit
			return
		}
		if se := roundBlock(x, c, tmp); se < best {
			best, d = se, c
			copy(q, tmp)
		}
	}
	for s := -searchSteps; s <= searchSteps; s++ {
		if s != 0 {
			try(f16Round(amax / float32(127+searchStep*float64(s))))
		}
	}
	for range searchRefits {
		var wq, qq float64
		for k, v := range x {
			wq += float64(v) * float64(q[k])
			qq += float64(q[k]) * float64(q[k])
		}
		h := float16.Fromfloat32(float32(wq / qq))
		for _, c := range []float16.Float16{h - 1, h, h + 1} {
			try(c.Float32())
		}
	}
	return d
}

// roundBlock sets q = clamp(round(x/d), -127, 127) and returns Σ(x - d·q)².
func roundBlock(x []float32, d float32, q []int8) float64 {
	var id float32
	if d != 0 {
		id = 1 / d
	}
	var se float64
	for k, v := range x {
		r := roundHalfAway(v * id)
		if r > 127 {
			r = 127
		} else if r < -127 {
			r = -127
		}
		q[k] = int8(r)
		e := float64(v) - float64(d)*r
		se += e * e
	}
	return se
}

// roundHalfAway is math.Round(float64(x)) (half away from zero) from instructions Go compiles
// inline on every target (f64.trunc and copysign under Wasm, where math.Round is a call into bit
// arithmetic and the builtin min/max a NaN-aware sequence): with the plain comparisons of
// roundBlock, the Wasm module's q8 conversion of MiniLM runs in 7 s instead of 25 s. x+0.5 is
// exact in float64 for every float32 x below 2^52, so nothing rounds across an integer
// (TestRoundHalfAway checks the half-integers' neighbourhoods and ran once on all 2^32 float32s).
func roundHalfAway(x float32) float64 {
	r := float64(x)
	return math.Trunc(r + math.Copysign(0.5, r))
}

// f16Round rounds x to the nearest float16 (as it will be stored) and widens it back.
func f16Round(x float32) float32 { return float16.Fromfloat32(x).Float32() }
