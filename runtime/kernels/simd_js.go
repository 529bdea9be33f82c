//go:build js && wasm && wasmsimd

package kernels

import "unsafe"

// The kernel module's exports (wat/kernels.wat), imported from the host as module
// "adapterwasm_kernels". The host supplies these as trampolines that call the kernel instance
// once it exists (js/src/runtime.js, wat/go_js_wasm_exec); available reports whether it does.
// Addresses are offsets in the Go instance's linear memory, which the kernel module imports.

//go:wasmimport adapterwasm_kernels available
func kAvailable() int32

//go:wasmimport adapterwasm_kernels sgemm_nt
func kSgemmNT(d, ldd, x, ldx, w, ldw, m, k, n uint32)

//go:wasmimport adapterwasm_kernels quant_q8
func kQuantQ8(q, s, x, ldx, m, k uint32)

//go:wasmimport adapterwasm_kernels qgemm_nt
func kQgemmNT(d, ldd, qx, sx, qw, sw, m, k, n uint32)

//go:wasmimport adapterwasm_kernels softmax_rows
func kSoftmaxRows(x, ld, rows, n uint32, scale float32, bias uint32)

//go:wasmimport adapterwasm_kernels gelu_erf
func kGELU(x, n uint32)

//go:wasmimport adapterwasm_kernels layer_norm
func kLayerNorm(dst, x, rows, n, gamma, beta uint32, eps float32)

//go:wasmimport adapterwasm_kernels add_bias
func kAddBias(x, rows, n, bias uint32)

// loaded caches kAvailable: 0 unknown, 1 yes, 2 no. The host instantiates the kernel module
// before Go's main runs, so the answer never changes.
var loaded uint8

func kernelsLoaded() bool {
	if loaded == 0 {
		loaded = 2
		if kAvailable() == 1 {
			loaded = 1
		}
	}
	return loaded == 1
}

func addr[T any](s []T) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))) }

// simdGemmNT calls sgemm_nt; the caller has checked the lengths and k % 4 == 0.
func simdGemmNT(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	kSgemmNT(addr(dst), uint32(ldd), addr(x), uint32(ldx), addr(w), uint32(ldw), uint32(m), uint32(k), uint32(n))
}

// q8Scratch holds the quantized activations of the last simdMulQ8 call; it grows to the largest
// [rows, In] seen and is then reused (Go's Wasm runs one goroutine at a time and the kernels
// never yield).
var q8Scratch struct {
	q []int8
	s []float32
}

// simdMulQ8 quantizes x with quant_q8 and multiplies with qgemm_nt.
func simdMulQ8(dst, x []float32, rows int, w *Q8) {
	n, nb := rows*w.In, rows*(w.In/Q8Block)
	if cap(q8Scratch.q) < n {
		q8Scratch.q = make([]int8, n)
	}
	if cap(q8Scratch.s) < nb {
		q8Scratch.s = make([]float32, nb)
	}
	q, s := q8Scratch.q[:n], q8Scratch.s[:nb]
	simdQuantQ8(q, s, x, rows, w.In)
	kQgemm(dst, q, s, rows, w)
}

// simdQuantQ8 calls quant_q8 on x [rows, k] (contiguous).
func simdQuantQ8(q []int8, s []float32, x []float32, rows, k int) {
	kQuantQ8(addr(q), addr(s), addr(x), uint32(k), uint32(rows), uint32(k))
}

// kQgemm calls qgemm_nt on activations quantized by QuantizeQ8Rows or quant_q8.
func kQgemm(dst []float32, q []int8, s []float32, rows int, w *Q8) {
	kQgemmNT(addr(dst), uint32(w.Out), addr(q), addr(s), addr(w.Q), addr(w.Scale), uint32(rows), uint32(w.In), uint32(w.Out))
}

func simdSoftmaxRows(x []float32, ld, rows, n int, scale float32, bias []float32) {
	kSoftmaxRows(addr(x), uint32(ld), uint32(rows), uint32(n), scale, addr(bias))
}

func simdGELU(x []float32) { kGELU(addr(x), uint32(len(x))) }

func simdLayerNorm(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	kLayerNorm(addr(dst), addr(x), uint32(rows), uint32(len(gamma)), addr(gamma), addr(beta), eps)
}

func simdAddBias(x []float32, rows int, bias []float32) {
	kAddBias(addr(x), uint32(rows), uint32(len(bias)), addr(bias))
}
