package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/x448/float16"
)

// Q8Block is the number of consecutive weights of a row that share one scale in a blocked Q8
// matrix: ggml's QK8_0 (ggml/src/ggml-common.h, block_q8_0), and the only block of the 7-bit
// (relaxed) recipe.
const Q8Block = 32

// IntBlock reports whether the integer kernels (quant_i16 + qgemm_packed, and their Go twins)
// take a Q8 matrix with blocks of b: 32, 64 or 128. Larger blocks cost fewer scalings per
// product (qgemm_packed scales each block's int32 sums into float32; 7% and 11% faster than 32
// at 64 and 128) for a larger weight error; |Σ q·w| over a block stays below 128·32767·127 <
// 2³¹.
func IntBlock(b int) bool { return b == 32 || b == 64 || b == 128 }

// Q8 is an int8 weight matrix W [Out, In] (nn.Linear layout) with one scale per block of Block
// consecutive weights of a row:
//
//	W[o][k] ≈ Scale[o*(In/Block) + k/Block] · Q[o*In + k]
//
// Block == Q8Block is ggml's Q8_0 numerics (d = amax/127, q = round(x/d), d stored as f16) in a
// planar layout: the int8 values of a row are contiguous and the scales live in their own array,
// so that a SIMD kernel streams whole rows. Block == In is one scale per output row.
//
// The first product by a SIMD integer kernel rearranges Q and Scale in place into that
// kernel's layout (pack_q8 for qgemm_packed: for every 4 rows, the k-pairs of the 4 rows
// interleaved, and those of each 8 rows' two quads interleaved; packQ7 for qgemm_r7: for every 8
// rows, their k-quads interleaved; see Packed), so
// that no product repacks them and no second copy of the weights exists. Every method of Q8
// reads every layout; code that reads Q or Scale directly must check Packed first.
type Q8 struct {
	Out, In, Block int
	Q              []int8    // [Out, In], or a kernel's layout once Packed
	Scale          []float32 // [Out, In/Block], or a kernel's layout once Packed

	packed uint8 // packNone, packPairs or packOcts

	// corr holds, for qgemm_u7 (the relaxed recipe without relaxed SIMD), each block's scale times
	// the sum of its int8 weights in pack_q8's scale layout (scaledBlockSums); nil until then.
	corr []float32
}

// The layouts of a Q8 matrix (Q8.packed).
const (
	packNone  = 0 // row-major
	packPairs = 1 // pack_q8's, for qgemm_packed
	packOcts  = 2 // packQ7's, for qgemm_r7 (relaxed SIMD)
)

// Packed reports whether Q and Scale are in a kernel's layout instead of row-major. pack_q8's
// (qgemm_packed): W[o][k] is Q[(o/8)·8·In + (k/2)·16 + ((o/4)%2)·8 + (o%4)·2 + k%2] and the
// scale of its block b = k/Block is Scale[((o/4)·(In/Block) + b)·4 + o%4]. packQ7's (qgemm_r7): W[o][k] is
// Q[(o/8)·8·In + (k/4)·32 + (o%8)·4 + k%4] and its scale Scale[((o/8)·nb + b)·16 + ((o/4)%2)·8
// + o%4], followed 4 floats later by that scale times the sum of the block's int8 weights (Scale
// is twice as long). Only matrices with Out % 8 == 0 are ever packed: by pack_q8 with a block
// IntBlock takes, by packQ7 with Block == Q8Block.
func (m *Q8) Packed() bool { return m.packed != packNone }

// at returns W[o][k] as int8 and the scale of its block, in any layout.
func (m *Q8) at(o, k int) (int8, float32) {
	nb := m.In / m.Block
	b := k / m.Block
	switch m.packed {
	case packPairs:
		return m.Q[(o>>3)*8*m.In+(k>>1)*16+((o>>2)&1)*8+(o&3)*2+k&1], m.Scale[((o>>2)*nb+b)*4+o&3]
	case packOcts:
		return m.Q[(o>>3)*8*m.In+(k>>2)*32+(o&7)*4+k&3], m.Scale[((o>>3)*nb+b)*16+((o>>2)&1)*8+o&3]
	}
	return m.Q[o*m.In+k], m.Scale[o*nb+b]
}

