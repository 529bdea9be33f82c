package kernels

import "math"

// Portable twins of the kernel module's exports: plain Go that performs, value for value, the
// float32 operations a kernel performs, in the same order, so that its results are the kernel's
// bit for bit. They run wherever the kernel module does not (native builds, a Wasm engine
// without SIMD), so an answer does not depend on the engine: the CLI on amd64, Node, Chromium
// and workerd agree to the last bit (portable_test.go checks each twin against its kernel; the
// JS tests compare the package in Node, Chromium and the Worker with the CLI end to end). The
// float64 references (LayerNorm, Softmax, GELU, …) stay as the tests' measure of accuracy.
//
// Every product that is added to something is converted to float32 explicitly: the Go spec lets
// a compiler fuse x*y + z into one rounding, even across statements (arm64 does, amd64 with
// GOAMD64=v3 does), and an explicit conversion forbids it (TestTwinsNotFused looks for fused
// multiply-adds in the arm64 and amd64 v3 code). Wasm has no fused multiply-add outside relaxed
// SIMD, which the kernels only use for integer dot products.

// pmax and pmin are f32x4.pmax / pmin on one lane: pmax(a, b) = a < b ? b : a, pmin(a, b) =
// b < a ? b : a (the other operand when neither is less: NaN and ±0 as the kernels have them).
func pmax(a, b float32) float32 {
	if a < b {
		return b
	}
	return a
}

