//go:build !(js && wasm && wasmsimd)

package kernels

func simdExp(x []float32) { panic("kernels: no SIMD kernel module in this build") }
