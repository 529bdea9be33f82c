package adapters

import (
	"math"
	"math/rand"
	"testing"
)

// TestFirstNonFinite: the two-floats-at-a-time scan finds the same first NaN/±Inf as a plain
// loop, at every alignment, length and position.
func TestFirstNonFinite(t *testing.T) {
	ref := func(v []float32) int {
		for i, x := range v {
			if x-x != 0 {
				return i
			}
		}
		return -1
	}
	specials := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000), // NaN payloads
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 0, float32(math.Copysign(0, -1))}
	r := rand.New(rand.NewSource(1))
	for it := 0; it < 100000; it++ {
		n := r.Intn(40)
		buf := make([]float32, n+1)
		v := buf[r.Intn(2):][:n] // 8- and 4-byte aligned starts
		for i := range v {
			if r.Intn(3) == 0 {
				v[i] = math.Float32frombits(r.Uint32()) // any bits: NaN and Inf now and then
			} else {
				v[i] = float32(r.NormFloat64())
			}
		}
		for k := r.Intn(3); k > 0 && n > 0; k-- {
			v[r.Intn(n)] = specials[r.Intn(len(specials))]
		}
		if got, want := firstNonFinite(v), ref(v); got != want {
			t.Fatalf("firstNonFinite(%v) = %d, want %d", v, got, want)
		}
	}
	if got := firstNonFinite(nil); got != -1 {
		t.Errorf("firstNonFinite(nil) = %d", got)
	}
}
