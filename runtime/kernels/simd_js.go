//go:build js && wasm && wasmsimd

package kernels

import (
	"math/bits"
	"unsafe"
)

// The kernel module's exports (wat/kernels.wat), imported from the host as module
// "adapterwasm_kernels". The host supplies these as trampolines that call the kernel instance
// once it exists (js/src/runtime.js, wat/go_js_wasm_exec); available reports whether it does.
// Addresses are offsets in the Go instance's linear memory, which the kernel module imports.

//go:wasmimport adapterwasm_kernels available
func kAvailable() int32

//go:wasmimport adapterwasm_kernels abi
func kABI() int32

// kernelABI is the version of the kernel module's exports this code calls (kernels.wat's abi):
// a module from another build whose exports differ is not used (plain-Go kernels instead).
// 4: qgemm_packed's tmp holds 8 floats for each of up to kernelThreads threads. 5: quant_u7.
// 6: attention. 7: pack_q7. 10: quant_i16 writes 4 rows interleaved by k-pairs (qgemm_packed's
// tile), M rounded up to 4 rows. 11: transpose_f32; attention takes the keys transposed.
// 12: qgemm_u7, quant_u7_i16. 13: pack_q8 interleaves the two quads of each panel of 8 rows
// (Q8.at reads that layout). 14: qgemm_packed and qgemm_u7 add a bias. 15: attention takes the
// keys as they are and transposes each head's itself, in a scratch of (T+d)·kvp floats a thread.
// 16: dequant_q8 takes the block's log2 (an embedding table's blocks of 16 too). 17: quant_i16,
// pack_q8, qgemm_packed and q8_gemm_nt take the block's log2 (blocks of 32, 64 or 128).
const kernelABI = 17

//go:wasmimport adapterwasm_kernels pack_q7
func kPackQ7(wp, tp, qw, sw, n, k uint32)

//go:wasmimport adapterwasm_kernels attention
func kAttention(ctx, q, k, v, h, t, kv, d, nh uint32, scale float32, bias, sc, i0, n uint32)

//go:wasmimport adapterwasm_kernels transpose_f32
func kTranspose(d, ldd, x, ldx, rows, cols, rowsp uint32)

//go:wasmimport adapterwasm_kernels threads
func kThreads() int32

// attnScratch is attention's score matrix [T, kvp] and a head's keys transposed [d, kvp], one
// such (T+d)·kvp floats for each kernel thread (the host's threads import: the pool gives thread
// t the t-th).
var attnScratch []float32

// simdAttention calls attention on all B·nh sequence-heads.
func simdAttention(ctx, q, k, v []float32, H, B, T, kv, d, nh int, scale float32, bias []float32) {
	kvp := (kv + 3) &^ 3
	nt := max(1, int(kThreads()))
	attnScratch = growF32(attnScratch, nt*(T+d)*kvp)
	kAttention(addr(ctx), addr(q), addr(k), addr(v), uint32(H), uint32(T), uint32(kv), uint32(d), uint32(nh), scale,
		addr(bias), addr(attnScratch), 0, uint32(B*nh))
}

//go:wasmimport adapterwasm_kernels relaxed_available
func kRelaxedAvailable() int32

//go:wasmimport adapterwasm_kernels abi_relaxed
func kABIRelaxed() int32

// relaxedABI is the version of kernels_relaxed.wat's exports this code calls (its abi_relaxed).
const relaxedABI = 1

//go:wasmimport adapterwasm_kernels quant_u7
func kQuantU7(q, s, x, ldx, m, k uint32)

//go:wasmimport adapterwasm_kernels qgemm_r7
func kQgemmR7(d, ldd, qx, sx, wp, tp, m, k, n, tmp uint32)

//go:wasmimport adapterwasm_kernels qgemm_u7
func kQgemmU7(d, ldd, qx, sx, wp, sp, cp, m, k, n, tmp, bias uint32)

//go:wasmimport adapterwasm_kernels quant_u7_i16
func kQuantU7I16(q, s, x, ldx, m, k uint32)

//go:wasmimport adapterwasm_kernels u7_requested
func kU7Requested() int32

// relaxed caches whether the relaxed module is there (as loaded).
var relaxed uint8

// u7 caches whether the host asks for the 7-bit activations (u7_requested: the package's
// relaxedSimd option), which an engine without relaxed SIMD runs on qgemm_u7 and one without the
// kernel module in plain Go (mulQ8U7Go): the trampolines answer either way.
var u7 uint8