// unpack rearranges a packed m back into the row-major layout (a product by the other integer
// kernel's layout follows: SetQ8Relaxed changed, or tests).
func (m *Q8) unpack() {
	if m.packed == packNone {
		return
	}
	nb := m.In / m.Block
	q := make([]int8, m.Out*m.In)
	sc := make([]float32, m.Out*nb)
	for o := 0; o < m.Out; o++ {
		for k := 0; k < m.In; k++ {
			v, d := m.at(o, k)
			q[o*m.In+k] = v
			if k%m.Block == 0 {
				sc[o*nb+k/m.Block] = d
			}
		}
	}
	m.Q, m.Scale, m.packed = q, sc, packNone
}

// reblock rewrites m with blocks of Q8Block, row-major, each of its scales repeated Block/Q8Block
// times: the same W (every weight keeps its int8 value and its scale), in the only block the
// 7-bit recipe's kernels take (their activations' scales are per 32 values). Block must be a
// multiple of Q8Block.
func (m *Q8) reblock() {
	if m.Block == Q8Block {
		return
	}
	m.unpack()
	r := m.Block / Q8Block
	s := make([]float32, len(m.Scale)*r)
	for i, v := range m.Scale {
		for j := range r {
			s[i*r+j] = v
		}
	}
	m.Scale, m.Block, m.corr = s, Q8Block, nil
}

// packQ7 rearranges m (row-major, Block == Q8Block, Out % 8 == 0) in place into qgemm_r7's
// layout (see Packed): the int8 weights of 8 rows interleaved by k-quads, and per block of those
// 8 rows their scales and the scales times the sums of their blocks' weights (the correction
// of qgemm_r7's unsigned activations). Plain Go: it runs once per matrix.
func (m *Q8) packQ7() {
	if m.packed == packOcts {
		return
	}
	m.unpack()
	n, k, nb := m.Out, m.In, m.In/Q8Block
	q := make([]int8, n*k)
	sc := make([]float32, 2*n*nb)
	// The k-quads move as uint32s (4 bytes at a time: Go's plain loops under Wasm are slow, and
	// this runs on every matrix's first product; Wasm loads need no alignment).
	src32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(m.Q))), n*k/4)
	dst32 := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(q))), n*k/4)
	k4 := k / 4
	for j := 0; j < n; j += 8 {
		dst := dst32[j*k4 : (j+8)*k4]
		for c := 0; c < 8; c++ {
			row32 := src32[(j+c)*k4 : (j+c+1)*k4]
			for kq, v := range row32 {
				dst[kq*8+c] = v
			}
			row := m.Q[(j+c)*k : (j+c+1)*k]
			for b := 0; b < nb; b++ {
				var sum int32
				for _, v := range row[b*Q8Block : (b+1)*Q8Block] {
					sum += int32(v)
				}
				d := m.Scale[(j+c)*nb+b]
				p := ((j>>3)*nb+b)*16 + (c>>2)*8 + c&3
				sc[p] = d
				sc[p+4] = d * float32(sum)
			}
		}
	}
	copy(m.Q, q)
	m.Scale, m.packed = sc, packOcts
}

// blockSum returns the scale of W[o]'s block b times the sum of its int8 weights, as packQ7
// stores it (the reference GemmQ8U7 reads it from here in every layout).
func (m *Q8) blockSum(o, b int) float32 {
	var sum int32
	var d float32
	if m.packed == packNone { // row-major: the block's weights in a row, without at's switch
		for _, v := range m.Q[o*m.In+b*m.Block : o*m.In+(b+1)*m.Block] {
			sum += int32(v)
		}
		return m.Scale[o*(m.In/m.Block)+b] * float32(sum)
	}
	for k := b * m.Block; k < (b+1)*m.Block; k++ {
		v, s := m.at(o, k)
		sum += int32(v)
		d = s
	}
	return d * float32(sum)
}

