package kernels

import (
	"fmt"
	"math"
)

// The Wasm SIMD kernels (wat/kernels.wat) and their plain-Go references.
//
// Go emits no Wasm SIMD, so the hot loops of the encoder live in a small hand-written WAT module
// that imports the Go instance's linear memory and is called through //go:wasmimport
// (simd_js.go, built with the wasmsimd tag: `./build.sh wasm` sets it). The module is
// instantiated by the host after Go's instance exists (js/src/runtime.js; in tests
// wat/go_js_wasm_exec); when it is absent (another host, a build without the tag, native Go)
// or switched off with SetSIMD(false), everything below runs the plain-Go reference.
//
// References (each is what its kernel is tested against, in Node, with the named tolerances of
// simd_test.go):
//
//	GemmNT        ↔ sgemm_nt   f32 x·Wᵀ with row strides
//	GemmNN        ↔ sgemm_nn   f32 x·Y with row strides (attention's P·V)
//	Q8.Dequantize ↔ dequant_q8 (q8.go; exact), with sgemm_nt in q8_gemm_nt; Q8.Row on it too
//	                 (blocks of 32, or 16: an int8 embedding table's word rows)
//	QuantizeI16Rows ↔ quant_i16  activations to int16 + one f32 scale per block (32, 64, 128)
//	GemmQ8I16     ↔ pack_q8 + qgemm_packed   int16 × int8 → int32 per block, scaled and
//	                 summed in f32
//	QuantizeU7Rows ↔ quant_u7  activations to 7-bit unsigned, (scale, min) per 32 (relaxed path)
//	GemmQ8U7      ↔ packQ7 + qgemm_r7 (kernels_relaxed.wat: relaxed SIMD, a module of its own),
//	                 and pack_q8 + Q8.corr + qgemm_u7 (its plain-SIMD twin), both bit-exact
//	QuantizeU7Rows ↔ quant_u7_i16 the same 7-bit values as int16, in quant_i16's layout
//	AttentionRef  ↔ attention  Transpose per sequence, GemmNN, SoftmaxRows, GemmNN per head, in one call
//	TransposeRef  ↔ transpose_f32  a matrix transposed, zero-padded (attention's keys)
//	SoftmaxRowsRef ↔ softmax_rows  scaled, biased row softmax (attention); exp as Cephes' expf
//	GELU          ↔ gelu_erf   erf GELU (activation.go); erf as a rational z·P(z²)/Q(z²)
//	                 (wat/fit_erf.py)
//	GELUBackwardRef ↔ gelu_erf_backward  dy·GELU'(x) of the erf GELU; gelu_erf's erf and
//	                 exp4 (Cephes' expf) for e^(−x²/2)
//	LayerNorm     ↔ layer_norm (norm.go; the kernel's statistics in float32)
//	LayerNormBackwardRef ↔ layer_norm_backward  LayerNorm's input gradient (the trainer's; the
//	                 kernel's means in float32)
//	AddBias       ↔ add_bias   (matmul.go), and qgemm_packed's and qgemm_u7's bias (MulTBias:
//	                 the product then AddBias, bit for bit)
//	Add, Scale    ↔ add_f32, scale_f32 (matmul.go: each dispatches itself, and its plain loop,
//	                 SetSIMD(false), is the reference; both give the same float32 results)

// simdOn is whether the caller allows the kernel module (SetSIMD); the module must also be there.
var simdOn = true

// SetSIMD allows (true, the default) or forbids the Wasm SIMD kernels. With false every kernel
// runs its plain-Go reference, as on a host without the kernel module.
func SetSIMD(on bool) { simdOn = on }

// SIMD reports whether the Wasm SIMD kernels are in use: allowed, built in (GOOS=js with the
// wasmsimd tag) and the kernel module instantiated by the host.
func SIMD() bool { return simdOn && kernelsLoaded() }

// q8Int selects the integer kernel for Q8 products (SetQ8Int).
var q8Int = true

