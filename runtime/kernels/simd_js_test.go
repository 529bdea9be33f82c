//go:build js && wasm && wasmsimd

package kernels

//go:wasmimport adapterwasm_kernels exp_f32
func kExp(x, n uint32)

// simdExp calls exp_f32 (len(x) % 4 == 0): exp4's test entry point.
func simdExp(x []float32) { kExp(addr(x), uint32(len(x))) }