func u7Requested() bool {
	if u7 == 0 {
		u7 = 2
		if kU7Requested() == 1 {
			u7 = 1
		}
	}
	return u7 == 1
}

func relaxedLoaded() bool {
	if relaxed == 0 {
		relaxed = 2
		if kernelsLoaded() && kRelaxedAvailable() == 1 && kABIRelaxed() == relaxedABI {
			relaxed = 1
		}
	}
	return relaxed == 1
}

// kernelThreads is the most threads the host may split one product over (js/src/kernel-pool.js,
// MAX_THREADS): thread t of qgemm_packed uses tmp[8t : 8t+8].
const kernelThreads = 16

//go:wasmimport adapterwasm_kernels sgemm_nt
func kSgemmNT(d, ldd, x, ldx, w, ldw, m, k, n uint32)

//go:wasmimport adapterwasm_kernels sgemm_nn
func kSgemmNN(d, ldd, x, ldx, y, ldy, m, k, n uint32)

//go:wasmimport adapterwasm_kernels quant_i16
func kQuantI16(q, s, x, ldx, m, k, lb uint32)

//go:wasmimport adapterwasm_kernels dequant_q8
func kDequantQ8(w, qw, sw, n, shift uint32)

//go:wasmimport adapterwasm_kernels q8_gemm_nt
func kQ8GemmNT(d, ldd, x, ldx, qw, sw, scratch, m, k, n, r, lb uint32)

//go:wasmimport adapterwasm_kernels pack_q8
func kPackQ8(wp, sp, qw, sw, n, k, lb uint32)

//go:wasmimport adapterwasm_kernels qgemm_packed
func kQgemmPacked(d, ldd, qx, sx, wp, sp, m, k, n, tmp, bias, lb uint32)

//go:wasmimport adapterwasm_kernels softmax_rows
func kSoftmaxRows(x, ld, rows, n uint32, scale float32, bias uint32)

//go:wasmimport adapterwasm_kernels gelu_erf
func kGELU(x, n uint32)

//go:wasmimport adapterwasm_kernels gelu_erf_backward
func kGELUBackward(dy, x, n uint32)

//go:wasmimport adapterwasm_kernels layer_norm
func kLayerNorm(dst, x, rows, n, gamma, beta uint32, eps float32)

//go:wasmimport adapterwasm_kernels layer_norm_backward
func kLayerNormBackward(dx, dy, rows, n, gamma, xhat, rstd uint32)

//go:wasmimport adapterwasm_kernels add_bias
func kAddBias(x, rows, n, bias uint32)

//go:wasmimport adapterwasm_kernels add_f32
func kAdd(d, a, b, n uint32)

//go:wasmimport adapterwasm_kernels scale_f32
func kScale(x, n uint32, s float32)

// loaded caches kAvailable: 0 unknown, 1 yes, 2 no. The host instantiates the kernel module
// before Go's main runs, so the answer never changes.
var loaded uint8

func kernelsLoaded() bool {
	if loaded == 0 {
		loaded = 2
		if kAvailable() == 1 && kABI() == kernelABI {
			loaded = 1
		}
	}
	return loaded == 1
}

func addr[T any](s []T) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(s)))) }

// simdGemmNT calls sgemm_nt; the caller has checked the lengths and k % 4 == 0.
func simdGemmNT(dst []float32, ldd int, x []float32, ldx int, w []float32, ldw int, m, k, n int) {
	kSgemmNT(addr(dst), uint32(ldd), addr(x), uint32(ldx), addr(w), uint32(ldw), uint32(m), uint32(k), uint32(n))
}

// simdGemmNN calls sgemm_nn; the caller has checked the lengths and n % 4 == 0.
func simdGemmNN(dst []float32, ldd int, x []float32, ldx int, y []float32, ldy int, m, k, n int) {
	kSgemmNN(addr(dst), uint32(ldd), addr(x), uint32(ldx), addr(y), uint32(ldy), uint32(m), uint32(k), uint32(n))
}