// SetQ8Int chooses how the SIMD kernels multiply by a Q8 matrix. true (the default): the
// activations are quantized per row and block of 32 to int16 (quant_i16) and multiplied by the
// int8 weights in int32 (pack_q8 + qgemm_packed, i32x4.dot_i16x8_s; GemmQ8I16): 90 GOPS at
// 128×384·384×1536 in Node 20 on the project's machine, and Q8.MulT's result to ~1e-5 (16-bit
// activations; 8-bit ones, ggml's Q8_0·Q8_0, cost the same here and flipped a borderline label
// of the demo adapters). false: q8_gemm_nt dequantizes the weights a slab of rows at a time
// (dequant_q8, the slab kept in L2) and multiplies each slab by sgemm_nt on float32 activations
// (61 GOPS there). Neither path keeps a second copy of the weights: the integer path rearranges
// each matrix in place the first time it multiplies by it (Q8.Packed); the float32 path reads
// the row-major layout, so after a matrix is packed it falls back to Q8.MulT.
func SetQ8Int(on bool) { q8Int = on }

// q8Relaxed allows the relaxed-SIMD integer kernel (SetQ8Relaxed).
var q8Relaxed = true

// SetQ8Relaxed allows (true, the default) or forbids the relaxed-SIMD recipe for Q8 products,
// which runs where the host asks for it (js/src/runtime.js: the package's relaxedSimd option;
// it instantiates kernels_relaxed.wat where the engine has relaxed SIMD, and answers
// u7_requested): the integer path quantizes activations to 7 bits per row and block of 32
// (quant_u7: asymmetric, x ≈ min + d·u, u in [0, 127]) and multiplies them by the int8 weights
// with i16x8.relaxed_dot_i8x16_i7x16_s (qgemm_r7, GemmQ8U7), 16 multiply-adds per instruction
// instead of 8, or, on an engine without relaxed SIMD, with qgemm_u7 (plain SIMD, 8 per
// instruction), whose results are qgemm_r7's bit for bit. The weights are the same (every int8
// value is exact); the activations are coarser than quant_i16's 16 bits, so the results differ
// from the default path by the tolerance the tests state, and are the same on every engine.
func SetQ8Relaxed(on bool) { q8Relaxed = on }

// Relaxed reports whether Q8 products use the 7-bit recipe (SetQ8Relaxed) on the integer path:
// when the Wasm host asks for it (its relaxed module instantiated, or u7_requested; without the
// kernel module the recipe's plain-Go twin mulQ8U7Go runs), or a native host did
// (RequestRelaxed).
func Relaxed() bool {
	if !q8Relaxed || !q8Int {
		return false
	}
	if SIMD() {
		return relaxedLoaded() || u7Requested()
	}
	return relaxedRequested || u7Requested()
}

// relaxedRequested is RequestRelaxed's setting.
var relaxedRequested bool

// RequestRelaxed asks for the 7-bit recipe where no kernel module runs (a native host: the CLI's
// --relaxed-simd), which then runs in plain Go with the results the kernels give with it (the
// package's relaxedSimd option) bit for bit. Where the kernel module runs, the host's loader asks.
func RequestRelaxed(on bool) { relaxedRequested = on }

// u7Plain makes the 7-bit recipe take qgemm_u7 even where the relaxed module is there (tests: the
// two kernels' results are compared bit for bit).
var u7Plain bool

// RelaxedSIMD reports whether the 7-bit recipe runs on relaxed-SIMD instructions
// (kernels_relaxed.wat) rather than on its plain-SIMD twin qgemm_u7.
func RelaxedSIMD() bool { return Relaxed() && relaxedLoaded() }

// Name says which kernels run the products: "go" (plain Go), "go+u7" (plain Go, the 7-bit
// recipe: RequestRelaxed), "wasm-simd" (kernels.wat), "wasm-simd+relaxed" (and
// kernels_relaxed.wat for Q8 products) or "wasm-simd+u7" (the 7-bit recipe on kernels.wat's
// qgemm_u7: an engine without relaxed SIMD).
func Name() string {
	switch {
	case !SIMD() && Relaxed():
		return "go+u7"
	case RelaxedSIMD():
		return "wasm-simd+relaxed"
	case Relaxed():
		return "wasm-simd+u7"
	case SIMD():
		return "wasm-simd"
	}
	return "go"
}