// scaledBlockSums returns Scale·Σ Q over every block of every row (what packQ7 stores beside
// the scales for qgemm_r7, by the same float32 product) in pack_q8's scale layout: the value of
// row o, block b at ((o/4)·(In/Block) + b)·4 + o%4. Out % 4 == 0.
func (m *Q8) scaledBlockSums() []float32 {
	nb := m.In / m.Block
	out := make([]float32, m.Out*nb)
	for o := 0; o < m.Out; o++ {
		for b := 0; b < nb; b++ {
			out[((o>>2)*nb+b)*4+o&3] = m.blockSum(o, b)
		}
	}
	return out
}

// NewQ8 wraps q and scale as an [out, in] matrix with the given block; it panics if the lengths
// or block are inconsistent (a programming error: loaders check shapes and return errors first).
func NewQ8(out, in, block int, q []int8, scale []float32) *Q8 {
	if block <= 0 || in%block != 0 || len(q) != out*in || len(scale) != out*(in/block) {
		panic(fmt.Sprintf("kernels: NewQ8: out %d in %d block %d len(q) %d len(scale) %d", out, in, block, len(q), len(scale)))
	}
	return &Q8{Out: out, In: in, Block: block, Q: q, Scale: scale}
}

// QuantizeQ8 quantizes w [out, in] with one scale per block of block weights (block must divide
// in) as ggml's quantize_row_q8_0_ref does, except that the scale is rounded to float16 first
// (it is stored as F16) and the weights are rounded against that stored scale:
// d = f16(amax/127), q = clamp(round(x/d), -127, 127).
func QuantizeQ8(w []float32, out, in, block int) *Q8 {
	if block <= 0 || in%block != 0 || len(w) != out*in {
		panic(fmt.Sprintf("kernels: QuantizeQ8: out %d in %d block %d len %d", out, in, block, len(w)))
	}
	nb := in / block
	m := &Q8{Out: out, In: in, Block: block, Q: make([]int8, out*in), Scale: make([]float32, out*nb)}
	for b := range m.Scale {
		x := w[b*block : (b+1)*block]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := float16.Fromfloat32(amax / 127).Float32()
		m.Scale[b] = d
		var id float32
		if d != 0 {
			id = 1 / d
		}
		q := m.Q[b*block : (b+1)*block]
		for k, v := range x {
			q[k] = int8(max(-127, min(127, math.Round(float64(v*id)))))
		}
	}
	return m
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// Dims returns (Out, In).
func (m *Q8) Dims() (int, int) { return m.Out, m.In }

// Dequantize writes W as float32 into dst [Out, In]: the reference the kernels are tested against.
func (m *Q8) Dequantize(dst []float32) {
	dst = dst[:m.Out*m.In]
	if m.Packed() {
		for o := 0; o < m.Out; o++ {
			m.Row(dst[o*m.In:(o+1)*m.In], o)
		}
		return
	}
	for b, d := range m.Scale {
		q := m.Q[b*m.Block : (b+1)*m.Block]
		x := dst[b*m.Block : (b+1)*m.Block]
		for k, v := range q {
			x[k] = d * float32(v)
		}
	}
}

// Row writes row o of W as float32 into dst [In]: an embedding lookup.
func (m *Q8) Row(dst []float32, o int) {
	dst = dst[:m.In]
	if m.Packed() {
		for k := range dst {
			q, d := m.at(o, k)
			dst[k] = d * float32(q)
		}
		return
	}
	nb := m.In / m.Block
	q := m.Q[o*m.In : (o+1)*m.In]
	if (m.Block == 16 || IntBlock(m.Block)) && m.In%m.Block == 0 && SIMD() {
		simdDequantQ8Row(dst, q, m.Scale[o*nb:(o+1)*nb], m.Block) // dequant_q8: the same products
		return
	}
	for b, d := range m.Scale[o*nb : (o+1)*nb] {
		for k := b * m.Block; k < (b+1)*m.Block; k++ {
			dst[k] = d * float32(q[k])
		}
	}
}

// MulT computes dst[rows,Out] = x[rows,In]·Wᵀ with float32 activations: each tile of W is
// dequantized once into a stack buffer and reused for every row of x, so the arithmetic is
// MatMulT's and only the weights' rounding differs from F32 (see q8_test.go for the bound).
func (m *Q8) MulT(dst, x []float32, rows int) {
	_ = dst[rows*m.Out-1]
	_ = x[rows*m.In-1]
	var buf [tileRows * tileK]float32
	for j := 0; j < m.Out; j += tileRows {
		nr := min(tileRows, m.Out-j)
		for k := 0; k < m.In; k += tileK {
			n := min(tileK, m.In-k)
			m.dequantTile(buf[:], j, nr, k, n)
			mulTile(dst, x, rows, m.Out, m.In, buf[:], j, nr, k, n)
		}
	}
}

// dequantTile fills buf[r*n : r*n+n] with W[j+r][k : k+n] for r < nr.
func (m *Q8) dequantTile(buf []float32, j, nr, k, n int) {
	if m.Packed() {
		for r := 0; r < nr; r++ {
			for p := 0; p < n; p++ {
				q, d := m.at(j+r, k+p)
				buf[r*n+p] = d * float32(q)
			}
		}
		return
	}
	nb := m.In / m.Block
	for r := 0; r < nr; r++ {
		o := j + r
		q := m.Q[o*m.In+k : o*m.In+k+n]
		sc := m.Scale[o*nb : (o+1)*nb]
		dst := buf[r*n : r*n+n]
		for p := 0; p < n; {
			b := (k + p) / m.Block
			end := min(n, (b+1)*m.Block-k)
			d := sc[b]
			for ; p < end; p++ {
				dst[p] = d * float32(q[p])
			}
		}
	}
}

// tileK is the number of columns of W dequantized at a time; tileRows rows are done at once.
// A tile (4 KB of float32) lives on the stack of MulT.
const (
	tileK    = 256
	tileRows = 4
)

// mulTile accumulates the product of x[rows, in] (columns k..k+n-1) with the float32 tile
// buf holding rows j..j+nr-1, columns k..k+n-1 of W (row r at buf[r*n:]) into dst[rows, out];
// the first tile of a row block (k == 0) assigns instead of adding.
func mulTile(dst, x []float32, rows, out, in int, buf []float32, j, nr, k, n int) {
	if nr == tileRows {
		w0, w1, w2, w3 := buf[0:n], buf[n:2*n], buf[2*n:3*n], buf[3*n:4*n]
		for i := 0; i < rows; i++ {
			xr := x[i*in+k : i*in+k+n]
			var s0, s1, s2, s3 float32
			for p, xv := range xr {
				s0 += float32(xv * w0[p])
				s1 += float32(xv * w1[p])
				s2 += float32(xv * w2[p])
				s3 += float32(xv * w3[p])
			}
			d := dst[i*out+j : i*out+j+4]
			if k == 0 {
				d[0], d[1], d[2], d[3] = s0, s1, s2, s3
			} else {
				d[0] += s0
				d[1] += s1
				d[2] += s2
				d[3] += s3
			}
		}
		return
	}
	for r := 0; r < nr; r++ {
		w := buf[r*n : r*n+n]
		for i := 0; i < rows; i++ {
			s := Dot(x[i*in+k:i*in+k+n], w)
			if k == 0 {
				dst[i*out+j+r] = s
			} else {
				dst[i*out+j+r] += s
			}
		}
	}
}
