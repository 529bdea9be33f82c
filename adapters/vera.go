package adapters

// bindVera binds a VeRA module (Vera of adapters/methods/lora.py) under p, with the adapter's
// shared frozen random matrices under shared (init_shared_vera_parameters; saved once per
// adapter as shared_parameters.NAME.lora_{A,B}, shaped for the first location the adapter wraps),
// and returns its ΔW = vera_B·lora_B·vera_D·lora_A [out, in] (Vera.delta_w), multiplied in
// torch's order. vera_B [out, out] and vera_D [r, r] start diagonal but are trained as full
// matrices.
func bindVera(bd *binder, p, shared string, r, in, out int) []float32 {
	vD := bd.vec(p+"vera_D", r, r)
	vB := bd.vec(p+"vera_B", out, out)
	A := bd.vec(shared+"lora_A", r, in)
	B := bd.vec(shared+"lora_B", out, r)
	if vD == nil || vB == nil || A == nil || B == nil {
		return nil
	}
	t := matMul(vB, B, out, out, r) // [out, r]
	t = matMul(t, vD, out, r, r)    // [out, r]
	return matMul(t, A, out, r, in) // [out, in]
}

// matMul returns a[m, k]·b[k, n] (row-major), summing in float64.
func matMul(a, b []float32, m, k, n int) []float32 {
	out := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for q := 0; q < k; q++ {
				s += float64(a[i*k+q]) * float64(b[q*n+j])
			}
			out[i*n+j] = float32(s)
		}
	}
	return out
}