// q8Scratch holds the scratch of the Q8 products: the quantized activations of the last call,
// the float32 slab of q8_gemm_nt, and pack_q8's output while a matrix is packed in place. It
// grows to the largest shapes seen and is then reused (Go's Wasm runs one goroutine at a time
// and the kernels never yield).
var q8Scratch struct {
	q  []int16   // quant_i16's (or quant_u7_i16's) activations, 4 rows interleaved by k-pairs
	s  []float32 // their scales [rows, In/32]
	wp []int8    // pack_q8's weights [Out/8][In/2][2][8], copied back into the matrix
	sp []float32 // pack_q8's scales [Out/4][In/32][4], likewise
	u  []uint8   // quant_u7's activations, 4 rows interleaved [⌈rows/4⌉][In/4][4][4]
	su []float32 // their (scale, min) [⌈rows/4⌉][In/32][4][2]
	wf []float32 // q8_gemm_nt's slab of float32 weights

	tmp [8 * kernelThreads]float32 // qgemm_packed's output row for the rows of a tile past the last, per thread
}

func growInt16(s []int16, n int) []int16 {
	if cap(s) < n {
		return make([]int16, n)
	}
	return s[:n]
}

func growInt8(s []int8, n int) []int8 {
	if cap(s) < n {
		return make([]int8, n)
	}
	return s[:n]
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// q8Slab is the size in bytes of the float32 slab of W that q8_gemm_nt dequantizes at a time:
// small enough to stay in L2 while every row of x passes over it.
const q8Slab = 96 << 10

// simdMulQ8 computes x·Wᵀ + bias (bias nil or [w.Out]) for a Q8 matrix (w.Out % 8 == 0): by
// default x quantized by quant_i16 and qgemm_packed on W packed in place by pack_q8 the first
// time (packQ8), the bias added by the kernel; with SetQ8Int(false) q8_gemm_nt (W dequantized a
// slab of rows at a time, then sgemm_nt on float32 activations), or Q8.MulT if W is already
// packed, then add_bias.
func simdMulQ8(dst, x []float32, rows int, w *Q8, bias []float32) {
	sc := &q8Scratch
	if !q8Int {
		if w.Packed() {
			w.MulT(dst, x, rows)
		} else {
			r := max(8, q8Slab/(4*w.In)&^7)
			sc.wf = growF32(sc.wf, r*w.In)
			kQ8GemmNT(addr(dst), uint32(w.Out), addr(x), uint32(w.In), addr(w.Q), addr(w.Scale), addr(sc.wf),
				uint32(rows), uint32(w.In), uint32(w.Out), uint32(r), log2(w.Block))
		}
		addBias(dst, rows, bias)
		return
	}
	if Relaxed() {
		quantizeU7(x, rows, w.In)
		kQgemmRelaxed(dst, rows, w, bias)
		return
	}
	quantize(x, rows, w.In, w.Block)
	kQgemm(dst, sc.q, sc.s, rows, w, bias)
}

// log2 is the kernels' lb argument for a block of b = 2^lb values.
func log2(b int) uint32 { return uint32(bits.TrailingZeros(uint(b))) }

// biasAddr is the kernels' bias argument: bias's address, or 0 for none (nil).
func biasAddr(bias []float32) uint32 {
	if len(bias) == 0 {
		return 0
	}
	return addr(bias)
}

// u7Twin reports whether the 7-bit recipe runs on qgemm_u7 (no relaxed module, or u7Plain).
func u7Twin() bool { return !relaxedLoaded() || u7Plain }

// quantizeU7 quantizes x [rows, k] to 7 bits into q8Scratch: with quant_u7 into .u for qgemm_r7,
// or with quant_u7_i16 into .q (the same values as int16) for qgemm_u7; the scales into .su.
func quantizeU7(x []float32, rows, k int) {
	sc := &q8Scratch
	r4 := (rows + 3) &^ 3
	sc.su = growF32(sc.su, 2*r4*(k/Q8Block))
	if u7Twin() {
		sc.q = growInt16(sc.q, r4*k)
		simdQuantU7I16(sc.q, sc.su, x, rows, k)
		return
	}
	sc.u = growUint8(sc.u, r4*k)
	simdQuantU7(sc.u, sc.su, x, rows, k)
}

func growUint8(s []uint8, n int) []uint8 {
	if cap(s) < n {
		return make([]uint8, n)
	}
	return s[:n]
}

// kQgemmRelaxed calls qgemm_r7 (relaxed SIMD) or, where the relaxed module is not there, its
// plain-SIMD twin qgemm_u7 (the same result) on the activations quantizeU7 left in q8Scratch,
// packing w into the kernel's layout first if it is not: packQ7 for qgemm_r7; pack_q8 and the
// scaled block sums (Q8.corr) for qgemm_u7. bias (nil or [w.Out]) is added by qgemm_u7, after
// qgemm_r7 by add_bias (the same float32s).
func kQgemmRelaxed(dst []float32, rows int, w *Q8, bias []float32) {
	w.reblock() // the 7-bit recipe's kernels take blocks of Q8Block
	sc := &q8Scratch
	if u7Twin() {
		if w.corr == nil {
			w.corr = w.scaledBlockSums()
		}
		if w.packed != packPairs {
			packQ8(w)
		}
		kQgemmU7(addr(dst), uint32(w.Out), addr(sc.q), addr(sc.su), addr(w.Q), addr(w.Scale), addr(w.corr),
			uint32(rows), uint32(w.In), uint32(w.Out), addr(sc.tmp[:]), biasAddr(bias))
		return
	}
	if w.packed != packOcts {
		simdPackQ7(w)
	}
	kQgemmR7(addr(dst), uint32(w.Out), addr(sc.u), addr(sc.su), addr(w.Q), addr(w.Scale), uint32(rows), uint32(w.In), uint32(w.Out), addr(sc.tmp[:]))
	addBias(dst, rows, bias)
}

// quantize quantizes x [rows, k] with quant_i16 (one scale per block values) into q8Scratch.q
// and .s.
func quantize(x []float32, rows, k, block int) {
	sc := &q8Scratch
	sc.q = growInt16(sc.q, ((rows+3)&^3)*k)
	sc.s = growF32(sc.s, rows*(k/block))
	simdQuantI16(sc.q, sc.s, x, rows, k, block)
}

// simdMulQ8Shared computes dsts[i] = x·ms[i]ᵀ + biases[i] (biases may be nil, or have nil
// entries) for every ms[i] that is a Q8 matrix the integer kernel takes (q8Eligible) with In ==
// k, quantizing x once for all of them, and returns which it did (bit i); the caller does the
// rest. With the default recipe x is quantized again whenever the block changes from one
// matrix to the next (the matrices of one call normally share theirs).
func simdMulQ8Shared(dsts [][]float32, ms []Matrix, biases [][]float32, x []float32, rows, k int) (done uint64) {
	if !q8Int {
		return 0
	}
	quantized := 0 // the block x is quantized for (quant_i16), 0 for none yet
	for i, m := range ms {
		w, ok := m.(*Q8)
		if !ok || !q8Eligible(w) || w.In != k || i >= 64 {
			continue
		}
		_ = dsts[i][rows*w.Out-1]
		bias := biasAt(biases, i)
		checkBias("MulTShared", bias, w.Out)
		if Relaxed() {
			if quantized == 0 {
				quantizeU7(x, rows, k) // blocks of 32 for every matrix (kQgemmRelaxed)
				quantized = Q8Block
			}
			kQgemmRelaxed(dsts[i], rows, w, bias)
		} else {
			if quantized != w.Block {
				quantize(x, rows, k, w.Block)
				quantized = w.Block
			}
			kQgemm(dsts[i], q8Scratch.q, q8Scratch.s, rows, w, bias)
		}
		done |= 1 << i
	}
	return done
}

// packQ8 rearranges w in place into qgemm_packed's layout with pack_q8 (through q8Scratch).
func packQ8(w *Q8) {
	w.unpack()
	sc := &q8Scratch
	sc.wp = growInt8(sc.wp, w.Out*w.In)
	sc.sp = growF32(sc.sp, w.Out*(w.In/w.Block))
	kPackQ8(addr(sc.wp), addr(sc.sp), addr(w.Q), addr(w.Scale), uint32(w.Out), uint32(w.In), log2(w.Block))
	copy(w.Q, sc.wp)
	copy(w.Scale, sc.sp)
	w.packed = packPairs
}

// simdPackQ7 rearranges w in place into qgemm_r7's layout with pack_q7 (Q8.packQ7's kernel:
// the same bytes and floats), through q8Scratch; Scale becomes a new slice twice as long.
func simdPackQ7(w *Q8) {
	w.unpack()
	sc := &q8Scratch
	nb := w.In / Q8Block
	sc.wp = growInt8(sc.wp, w.Out*w.In)
	tp := make([]float32, 2*w.Out*nb)
	kPackQ7(addr(sc.wp), addr(tp), addr(w.Q), addr(w.Scale), uint32(w.Out), uint32(w.In))
	copy(w.Q, sc.wp)
	w.Scale, w.packed = tp, packOcts
}

// simdDequantQ8Row calls dequant_q8 on one row: dst[k] = s[k/block]·q[k] (block 16, 32, 64 or 128,
// len(q) a multiple of it, s its scales).
func simdDequantQ8Row(dst []float32, q []int8, s []float32, block int) {
	_, _ = dst[len(q)-1], s[len(q)/block-1]
	kDequantQ8(addr(dst), addr(q), addr(s), uint32(len(q)), log2(block))
}

// simdDequantQ8 calls dequant_q8: dst [w.Out, w.In] = W as float32 (row-major, blocks of 16 or
// more).
func simdDequantQ8(dst []float32, w *Q8) {
	_ = dst[w.Out*w.In-1]
	kDequantQ8(addr(dst), addr(w.Q), addr(w.Scale), uint32(w.Out*w.In), log2(w.Block))
}

// simdQuantU7I16 calls quant_u7_i16 on x [rows, k] (contiguous) into q (quant_i16's layout) and
// s (quant_u7's).
func simdQuantU7I16(q []int16, s []float32, x []float32, rows, k int) {
	kQuantU7I16(addr(q), addr(s), addr(x), uint32(k), uint32(rows), uint32(k))
}

// simdQuantU7 calls quant_u7 on x [rows, k] (contiguous) into q, s in its interleaved layout.
func simdQuantU7(q []uint8, s []float32, x []float32, rows, k int) {
	kQuantU7(addr(q), addr(s), addr(x), uint32(k), uint32(rows), uint32(k))
}

// simdTranspose calls transpose_f32.
func simdTranspose(d []float32, ldd int, x []float32, ldx, rows, cols, rowsp int) {
	kTranspose(addr(d), uint32(ldd), addr(x), uint32(ldx), uint32(rows), uint32(cols), uint32(rowsp))
}

// simdQuantI16 calls quant_i16 on x [rows, k] (contiguous), one scale per block values (32, 64
// or 128): q in its layout, 4 rows interleaved
// by k-pairs (quadsI16 of QuantizeI16Rows' q), rows rounded up to 4 (the rows past rows zeroed).
func simdQuantI16(q []int16, s []float32, x []float32, rows, k, block int) {
	_, _, _ = q[((rows+3)&^3)*k-1], s[rows*(k/block)-1], x[rows*k-1]
	kQuantI16(addr(q), addr(s), addr(x), uint32(k), uint32(rows), uint32(k), log2(block))
}

// kQgemm calls qgemm_packed on activations quantized by quant_i16 (its interleaved layout),
// packing w first if it is not; the kernel adds bias (nil or [w.Out]) to the result.
func kQgemm(dst []float32, q []int16, s []float32, rows int, w *Q8, bias []float32) {
	_ = q[((rows+3)&^3)*w.In-1]
	if w.packed != packPairs {
		packQ8(w)
	}
	kQgemmPacked(addr(dst), uint32(w.Out), addr(q), addr(s), addr(w.Q), addr(w.Scale), uint32(rows), uint32(w.In), uint32(w.Out), addr(q8Scratch.tmp[:]), biasAddr(bias), log2(w.Block))
}

func simdSoftmaxRows(x []float32, ld, rows, n int, scale float32, bias []float32) {
	kSoftmaxRows(addr(x), uint32(ld), uint32(rows), uint32(n), scale, addr(bias))
}

func simdGELU(x []float32) { kGELU(addr(x), uint32(len(x))) }

func simdGELUBackward(dy, x []float32) { kGELUBackward(addr(dy), addr(x), uint32(len(dy))) }

func simdLayerNormBackward(dx, dy []float32, rows int, gamma, xhat, rstd []float32) {
	kLayerNormBackward(addr(dx), addr(dy), uint32(rows), uint32(len(gamma)), addr(gamma), addr(xhat), addr(rstd))
}

func simdLayerNorm(dst, x []float32, rows int, gamma, beta []float32, eps float32) {
	kLayerNorm(addr(dst), addr(x), uint32(rows), uint32(len(gamma)), addr(gamma), addr(beta), eps)
}

func simdAddBias(x []float32, rows int, bias []float32) {
	kAddBias(addr(x), uint32(rows), uint32(len(bias)), addr(bias))
}

func simdAdd(dst, a, b []float32) { kAdd(addr(dst), addr(a), addr(b), uint32(len(dst))) }

func simdScale(x []float32, s float32) { kScale(addr(x), uint32(len(x)), s) }
