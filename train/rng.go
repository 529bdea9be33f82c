package train

import "math"

// torchRNG reproduces torch's CPU generator (at::mt19937, aten/src/ATen/core/MT19937RNGEngine.h)
// as torch.manual_seed leaves it, and the float32 samplers the library's initialisers call
// (aten/src/ATen/native/cpu/DistributionTemplates.h: uniform_ and normal_fill), so that an
// adapter initialised here from init_weights_seed holds the values the library gives it.
type torchRNG struct {
	mt  [624]uint32
	idx int
}

// newTorchRNG is torch.manual_seed(seed) on the CPU generator.
func newTorchRNG(seed uint64) *torchRNG {
	r := &torchRNG{}
	r.mt[0] = uint32(seed)
	for j := 1; j < 624; j++ {
		r.mt[j] = 1812433253*(r.mt[j-1]^(r.mt[j-1]>>30)) + uint32(j)
	}
	r.idx = 624
	return r
}

// random is mt19937's next 32-bit output.
func (r *torchRNG) random() uint32 {
	if r.idx >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for i := 0; i < 624; i++ {
			y := (r.mt[i] & upper) | (r.mt[(i+1)%624] & lower)
			v := r.mt[(i+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[i] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// random64 is CPUGeneratorImpl::random64: two outputs, the first in the high half.
func (r *torchRNG) random64() uint64 {
	hi := r.random()
	lo := r.random()
	return uint64(hi)<<32 | uint64(lo)
}

// uniform32 is at::uniform_real_distribution<float>(from, to): 24 random bits.
func (r *torchRNG) uniform32(from, to float32) float32 {
	x := float32(r.random()&(1<<24-1)) * (1.0 / (1 << 24))
	return x*(to-from) + from
}

// uniform fills w as tensor.uniform_(from, to) does on a float32 tensor.
func (r *torchRNG) uniform(w []float32, from, to float64) {
	f, t := float32(from), float32(to)
	for i := range w {
		w[i] = r.uniform32(f, t)
	}
}

// normal fills w as tensor.normal_(mean, std) does on a contiguous float32 tensor: normal_fill
// (Box-Muller over blocks of 16 uniforms, the last 16 redrawn when the size is not a multiple of
// 16) for 16 or more values, at::normal_distribution<double> below that.
func (r *torchRNG) normal(w []float32, mean, std float64) {
	n := len(w)
	if n < 16 {
		for i := range w {
			w[i] = float32(r.normalDouble(mean, std))
		}
		return
	}
	for i := range w {
		w[i] = r.uniform32(0, 1)
	}
	m, s := float32(mean), float32(std)
	for i := 0; i+16 <= n; i += 16 {
		normalFill16(w[i:i+16], m, s)
	}
	if n%16 != 0 {
		tail := w[n-16:]
		for i := range tail {
			tail[i] = r.uniform32(0, 1)
		}
		normalFill16(tail, m, s)
	}
}

// normalFill16 is normal_fill_16 in float32 arithmetic.
func normalFill16(d []float32, mean, std float32) {
	for j := 0; j < 8; j++ {
		u1 := 1 - d[j]
		u2 := d[j+8]
		radius := float32(math.Sqrt(float64(-2 * float32(math.Log(float64(u1))))))
		theta := float32(2.0 * math.Pi * float64(u2))
		d[j] = radius*float32(math.Cos(float64(theta)))*std + mean
		d[j+8] = radius*float32(math.Sin(float64(theta)))*std + mean
	}
}

// normalDouble is at::normal_distribution<double> (without the cached second sample, which
// tensor.normal_ does not use).
func (r *torchRNG) normalDouble(mean, std float64) float64 {
	u1 := float64(r.random64()&(1<<53-1)) * (1.0 / (1 << 53))
	u2 := float64(r.random64()&(1<<53-1)) * (1.0 / (1 << 53))
	rad := math.Sqrt(-2 * math.Log1p(-u2))
	theta := 2 * math.Pi * u1
	return rad*math.Cos(theta)*std + mean
}

// kaimingUniform is nn.init.kaiming_uniform_(w, a) on a weight [out, in] (fan_in = in,
// leaky_relu gain): nn.Linear's default weight init with a = √5.
func (r *torchRNG) kaimingUniform(w []float32, in int, a float64) {
	gain := math.Sqrt(2 / (1 + a*a))
	bound := math.Sqrt(3) * gain / math.Sqrt(float64(in))
	r.uniform(w, -bound, bound)
}

// linearDefault draws what nn.Linear(in, out) draws when it is built: kaiming_uniform_(weight,
// √5), then bias uniform(±1/√in). The values are overwritten by the initialisers that follow;
// the draws matter for the state of the generator.
func (r *torchRNG) linearDefault(w, b []float32, in int) {
	r.kaimingUniform(w, in, math.Sqrt(5))
	if b != nil {
		bound := 1 / math.Sqrt(float64(in))
		r.uniform(b, -bound, bound)
	}
}
