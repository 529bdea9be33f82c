//go:build !(js && wasm && wasmsimd)

package kernels

// Without the wasmsimd build tag on GOOS=js there is no kernel module: every kernel runs its
// plain-Go reference.

func kernelsLoaded() bool { return false }

func relaxedLoaded() bool { return false }

func u7Requested() bool { return false }

func simdQuantU7I16(q []int16, s []float32, x []float32, rows, k int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdQuantU7(q []uint8, s []float32, x []float32, rows, k int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdGemmNT(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdGemmNN(dst []float32, ldd int, x []float32, ldx int, y []float32, ldy int, m, k, n int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdMulQ8(dst, x []float32, rows int, w *Q8, bias []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdMulQ8Shared(dsts [][]float32, ms []Matrix, biases [][]float32, x []float32, rows, k int) uint64 {
	panic("kernels: no SIMD kernel module in this build")
}

func simdQuantI16(q []int16, s []float32, x []float32, rows, k, block int) {
	panic("kernels: no SIMD kernel module in this build")
}

func kQgemm(dst []float32, q []int16, s []float32, rows int, w *Q8, bias []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdSoftmaxRows(x []float32, ld, rows, n int, scale float32, bias []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdGELU(x []float32) { panic("kernels: no SIMD kernel module in this build") }

func simdGELUBackward(dy, x []float32) { panic("kernels: no SIMD kernel module in this build") }

func simdLayerNormBackward(dx, dy []float32, rows int, gamma, xhat, rstd []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdLayerNorm(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdAddBias(x []float32, rows int, bias []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdDequantQ8(dst []float32, w *Q8) { panic("kernels: no SIMD kernel module in this build") }

func simdDequantQ8Row(dst []float32, q []int8, s []float32, block int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdAdd(dst, a, b []float32) { panic("kernels: no SIMD kernel module in this build") }

func simdScale(x []float32, s float32) { panic("kernels: no SIMD kernel module in this build") }

func simdAttention(ctx, q, k, v []float32, H, B, T, kv, d, nh int, scale float32, bias []float32) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdTranspose(d []float32, ldd int, x []float32, ldx, rows, cols, rowsp int) {
	panic("kernels: no SIMD kernel module in this build")
}

func simdPackQ7(w *Q8) { panic("kernels: no SIMD kernel module in this build") }
