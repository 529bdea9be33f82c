package kernels

import "fmt"

// Matrix is a weight matrix W of shape [Out, In] (PyTorch's nn.Linear layout) in some storage
// format. MulT computes dst[rows,Out] = x[rows,In]·Wᵀ. Implementations: F32 here; quantized
// formats live beside it and are tested against F32.
type Matrix interface {
	Dims() (out, in int)
	MulT(dst, x []float32, rows int)
}

// F32 is a float32 weight matrix [Out, In], row-major.
type F32 struct {
	Out, In int
	W       []float32 // [Out, In]
}

// NewF32 wraps w as an [out, in] matrix; it panics if the length is wrong (a programming error:
// loaders check shapes and return errors before calling it).
func NewF32(out, in int, w []float32) *F32 {
	if len(w) != out*in {
		panic(fmt.Sprintf("kernels: NewF32: len %d != %d*%d", len(w), out, in))
	}
	return &F32{Out: out, In: in, W: w}
}

// Dims returns (Out, In).
func (m *F32) Dims() (int, int) { return m.Out, m.In }

// MulT computes dst[rows,Out] = x[rows,In]·Wᵀ.
func (m *F32) MulT(dst, x []float32, rows int) { MatMulT(dst, x, rows, m.In, m.W, m.Out) }

// MatMulT computes dst[m,n] = x[m,k]·w[n,k]ᵀ. It works on 4 output columns at a time so
// each load of an x row feeds four independent dot products. Products are converted to float32
// before they are added (here, in Dot and in Q8.MulT): no compiler fuses them into one rounding
// (arm64 would), so every architecture and Wasm give the same sums.
func MatMulT(dst, x []float32, m, k int, w []float32, n int) {
	_ = dst[m*n-1]
	_ = x[m*k-1]
	_ = w[n*k-1]
	for i := 0; i < m; i++ {
		xr := x[i*k : i*k+k]
		dr := dst[i*n : i*n+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			w0 := w[j*k : j*k+k]
			w1 := w[(j+1)*k : (j+1)*k+k]
			w2 := w[(j+2)*k : (j+2)*k+k]
			w3 := w[(j+3)*k : (j+3)*k+k]
			var s0, s1, s2, s3 float32
			for p, xv := range xr {
				s0 += float32(xv * w0[p])
				s1 += float32(xv * w1[p])
				s2 += float32(xv * w2[p])
				s3 += float32(xv * w3[p])
			}
			dr[j], dr[j+1], dr[j+2], dr[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			dr[j] = Dot(xr, w[j*k:j*k+k])
		}
	}
}

// Dot returns the dot product of a and b (len(b) >= len(a)).
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float32(a[i] * b[i])
		s1 += float32(a[i+1] * b[i+1])
		s2 += float32(a[i+2] * b[i+2])
		s3 += float32(a[i+3] * b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float32(a[i] * b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// AddBias adds bias[n] to every row of x[rows,n].
func AddBias(x []float32, rows int, bias []float32) {
	n := len(bias)
	for i := 0; i < rows; i++ {
		r := x[i*n : i*n+n]
		for j, b := range bias {
			r[j] += b
		}
	}
}

// Add sets dst[i] = a[i] + b[i] for i < len(a) (dst may be a or b), with add_f32 when the SIMD
// kernels are in use (the same float32 sums).
func Add(dst, a, b []float32) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	if n := len(a) &^ 3; n >= simdMinLen && SIMD() {
		simdAdd(dst[:n], a[:n], b[:n])
		dst, a, b = dst[n:], a[n:], b[n:]
	}
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

// Scale multiplies x by s in place, with scale_f32 when the SIMD kernels are in use (the same
// float32 products).
func Scale(x []float32, s float32) {
	if n := len(x) &^ 3; n >= simdMinLen && SIMD() {
		simdScale(x[:n], s)
		x = x[n:]
	}
	for i := range x {
		x[i] *= s
	}
}

// simdMinLen is the length from which the element-wise kernels are worth a call into the
// kernel module.
const simdMinLen = 64