// MulT computes dst[rows,Out] = x[rows,In]·Wᵀ for any Matrix: for F32 with In % 4 == 0
// sgemm_nt (or its twin gemmNTGo without the SIMD kernels), for Q8 with blocks of Q8Block and
// Out % 8 == 0 the integer recipe (simdMulQ8, see SetQ8Int; without the SIMD kernels its twin
// mulQ8Go, or mulQ8U7Go for the 7-bit recipe); otherwise m.MulT. Either way the same bits, except
// with SetQ8Int(false) (a benchmark switch: q8_gemm_nt with the kernels, Q8.MulT without them).
func MulT(dst []float32, m Matrix, x []float32, rows int) { MulTBias(dst, m, x, rows, nil) }

// MulTBias computes dst[rows,Out] = x[rows,In]·Wᵀ + bias (bias [Out], or nil for none): MulT
// then AddBiasRows, the same float32s, except that the integer SIMD kernels (qgemm_packed, and
// qgemm_u7 for the 7-bit recipe) add the bias to each tile as they finish it instead of in a
// pass of their own over dst (nn.Linear's forward; issue 21). It panics if bias is neither nil
// nor Out long (loaders check the shapes first).
func MulTBias(dst []float32, m Matrix, x []float32, rows int, bias []float32) {
	out, _ := m.Dims()
	checkBias("MulTBias", bias, out)
	if rows > 0 {
		switch w := m.(type) {
		case *F32:
			if w.In%4 == 0 {
				_ = dst[rows*w.Out-1]
				_ = x[rows*w.In-1]
				if SIMD() {
					simdGemmNT(dst, w.Out, x, w.In, w.W, w.In, rows, w.In, w.Out)
				} else {
					gemmNTGo(dst, w.Out, x, w.In, w.W, w.In, rows, w.In, w.Out)
				}
				addBias(dst, rows, bias)
				return
			}
		case *Q8:
			if q8Eligible(w) {
				_ = dst[rows*w.Out-1]
				_ = x[rows*w.In-1]
				if SIMD() {
					simdMulQ8(dst, x, rows, w, bias)
					return
				}
				if Relaxed() {
					w.reblock()
					mulQ8U7Go(dst, x, rows, w)
					addBias(dst, rows, bias)
					return
				}
				if q8Int {
					mulQ8Go(dst, x, rows, w)
					addBias(dst, rows, bias)
					return
				}
			}
		}
	}
	m.MulT(dst, x, rows)
	addBias(dst, rows, bias)
}

// checkBias panics unless bias is nil or out long (MulTBias, MulTShared: loaders check shapes).
func checkBias(caller string, bias []float32, out int) {
	if bias != nil && len(bias) != out {
		panic(fmt.Sprintf("kernels: %s: bias of %d for %d outputs", caller, len(bias), out))
	}
}

// biasAt is biases[i], or nil past its end (MulTShared's biases may be shorter than its matrices).
func biasAt(biases [][]float32, i int) []float32 {
	if i < len(biases) {
		return biases[i]
	}
	return nil
}

// addBias is AddBiasRows unless bias is nil.
func addBias(dst []float32, rows int, bias []float32) {
	if bias != nil {
		AddBiasRows(dst, rows, bias)
	}
}

// q8Eligible reports whether the SIMD kernels take products by w: blocks IntBlock takes and
// Out % 8 == 0 (qgemm_packed's tile). The 7-bit recipe (Relaxed) takes blocks of Q8Block only:
// its first product by a matrix with larger blocks re-blocks it (Q8.reblock: the same W).
func q8Eligible(w *Q8) bool { return IntBlock(w.Block) && w.In%w.Block == 0 && w.Out%8 == 0 }

