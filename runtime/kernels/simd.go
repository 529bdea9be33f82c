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
//	QuantizeQ8Rows ↔ quant_q8   activations to int8 + one f32 scale per 32 (ggml Q8_0 numerics)
//	GemmQ8        ↔ qgemm_nt   int8 × int8 → int32 per block of 32, scaled and summed in f32

// simdOn is whether the caller allows the kernel module (SetSIMD); the module must also be there.
var simdOn = true

// SetSIMD allows (true, the default) or forbids the Wasm SIMD kernels. With false every kernel
// runs its plain-Go reference, as on a host without the kernel module.
func SetSIMD(on bool) { simdOn = on }

// SIMD reports whether the Wasm SIMD kernels are in use: allowed, built in (GOOS=js with the
// wasmsimd tag) and the kernel module instantiated by the host.
func SIMD() bool { return simdOn && kernelsLoaded() }

// MulT computes dst[rows,Out] = x[rows,In]·Wᵀ for any Matrix, with the SIMD kernels when they
// are in use and m is F32 (sgemm_nt) or Q8 with blocks of Q8Block (activations quantized per
// row and block, then qgemm_nt: ggml's Q8_0·Q8_0); otherwise m.MulT.
func MulT(dst []float32, m Matrix, x []float32, rows int) {
	if rows > 0 && SIMD() {
		switch w := m.(type) {
		case *F32:
			if w.In%4 == 0 {
				_ = dst[rows*w.Out-1]
				_ = x[rows*w.In-1]
				simdGemmNT(dst, w.Out, x, w.In, w.W, w.In, rows, w.In, w.Out)
				return
			}
		case *Q8:
			if w.Block == Q8Block && w.In%Q8Block == 0 {
				_ = dst[rows*w.Out-1]
				_ = x[rows*w.In-1]
				simdMulQ8(dst, x, rows, w)
				return
			}
		}
	}
	m.MulT(dst, x, rows)
}

// GemmNT computes dst[i*ldd+j] = Σ_p x[i*ldx+p]·w[j*ldw+p] for i < m, j < n, p < k: x·Wᵀ on
// strided rows (one attention head of a [T, hidden] matrix, say). It uses sgemm_nt when the SIMD
// kernels are in use and k % 4 == 0, else the plain-Go reference.
func GemmNT(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	if m == 0 || n == 0 {
		return
	}
	checkStrided("dst", len(dst), ldd, m, n)
	checkStrided("x", len(x), ldx, m, k)
	checkStrided("w", len(w), ldw, n, k)
	if k%4 == 0 && k > 0 && SIMD() {
		simdGemmNT(dst, ldd, x, ldx, w, ldw, m, k, n)
		return
	}
	GemmNTRef(dst, ldd, x, ldx, w, ldw, m, k, n)
}

func checkStrided(name string, l, ld, rows, cols int) {
	if cols > ld || (rows-1)*ld+cols > l {
		panic(fmt.Sprintf("kernels: GemmNT: %s too short: len %d, stride %d, %d×%d", name, l, ld, rows, cols))
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

// QuantizeQ8Rows quantizes x [rows, k] (k a multiple of Q8Block) to int8 q [rows, k] with one
// float32 scale per block of Q8Block values s [rows, k/Q8Block], as ggml's
// quantize_row_q8_0_ref (ggml/src/ggml-quants.c) but keeping the scale in float32:
// d = amax/127, q = round-half-even(x·(1/d)), 0 when d == 0. The reference of quant_q8.
func QuantizeQ8Rows(q []int8, s []float32, x []float32, rows, k int) {
	nb := k / Q8Block
	q, s, x = q[:rows*k], s[:rows*nb], x[:rows*k]
	for b := range s {
		xb := x[b*Q8Block : (b+1)*Q8Block]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		s[b] = d
		var id float32
		if d != 0 {
			id = 1 / d
		}
		qb := q[b*Q8Block : (b+1)*Q8Block]
		for i, v := range xb {
			qb[i] = int8(math.RoundToEven(float64(v * id)))
		}
	}
}

// GemmQ8 computes dst[rows, w.Out] from activations already quantized by QuantizeQ8Rows
// (q [rows, w.In], s [rows, w.In/Q8Block]) and a Q8 matrix with blocks of Q8Block:
//
//	dst[i,j] = Σ_b s[i,b]·w.Scale[j,b]·Σ_{p in block b} q[i,p]·w.Q[j,p]
//
// the integer sums exact, the rest in float32. The reference of qgemm_nt.
func GemmQ8(dst []float32, q []int8, s []float32, rows int, w *Q8) {
	if w.Block != Q8Block {
		panic(fmt.Sprintf("kernels: GemmQ8: block %d, want %d", w.Block, Q8Block))
	}
	k, nb := w.In, w.In/Q8Block
	for i := 0; i < rows; i++ {
		for j := 0; j < w.Out; j++ {
			var acc float32
			for b := 0; b < nb; b++ {
				xq := q[i*k+b*Q8Block : i*k+(b+1)*Q8Block]
				wq := w.Q[j*k+b*Q8Block : j*k+(b+1)*Q8Block]
				var t int32
				for p, v := range xq {
					t += int32(v) * int32(wq[p])
				}
				acc += float32(t) * (s[i*nb+b] * w.Scale[j*nb+b])
			}
			dst[i*w.Out+j] = acc
		}
	}
}
