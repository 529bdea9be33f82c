package kernels

import (
	"fmt"

	"github.com/x448/float16"
)

// F16 is an IEEE 754 binary16 weight matrix W [Out, In] (nn.Linear layout), row-major, held as
// the raw bits so a model file's bytes can be used in place.
type F16 struct {
	Out, In int
	W       []uint16 // [Out, In], float16 bits
}

// NewF16 wraps w as an [out, in] matrix; it panics if the length is wrong (a programming error).
func NewF16(out, in int, w []uint16) *F16 {
	if len(w) != out*in {
		panic(fmt.Sprintf("kernels: NewF16: len %d != %d*%d", len(w), out, in))
	}
	return &F16{Out: out, In: in, W: w}
}

// ToF16 rounds w to float16 (round to nearest even, as torch's .half()).
func ToF16(w []float32) []uint16 {
	h := make([]uint16, len(w))
	for i, v := range w {
		h[i] = uint16(float16.Fromfloat32(v))
	}
	return h
}

// F16ToF32 widens float16 bits to float32 (exact) into dst.
func F16ToF32(dst []float32, h []uint16) {
	dst = dst[:len(h)]
	for i, v := range h {
		dst[i] = float16.Frombits(v).Float32()
	}
}

// Dims returns (Out, In).
func (m *F16) Dims() (int, int) { return m.Out, m.In }

// Dequantize writes W as float32 into dst [Out, In]: the reference the kernel is tested against.
func (m *F16) Dequantize(dst []float32) { F16ToF32(dst[:m.Out*m.In], m.W) }

// Row writes row o of W as float32 into dst [In]: an embedding lookup.
func (m *F16) Row(dst []float32, o int) { F16ToF32(dst[:m.In], m.W[o*m.In:(o+1)*m.In]) }

// MulT computes dst[rows,Out] = x[rows,In]·Wᵀ with float32 arithmetic on the widened weights
// (exact widening, so only the summation order differs from F32 on the same values).
func (m *F16) MulT(dst, x []float32, rows int) {
	_ = dst[rows*m.Out-1]
	_ = x[rows*m.In-1]
	var buf [tileRows * tileK]float32
	for j := 0; j < m.Out; j += tileRows {
		nr := min(tileRows, m.Out-j)
		for k := 0; k < m.In; k += tileK {
			n := min(tileK, m.In-k)
			m.widenTile(buf[:], j, nr, k, n)
			mulTile(dst, x, rows, m.Out, m.In, buf[:], j, nr, k, n)
		}
	}
}

func (m *F16) widenTile(buf []float32, j, nr, k, n int) {
	for r := 0; r < nr; r++ {
		o := j + r
		F16ToF32(buf[r*n:r*n+n], m.W[o*m.In+k:o*m.In+k+n])
	}
}