// MulTShared computes dsts[i][rows, Out_i] = x[rows, k]·ms[i]ᵀ + biases[i] for every i, as
// MulTBias on each (biases may be nil, or have nil entries), except that the SIMD integer kernel
// quantizes x once for all the Q8 matrices among them (the query, key and value projections of
// one input, say).
func MulTShared(dsts [][]float32, ms []Matrix, biases [][]float32, x []float32, rows, k int) {
	var done uint64
	if rows > 0 && SIMD() {
		_ = x[rows*k-1]
		done = simdMulQ8Shared(dsts, ms, biases, x, rows, k)
	}
	for i, m := range ms {
		if i >= 64 || done&(1<<i) == 0 {
			MulTBias(dsts[i], m, x, rows, biasAt(biases, i))
		}
	}
}

// GemmNT computes dst[i*ldd+j] = Σ_p x[i*ldx+p]·w[j*ldw+p] for i < m, j < n, p < k: x·Wᵀ on
// strided rows (one attention head of a [T, hidden] matrix, say). It uses sgemm_nt when the SIMD
// kernels are in use and k % 4 == 0 (its twin gemmNTGo without them), else the plain-Go
// reference.
func GemmNT(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	if m == 0 || n == 0 {
		return
	}
	checkStrided("dst", len(dst), ldd, m, n)
	checkStrided("x", len(x), ldx, m, k)
	checkStrided("w", len(w), ldw, n, k)
	if k%4 == 0 && k > 0 {
		if SIMD() {
			simdGemmNT(dst, ldd, x, ldx, w, ldw, m, k, n)
		} else {
			gemmNTGo(dst, ldd, x, ldx, w, ldw, m, k, n)
		}
		return
	}
	GemmNTRef(dst, ldd, x, ldx, w, ldw, m, k, n)
}

func checkStrided(name string, l, ld, rows, cols int) {
	if cols > ld || (rows-1)*ld+cols > l {
		panic(fmt.Sprintf("kernels: GEMM: %s too short: len %d, stride %d, %d×%d", name, l, ld, rows, cols))
	}
}

// GemmNN computes dst[i*ldd+j] = Σ_p x[i*ldx+p]·y[p*ldy+j] for i < m, j < n, p < k: x·Y with Y
// in its natural [k, n] layout on strided rows (attention's P·V, V's head columns read in place).
// It uses sgemm_nn when the SIMD kernels are in use and n % 4 == 0, else the plain-Go
// reference; both sum each output's products in order of p.
func GemmNN(dst []float32, ldd int, x []float32, ldx int, y []float32, ldy int, m, k, n int) {
	if m == 0 || n == 0 {
		return
	}
	checkStrided("dst", len(dst), ldd, m, n)
	if k > 0 {
		checkStrided("x", len(x), ldx, m, k)
		checkStrided("y", len(y), ldy, k, n)
	}
	if n%4 == 0 && SIMD() {
		simdGemmNN(dst, ldd, x, ldx, y, ldy, m, k, n)
		return
	}
	GemmNNRef(dst, ldd, x, ldx, y, ldy, m, k, n)
}

// GemmNNRef is the plain-Go reference of sgemm_nn (and GemmNN's fallback): each row of dst is
// accumulated as Σ_p x[i,p]·y[p,:].
func GemmNNRef(dst []float32, ldd int, x []float32, ldx int, y []float32, ldy int, m, k, n int) {
	for i := 0; i < m; i++ {
		d := dst[i*ldd : i*ldd+n]
		clear(d)
		for p, xv := range x[i*ldx : i*ldx+k] {
			yr := y[p*ldy : p*ldy+n]
			for j, yv := range yr {
				d[j] += float32(xv * yv) // not fused: sgemm_nn's f32x4.mul then add
			}
		}
	}
}

// GemmNTRef is the plain-Go reference of sgemm_nt (and GemmNT's fallback).
func GemmNTRef(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	for i := 0; i < m; i++ {
		xr := x[i*ldx : i*ldx+k]
		for j := 0; j < n; j++ {
			dst[i*ldd+j] = Dot(xr, w[j*ldw:j*ldw+k])
		}
	}
}