func pmin(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

// roundMagic is 1.5·2^23: x + roundMagic rounds x to an integer (half to even) in the low
// mantissa bits, for |x| < 2^22; the kernels read the integer back from the bits.
const roundMagic = 12582912

// expCephes is one lane of kernels.wat's exp4 without its clamp: Cephes' expf on v in
// [-87.3365, 88.3763].
func expCephes(v float32) float32 {
	j := float32(v*1.44269504088896341) + roundMagic
	n := j - roundMagic
	r := float32(v-float32(n*0.693359375)) - float32(n*-2.12194440e-4)
	p := float32(1.9875691500e-4)
	p = float32(p*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	p = float32(float32(p*float32(r*r))+r) + 1
	return float32(p * math.Float32frombits((math.Float32bits(j)+127)<<23)) // not fused into a caller's add
}

// exp1 is one lane of exp4: e^v, v clamped to [-87.3365, 88.3763] first.
func exp1(v float32) float32 { return expCephes(pmin(pmax(v, -87.3365), 88.3762626647949)) }

// gelu1 is one lane of gelu_erf (gelu4): 0.5·x·(1 + erf(x/√2)) with its rational erf.
func gelu1(x float32) float32 {
	z := pmin(pmax(x*0.70710678118654752, -3.925), 3.925)
	s := z * z
	p := float32(2.0308159491833067e-06)
	p = float32(p*s) + 0.0002874878700822592
	p = float32(p*s) + 0.003876312403008342
	p = float32(p*s) + 0.05308429151773453
	p = float32(p*s) + 0.19297274947166443
	p = float32(p*s) + 1.128378987312317
	q := float32(3.8030670111766085e-05)
	q = float32(q*s) + 0.0011897390941157937
	q = float32(q*s) + 0.015188328921794891
	q = float32(q*s) + 0.11516746133565903
	q = float32(q*s) + 0.5043492913246155
	q = float32(q*s) + 1.0
	h := float32(x * 0.5) // not fused into the add below
	return h + float32(h*((z*p)/q))
}

// geluGo is gelu_erf's twin.
func geluGo(x []float32) {
	for i, v := range x {
		x[i] = gelu1(v)
	}
}

// softmaxRowsGo is softmax_rows' twin, under SoftmaxRows' conditions for the kernel (ld % 4 ==
// 0, ld and len(bias) at least n rounded up to 4): the running max and sum kept in 4 lanes
// (value j in lane j % 4), the lanes past n in the last group of 4 set to -inf before the max
// (their e^(-87.3) is in the sum) and to 0 at the end.
func softmaxRowsGo(x []float32, ld, rows, n int, scale float32, bias []float32) {
	n4 := (n + 3) &^ 3
	for i := 0; i < rows; i++ {
		r := x[i*ld : i*ld+n4]
		m := [4]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
		for j := range r {
			v := float32(math.Inf(-1))
			if j < n {
				v = float32(r[j]*scale) + bias[j]
			}
			r[j] = v
			m[j&3] = pmax(v, m[j&3])
		}
		mx := max(max(m[0], m[1]), max(m[2], m[3])) // f32.max: NaN wins, max(-0, +0) = +0
		var s [4]float32
		for j, v := range r {
			e := expCephes(pmax(v-mx, -87.3365))
			r[j] = e
			s[j&3] += e
		}
		inv := 1 / ((s[0] + s[1]) + (s[2] + s[3]))
		for j := range r {
			if j < n {
				r[j] *= inv
			} else {
				r[j] = 0
			}
		}
	}
}

// layerNormGo is layer_norm's twin (n = len(gamma), n % 4 == 0): each statistic summed by
// vectors of 4 values into four accumulators (vector v into accumulator v % 4 while 4 whole
// vectors remain, the rest into the first), combined as (a0 + a1) + (a2 + a3) lane-wise, then
// the lanes as (l0 + l1) + (l2 + l3).
func layerNormGo(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	n := len(gamma)
	nv := n / 4
	full := nv &^ 3 // vectors summed round-robin into the four accumulators
	sum := func(f func(j int) float32) float32 {
		var a [4][4]float32
		for v := 0; v < nv; v++ {
			acc := 0
			if v < full {
				acc = v & 3
			}
			for l := 0; l < 4; l++ {
				a[acc][l] += f(4*v + l)
			}
		}
		var t [4]float32
		for l := range t {
			t[l] = (a[0][l] + a[1][l]) + (a[2][l] + a[3][l])
		}
		return (t[0] + t[1]) + (t[2] + t[3])
	}
	for i := 0; i < rows; i++ {
		r, d := x[i*n:(i+1)*n], dst[i*n:(i+1)*n]
		mean := sum(func(j int) float32 { return r[j] }) / float32(n)
		variance := sum(func(j int) float32 { c := r[j] - mean; return float32(c * c) }) / float32(n)
		inv := 1 / float32(math.Sqrt(float64(variance+eps))) // f32.sqrt: correctly rounded either way
		for j, v := range r {
			d[j] = float32(float32((v-mean)*inv)*gamma[j]) + beta[j]
		}
	}
}

// gemmNTGo is sgemm_nt's twin (k % 4 == 0): each output's products summed in 4 lanes (product p
// in lane p % 4), in order of p, then (l0 + l2) + (l1 + l3) for the columns of whole groups of 4
// and (l0 + l1) + (l2 + l3) for the last n % 4 columns. Two columns at a time share x's loads.
func gemmNTGo(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	n4 := n &^ 3
	j := 0
	for ; j < n4; j += 2 { // columns outside, rows inside: the two rows of w stay in L1 while x streams
		wa, wb := w[j*ldw:j*ldw+k], w[(j+1)*ldw:(j+1)*ldw+k]
		for i := 0; i < m; i++ {
			xr := x[i*ldx : i*ldx+k]
			var a0, a1, a2, a3, b0, b1, b2, b3 float32
			for p := 0; p+4 <= k; p += 4 {
				xs, as, bs := xr[p:p+4:p+4], wa[p:p+4:p+4], wb[p:p+4:p+4]
				a0 += float32(xs[0] * as[0])
				a1 += float32(xs[1] * as[1])
				a2 += float32(xs[2] * as[2])
				a3 += float32(xs[3] * as[3])
				b0 += float32(xs[0] * bs[0])
				b1 += float32(xs[1] * bs[1])
				b2 += float32(xs[2] * bs[2])
				b3 += float32(xs[3] * bs[3])
			}
			dst[i*ldd+j], dst[i*ldd+j+1] = (a0+a2)+(a1+a3), (b0+b2)+(b1+b3)
		}
	}
	for ; j < n; j++ {
		wr := w[j*ldw : j*ldw+k]
		for i := 0; i < m; i++ {
			xr := x[i*ldx : i*ldx+k]
			var s0, s1, s2, s3 float32
			for p := 0; p+4 <= k; p += 4 {
				xs, ws := xr[p:p+4:p+4], wr[p:p+4:p+4]
				s0 += float32(xs[0] * ws[0])
				s1 += float32(xs[1] * ws[1])
				s2 += float32(xs[2] * ws[2])
				s3 += float32(xs[3] * ws[3])
			}
			dst[i*ldd+j] = (s0 + s1) + (s2 + s3)
		}
	}
}

// mulQ8Go is the integer recipe of simdMulQ8 (quant_i16 + qgemm_packed) in plain Go for a
// row-major Q8 matrix with blocks IntBlock takes: x quantized by QuantizeI16Rows, then per output
// Σ_b float32(T_b)·(s[i,b]·w.Scale[j,b]) in order of b, T_b the exact integer sum of block b.
// GemmQ8I16 is the same arithmetic on any layout, one weight at a time.
func mulQ8Go(dst, x []float32, rows int, w *Q8) {
	if w.Packed() {
		q, s := quantizeI16Go(x, rows, w.In, w.Block)
		GemmQ8I16(dst, q, s, rows, w)
		return
	}
	k, bs, nb := w.In, w.Block, w.In/w.Block
	q, s := quantizeI16Go(x, rows, k, bs)
	p01, p23 := make([]int64, k), make([]int64, k)
	for j := 0; j < w.Out; j += 4 { // Out % 8 == 0 (q8Eligible)
		pairs(p01, w.Q[j*k:(j+1)*k], w.Q[(j+1)*k:(j+2)*k])
		pairs(p23, w.Q[(j+2)*k:(j+3)*k], w.Q[(j+3)*k:(j+4)*k])
		s0, s1, s2, s3 := w.Scale[j*nb:(j+1)*nb], w.Scale[(j+1)*nb:(j+2)*nb], w.Scale[(j+2)*nb:(j+3)*nb], w.Scale[(j+3)*nb:(j+4)*nb]
		for i := 0; i < rows; i++ {
			qr, sr := q[i*k:(i+1)*k], s[i*nb:(i+1)*nb]
			var c0, c1, c2, c3 float32
			for b, sx := range sr {
				o := b * bs
				t0, t1, t2, t3 := dot4(qr[o:o+bs], p01[o:o+bs], p23[o:o+bs])
				c0 += float32(float32(t0) * (sx * s0[b]))
				c1 += float32(float32(t1) * (sx * s1[b]))
				c2 += float32(float32(t2) * (sx * s2[b]))
				c3 += float32(float32(t3) * (sx * s3[b]))
			}
			d := dst[i*w.Out+j : i*w.Out+j+4]
			d[0], d[1], d[2], d[3] = c0, c1, c2, c3
		}
	}
}

// pairs packs two rows of int8 weights per int64, w0[p] + w1[p]·2³², so that one 64-bit multiply
// by an activation gives both products (dot4).
func pairs(dst []int64, w0, w1 []int8) []int64 {
	dst = dst[:len(w0)]
	for p := range dst {
		dst[p] = int64(w0[p]) + int64(w1[p])<<32
	}
	return dst
}

// dot4 returns the exact integer dot products of one block of activations q (at most 128) with 4
// weight rows, packed two per int64 by pairs: Σ q·(w0 + w1·2³²) = T0 + T1·2³² exactly (|T| <
// 2³¹: at most 128·32767·127), so T0 is its low 32 bits as a signed number and T1 the rest.
func dot4[T int16 | uint8](q []T, p01, p23 []int64) (t0, t1, t2, t3 int32) {
	p01, p23 = p01[:len(q)], p23[:len(q)]
	var s01, s23 int64
	for p, v := range q {
		a := int64(v)
		s01 += a * p01[p]
		s23 += a * p23[p]
	}
	t0, t2 = int32(s01), int32(s23)
	return t0, int32((s01 - int64(t0)) >> 32), t2, int32((s23 - int64(t2)) >> 32)
}

func quantizeI16Go(x []float32, rows, k, block int) ([]int16, []float32) {
	q, s := make([]int16, rows*k), make([]float32, rows*(k/block))
	QuantizeI16Rows(q, s, x, rows, k, block)
	return q, s
}

// mulQ8U7Go is the 7-bit recipe (quant_u7 + qgemm_r7, or quant_u7_i16 + qgemm_u7) in plain Go for
// a Q8 matrix with blocks of Q8Block: x quantized by QuantizeU7Rows, then per output
// Σ_b [(T_b·dx[i,b])·sw[j,b] + lx[i,b]·ws[j,b]] in order of b, ws the block's scale times the sum
// of its int8 weights (blockSum). GemmQ8U7 is the same arithmetic, one weight at a time.
func mulQ8U7Go(dst, x []float32, rows int, w *Q8) {
	k, nb := w.In, w.In/Q8Block
	q, s := make([]uint8, rows*k), make([]float32, 2*rows*nb)
	QuantizeU7Rows(q, s, x, rows, k)
	if w.Packed() {
		GemmQ8U7(dst, q, s, rows, w)
		return
	}
	ws := make([]float32, 4*nb)
	p01, p23 := make([]int64, k), make([]int64, k)
	for j := 0; j < w.Out; j += 4 { // Out % 8 == 0 (q8Eligible)
		pairs(p01, w.Q[j*k:(j+1)*k], w.Q[(j+1)*k:(j+2)*k])
		pairs(p23, w.Q[(j+2)*k:(j+3)*k], w.Q[(j+3)*k:(j+4)*k])
		sw := w.Scale[j*nb : (j+4)*nb] // the 4 rows' scales, row-major
		for r := 0; r < 4; r++ {
			for b := 0; b < nb; b++ {
				ws[r*nb+b] = w.blockSum(j+r, b)
			}
		}
		for i := 0; i < rows; i++ {
			qr, sr := q[i*k:(i+1)*k], s[2*i*nb:2*(i+1)*nb]
			var c0, c1, c2, c3 float32
			for b := 0; b < nb; b++ {
				o := b * Q8Block
				t0, t1, t2, t3 := dot4(qr[o:o+Q8Block], p01[o:o+Q8Block], p23[o:o+Q8Block])
				d, lo := sr[2*b], sr[2*b+1]
				c0 += float32(float32(float32(t0)*d)*sw[b]) + float32(lo*ws[b])
				c1 += float32(float32(float32(t1)*d)*sw[nb+b]) + float32(lo*ws[nb+b])
				c2 += float32(float32(float32(t2)*d)*sw[2*nb+b]) + float32(lo*ws[2*nb+b])
				c3 += float32(float32(float32(t3)*d)*sw[3*nb+b]) + float32(lo*ws[3*nb+b])
			}
			dd := dst[i*w.Out+j : i*w.Out+j+4]
			dd[0], dd[1], dd[2], dd[3] = c0, c1, c2, c3
		}
	}
}

// dgelu1 is one lane of gelu_erf_backward's dgelu4: GELU'(x) = Φ(x) + x·φ(x), Φ with gelu1's
// rational erf, φ(x) = e^(−x²/2)/√(2π) with exp1.
func dgelu1(x float32) float32 {
	z := pmin(pmax(x*0.70710678118654752, -3.925), 3.925)
	s := z * z
	p := float32(2.0308159491833067e-06)
	p = float32(p*s) + 0.0002874878700822592
	p = float32(p*s) + 0.003876312403008342
	p = float32(p*s) + 0.05308429151773453
	p = float32(p*s) + 0.19297274947166443
	p = float32(p*s) + 1.128378987312317
	q := float32(3.8030670111766085e-05)
	q = float32(q*s) + 0.0011897390941157937
	q = float32(q*s) + 0.015188328921794891
	q = float32(q*s) + 0.11516746133565903
	q = float32(q*s) + 0.5043492913246155
	q = float32(q*s) + 1.0
	phi := 0.5 + float32(0.5*((z*p)/q))
	return phi + float32(float32(x*0.3989422804014327)*exp1(float32(x*x)*-0.5))
}

// geluBackwardGo is gelu_erf_backward's twin: dy[i] *= dgelu1(x[i]).
func geluBackwardGo(dy, x []float32) {
	x = x[:len(dy)]
	for i, v := range x {
		dy[i] *= dgelu1(v)
	}
}

// layerNormBackwardGo is layer_norm_backward's twin (n = len(gamma), n % 4 == 0): with
// g = dy·gamma, the sums of g and g·x̂ in 4 lanes (value j in lane j % 4), each combined as
// (l0 + l1) + (l2 + l3) and multiplied by 1/n, then dx = rstd·((g − mean g) − x̂·mean(g·x̂)).
func layerNormBackwardGo(dx, dy []float32, rows int, gamma, xhat, rstd []float32) {
	n := len(gamma)
	inv := 1 / float32(n)
	for r := 0; r < rows; r++ {
		yr, xh, dr := dy[r*n:(r+1)*n], xhat[r*n:(r+1)*n], dx[r*n:(r+1)*n]
		var ag, agx [4]float32
		for j, v := range yr {
			g := float32(v * gamma[j])
			ag[j&3] += g
			agx[j&3] += float32(g * xh[j])
		}
		mg := float32(inv * ((ag[0] + ag[1]) + (ag[2] + ag[3]))) // not fused into g - mg
		mgx := float32(inv * ((agx[0] + agx[1]) + (agx[2] + agx[3])))
		rs := rstd[r]
		for j, v := range yr {
			g := float32(v * gamma[j])
			dr[j] = rs * ((g - mg) - float32(xh[j]*mgx))
		}
	}
}
