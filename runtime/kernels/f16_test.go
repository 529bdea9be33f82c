package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestF16RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	w := randMatrix(r, 4096, 0.05)
	w = append(w, 0, -0, 65504, -65504, 6.1035156e-05, 1e-8) // zero, max, min normal, a subnormal
	h := ToF16(w)
	d := make([]float32, len(w))
	F16ToF32(d, h)
	for i, v := range w {
		a := math.Abs(float64(v))
		if a < 6.1035156e-05 { // subnormal range: absolute bound of half a subnormal step
			if e := math.Abs(float64(d[i] - v)); e > 0x1p-25 {
				t.Fatalf("w=%g → %g: error %g", v, d[i], e)
			}
			continue
		}
		if e := math.Abs(float64(d[i]-v)) / a; e > f16RoundTrip {
			t.Fatalf("w=%g → %g: relative error %g > %g", v, d[i], e, f16RoundTrip)
		}
	}
}

func TestF16MulTMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range shapes {
		t.Run(fmt.Sprintf("%dx%dx%d", s.rows, s.out, s.in), func(t *testing.T) {
			w := randMatrix(r, s.out*s.in, 0.05)
			x := randMatrix(r, s.rows*s.in, 1)
			m := NewF16(s.out, s.in, ToF16(w))
			dq := make([]float32, len(w))
			m.Dequantize(dq)
			want := refMulT(x, s.rows, s.in, dq, s.out)
			exact := refMulT(x, s.rows, s.in, w, s.out)
			got := make([]float32, s.rows*s.out)
			m.MulT(got, x, s.rows)
			row := make([]float32, s.in)
			for j := 0; j < s.out; j++ {
				m.Row(row, j)
				for k, v := range row {
					if v != dq[j*s.in+k] {
						t.Fatalf("Row(%d)[%d] = %g, Dequantize has %g", j, k, v, dq[j*s.in+k])
					}
				}
			}
			for i := 0; i < s.rows; i++ {
				for j := 0; j < s.out; j++ {
					g := got[i*s.out+j]
					ad := absDot(x, i, s.in, w, j)
					if d := math.Abs(float64(g - want[i*s.out+j])); d > tolSummation*absDot(x, i, s.in, dq, j)+1e-30 {
						t.Fatalf("(%d,%d): got %g, reference %g", i, j, g, want[i*s.out+j])
					}
					if d := math.Abs(float64(g - exact[i*s.out+j])); d > (f16RoundTrip+tolSummation)*ad {
						t.Fatalf("(%d,%d): got %g, f32 weights give %g: error %g > %g", i, j, g, exact[i*s.out+j], d, (f16RoundTrip+tolSummation)*ad)
					}
				}
			}
		})
	}
}

func TestF16MulTDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	m := NewF16(64, 320, ToF16(randMatrix(r, 64*320, 1)))
	x := randMatrix(r, 3*320, 1)
	y := make([]float32, 3*64)
	if n := testing.AllocsPerRun(10, func() { m.MulT(y, x, 3) }); n != 0 {
		t.Fatalf("F16.MulT allocates %v times per call", n)
	}
}