// QuantizeI16Rows quantizes x [rows, k] (k a multiple of block) to int16 q [rows, k] with one
// float32 scale per block of values s [rows, k/block], as ggml's
// quantize_row_q8_0_ref (ggml/src/ggml-quants.c) with 16-bit values and a float32 scale:
// d = amax/32767, q = round-half-even(x·(1/d)) saturated to int16, 0 when d == 0. The reference
// of quant_i16.
func QuantizeI16Rows(q []int16, s []float32, x []float32, rows, k, block int) {
	nb := k / block
	q, s, x = q[:rows*k], s[:rows*nb], x[:rows*k]
	for b := range s {
		xb := x[b*block : (b+1)*block]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 32767
		s[b] = d
		var id float32
		if d != 0 {
			id = 1 / d
		}
		qb := q[b*block : (b+1)*block]
		for i, v := range xb {
			qb[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.RoundToEven(float64(v*id)))))
		}
	}
}

// GemmQ8I16 computes dst[rows, w.Out] from activations quantized by QuantizeI16Rows with w's
// block (q [rows, w.In], s [rows, w.In/w.Block]) and a Q8 matrix with blocks IntBlock takes:
//
//	dst[i,j] = Σ_b s[i,b]·w.Scale[j,b]·Σ_{p in block b} q[i,p]·w.Q[j,p]
//
// the integer sums exact, the rest in float32. The reference of pack_q8 + qgemm_packed.
func GemmQ8I16(dst []float32, q []int16, s []float32, rows int, w *Q8) {
	if !IntBlock(w.Block) {
		panic(fmt.Sprintf("kernels: GemmQ8I16: block %d", w.Block))
	}
	k, bs, nb := w.In, w.Block, w.In/w.Block
	wq := make([]int8, bs)
	for i := 0; i < rows; i++ {
		for j := 0; j < w.Out; j++ {
			var acc float32
			for b := 0; b < nb; b++ {
				xq := q[i*k+b*bs : i*k+(b+1)*bs]
				var ws float32
				for p := range wq {
					wq[p], ws = w.at(j, b*bs+p)
				}
				var t int32
				for p, v := range xq {
					t += int32(v) * int32(wq[p])
				}
				acc += float32(float32(t) * (s[i*nb+b] * ws))
			}
			dst[i*w.Out+j] = acc
		}
	}
}

// QuantizeU7Rows quantizes x [rows, k] (k a multiple of Q8Block) per row and block of Q8Block
// values to 7-bit unsigned integers q [rows, k] with s [rows, k/Q8Block][2] = (d, lo):
// lo = min, d = (max - lo)/127, q = min(127, round-half-even((x - lo)·(1/d))) (0 when d == 0),
// so x ≈ lo + d·q, every step in float32. The reference of quant_u7 (which writes 4 rows
// interleaved; the values are these).
func QuantizeU7Rows(q []uint8, s []float32, x []float32, rows, k int) {
	nb := k / Q8Block
	q, s, x = q[:rows*k], s[:2*rows*nb], x[:rows*k]
	for b := 0; b < rows*nb; b++ {
		xb := x[b*Q8Block : (b+1)*Q8Block]
		lo, hi := xb[0], xb[0]
		for _, v := range xb {
			lo, hi = min(lo, v), max(hi, v)
		}
		d := (hi - lo) / 127
		s[2*b], s[2*b+1] = d, lo
		var id float32
		if d != 0 {
			id = 1 / d
		}
		qb := q[b*Q8Block : (b+1)*Q8Block]
		for i, v := range xb {
			t := (v - lo) * id
			qb[i] = uint8(min(127, math.RoundToEven(float64(t))))
		}
	}
}

// GemmQ8U7 computes dst[rows, w.Out] from activations quantized by QuantizeU7Rows (q [rows, w.In],
// s [rows, w.In/Q8Block][2]) and a Q8 matrix with blocks of Q8Block:
//
//	dst[i,j] = Σ_b [(T·d[i,b])·w.Scale[j,b] + lo[i,b]·(w.Scale[j,b]·Σ_{p in b} w.Q[j,p])],
//	T = Σ_{p in block b} q[i,p]·w.Q[j,p]
//
// summed in order of b, T exact, the rest in float32 as written. The reference of qgemm_r7.
func GemmQ8U7(dst []float32, q []uint8, s []float32, rows int, w *Q8) {
	if w.Block != Q8Block {
		panic(fmt.Sprintf("kernels: GemmQ8U7: block %d, want %d", w.Block, Q8Block))
	}
	k, nb := w.In, w.In/Q8Block
	var wq [Q8Block]int8
	for j := 0; j < w.Out; j++ {
		ws := make([]float32, nb)
		sw := make([]float32, nb)
		for b := range ws {
			ws[b] = w.blockSum(j, b)
			_, sw[b] = w.at(j, b*Q8Block)
		}
		for i := 0; i < rows; i++ {
			var acc float32
			for b := 0; b < nb; b++ {
				for p := range wq {
					wq[p], _ = w.at(j, b*Q8Block+p)
				}
				var t int32
				for p, v := range q[i*k+b*Q8Block : i*k+(b+1)*Q8Block] {
					t += int32(v) * int32(wq[p])
				}
				d, lo := s[2*(i*nb+b)], s[2*(i*nb+b)+1]
				acc += float32(float32(float32(t)*d)*sw[b]) + float32(lo*ws[b])
			}
			dst[i*w.Out+j] = acc
		}
	}
}

// Attention computes scaled dot-product attention for B sequences of T queries over kv keys and
// nh heads of d columns: for every sequence bi and head h (columns h·d…),
//
//	ctx_h = softmax(q_h·k_hᵀ·scale + bias[bi])·v_h
//
// with q and ctx [B][T][H], k and v [B][kv][H], bias [B][kvp] (kvp = kv rounded up to 4: the
// padding mask, zeros past kv), scratch at least AttentionScratch(T, kv, H, d) floats. It is AttentionRef's sequence
// of Transpose, GemmNN, SoftmaxRows and GemmNN calls; with the SIMD kernels (d % 4 == 0)
// transpose_f32 per sequence and one call of the kernel module's attention make exactly those
// kernel calls (the same results), which the kernel threads can split by sequence and head.
func Attention(ctx, q, k, v []float32, H, B, T, kv, d, nh int, scale float32, bias, scratch []float32) {
	if B == 0 || T == 0 || kv == 0 || nh == 0 {
		return
	}
	kvp := (kv + 3) &^ 3
	if nh*d > H || len(q) < B*T*H || len(ctx) < B*T*H || len(k) < B*kv*H || len(v) < B*kv*H || len(bias) < B*kvp || len(scratch) < AttentionScratch(T, kv, H, d) {
		panic(fmt.Sprintf("kernels: Attention: lengths q %d ctx %d k %d v %d bias %d scratch %d for B %d T %d kv %d H %d nh %d d %d",
			len(q), len(ctx), len(k), len(v), len(bias), len(scratch), B, T, kv, H, nh, d))
	}
	if attentionSIMD(d) {
		simdAttention(ctx, q, k, v, H, B, T, kv, d, nh, scale, bias)
		return
	}
	AttentionRef(ctx, q, k, v, H, B, T, kv, d, nh, scale, bias, scratch)
}

func attentionSIMD(d int) bool { return d%4 == 0 && d > 0 && SIMD() }

// AttentionScratch is the scratch Attention needs, in floats: (T+H)·kvp for AttentionRef (the
// scores and a sequence's keys transposed), none when the kernel module runs it (its scores and
// transposed keys live in scratch of its own, one per kernel thread).
func AttentionScratch(T, kv, H, d int) int {
	if attentionSIMD(d) {
		return 0
	}
	return (T + H) * ((kv + 3) &^ 3)
}

// AttentionRef is Attention as, per sequence, its keys transposed to [H][kvp] (Transpose, in
// scratch after the scores) and, per head, q_h·k_hᵀ as GemmNN on them, SoftmaxRows and GemmNN
// (each the SIMD kernel or its plain-Go reference, which sum in the same order): the reference
// of the kernel module's attention.
func AttentionRef(ctx, q, k, v []float32, H, B, T, kv, d, nh int, scale float32, bias, scratch []float32) {
	kvp := (kv + 3) &^ 3
	sc, kt := scratch[:T*kvp], scratch[T*kvp:(T+H)*kvp]
	for bi := 0; bi < B; bi++ {
		qb, cb := q[bi*T*H:(bi+1)*T*H], ctx[bi*T*H:(bi+1)*T*H]
		kb, vb := k[bi*kv*H:(bi+1)*kv*H], v[bi*kv*H:(bi+1)*kv*H]
		Transpose(kt, kvp, kb, H, kv, H, kvp)
		for h := 0; h < nh; h++ {
			off := h * d
			GemmNN(sc, kvp, qb[off:], H, kt[off*kvp:], kvp, T, d, kvp)
			SoftmaxRows(sc, kvp, T, kv, scale, bias[bi*kvp:(bi+1)*kvp])
			GemmNN(cb[off:], H, sc, kvp, vb[off:], H, T, kv, d)
		}
	}
}

// Transpose writes d[c·ldd + r] = x[r·ldx + c] for r < rows, c < cols and zeros d[c·ldd + r]
// for rows ≤ r < rowsp: transpose_f32 with the SIMD kernels, else TransposeRef (the same values).
func Transpose(d []float32, ldd int, x []float32, ldx, rows, cols, rowsp int) {
	if cols == 0 || rowsp == 0 {
		return
	}
	if rows > rowsp {
		panic(fmt.Sprintf("kernels: Transpose: %d rows, padded to %d", rows, rowsp))
	}
	checkStrided("d", len(d), ldd, cols, rowsp)
	if rows > 0 {
		checkStrided("x", len(x), ldx, rows, cols)
	}
	if SIMD() {
		simdTranspose(d, ldd, x, ldx, rows, cols, rowsp)
		return
	}
	TransposeRef(d, ldd, x, ldx, rows, cols, rowsp)
}

// TransposeRef is the plain-Go reference of transpose_f32.
func TransposeRef(d []float32, ldd int, x []float32, ldx, rows, cols, rowsp int) {
	for c := 0; c < cols; c++ {
		for r := 0; r < rows; r++ {
			d[c*ldd+r] = x[r*ldx+c]
		}
		clear(d[c*ldd+rows : c*ldd+rowsp])
	}
}

// SoftmaxRows replaces each of rows rows of x (row stride ld) by softmax(x[j]·scale + bias[j])
// over its first n values and zeroes the row's values from n up to n rounded up to 4 (when ld
// has them): attention's probabilities, ready for a P·V product over a multiple of 4. bias has
// n values (the padding mask). When ld is a multiple of 4 and ≥ n rounded up it is
// softmax_rows (its twin softmaxRowsGo without the SIMD kernels), else SoftmaxRowsRef.
func SoftmaxRows(x []float32, ld, rows, n int, scale float32, bias []float32) {
	if rows == 0 || n == 0 {
		return
	}
	n4 := (n + 3) &^ 3
	_ = bias[n-1]
	_ = x[(rows-1)*ld+n-1]
	if ld%4 == 0 && ld >= n4 && len(bias) >= n4 && len(x) >= (rows-1)*ld+n4 {
		if SIMD() {
			simdSoftmaxRows(x, ld, rows, n, scale, bias)
		} else {
			softmaxRowsGo(x, ld, rows, n, scale, bias)
		}
		return
	}
	SoftmaxRowsRef(x, ld, rows, n, scale, bias)
}

// SoftmaxRowsRef is the plain-Go reference of softmax_rows (Softmax on each scaled, biased row).
func SoftmaxRowsRef(x []float32, ld, rows, n int, scale float32, bias []float32) {
	pad := min((n+3)&^3, ld)
	for i := 0; i < rows; i++ {
		r := x[i*ld : i*ld+n]
		for j := range r {
			r[j] = r[j]*scale + bias[j]
		}
		Softmax(r)
		if i*ld+pad <= len(x) {
			clear(x[i*ld+n : i*ld+pad])
		}
	}
}

// Activate applies act, the activation config.json names name, to x in place; the erf GELU
// ("gelu", "gelu_python") is gelu_erf (its twin geluGo without the SIMD kernels).
func Activate(name string, act Activation, x []float32) {
	if (name == "gelu" || name == "gelu_python") && len(x) > 0 {
		if SIMD() {
			simdGELU(x)
		} else {
			geluGo(x)
		}
		return
	}
	act(x)
}

// GELUBackward multiplies dy by the derivative of the erf GELU at x, in place (the backward of
// Activate("gelu"); len(x) ≥ len(dy)): with the SIMD kernels gelu_erf_backward, else its twin
// geluBackwardGo (GELUBackwardRef, in float64, is the tests' measure).
func GELUBackward(dy, x []float32) {
	if len(dy) == 0 {
		return
	}
	_ = x[len(dy)-1]
	if SIMD() {
		simdGELUBackward(dy, x)
		return
	}
	geluBackwardGo(dy, x)
}

// GELUBackwardRef is dy[i] *= Φ(x[i]) + x[i]·φ(x[i]), GELU'(x) of 0.5·x·(1 + erf(x/√2)), in
// float64 with math.Erf and math.Exp: the reference of gelu_erf_backward.
func GELUBackwardRef(dy, x []float32) {
	x = x[:len(dy)]
	for i, v := range x {
		f := float64(v)
		dy[i] *= float32(0.5*(1+math.Erf(f/math.Sqrt2)) + f*math.Exp(-f*f/2)/math.Sqrt(2*math.Pi))
	}
}

// LayerNormRows is LayerNorm (dst may alias x), with layer_norm (its twin layerNormGo without
// the SIMD kernels) when the row length is a multiple of 4.
func LayerNormRows(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	n := len(gamma)
	if rows > 0 && n%4 == 0 && len(beta) == n {
		_ = dst[rows*n-1]
		_ = x[rows*n-1]
		if SIMD() {
			simdLayerNorm(dst, x, rows, gamma, beta, eps)
		} else {
			layerNormGo(dst, x, rows, gamma, beta, eps)
		}
		return
	}
	LayerNorm(dst, x, rows, gamma, beta, eps)
}

// LayerNormBackward writes LayerNorm's input gradient dx [rows, n] (may alias dy) from its output
// gradient dy, with n = len(gamma), the normalized input xhat [rows, n] and 1/σ per row rstd
// [rows] the forward kept: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma. With the SIMD
// kernels (n % 4 == 0) layer_norm_backward (its twin layerNormBackwardGo without them), else
// LayerNormBackwardRef.
func LayerNormBackward(dx, dy []float32, rows int, gamma, xhat, rstd []float32) {
	n := len(gamma)
	if rows == 0 || n == 0 {
		return
	}
	_, _, _, _ = dx[rows*n-1], dy[rows*n-1], xhat[rows*n-1], rstd[rows-1]
	if n%4 == 0 {
		if SIMD() {
			simdLayerNormBackward(dx, dy, rows, gamma, xhat, rstd)
		} else {
			layerNormBackwardGo(dx, dy, rows, gamma, xhat, rstd)
		}
		return
	}
	LayerNormBackwardRef(dx, dy, rows, gamma, xhat, rstd)
}

// LayerNormBackwardRef is LayerNormBackward with the means and the result in float64: the
// reference of layer_norm_backward.
func LayerNormBackwardRef(dx, dy []float32, rows int, gamma, xhat, rstd []float32) {
	H := len(gamma)
	for r := 0; r < rows; r++ {
		yr := dy[r*H : (r+1)*H]
		xh := xhat[r*H : (r+1)*H]
		var sg, sgx float64
		for j, g := range yr {
			gg := float64(g) * float64(gamma[j])
			sg += gg
			sgx += gg * float64(xh[j])
		}
		mg, mgx := sg/float64(H), sgx/float64(H)
		rs := float64(rstd[r])
		dr := dx[r*H : (r+1)*H]
		for j, g := range yr {
			gg := float64(g) * float64(gamma[j])
			dr[j] = float32(rs * (gg - mg - float64(xh[j])*mgx))
		}
	}
}

// AddBiasRows is AddBias, with add_bias when the SIMD kernels are in use and len(bias) % 4 == 0.
func AddBiasRows(x []float32, rows int, bias []float32) {
	if rows > 0 && len(bias)%4 == 0 && SIMD() {
		_ = x[rows*len(bias)-1]
		simdAddBias(x, rows, bias)
		return
	}
	AddBias(x, rows, bias)
}
