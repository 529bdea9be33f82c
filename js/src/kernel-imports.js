import { f32bits, OP_ADD_BIAS, OP_ADD_F32, OP_ATTENTION, OP_GELU, OP_LAYER_NORM, OP_QGEMM, OP_QGEMM_R7, OP_QGEMM_U7, OP_QUANT_I16, OP_QUANT_U7, OP_QUANT_U7_I16, OP_SGEMM_NT } from "./kernel-pool.js";

// PARALLEL_MIN is the size (M·K·N multiply-adds) from which a product is split over the kernel
// threads: below it, waking a worker costs more than it saves (measured: see js/README.md).
export let PARALLEL_MIN = 1 << 19;

// ELEMENTWISE_MIN is the same for GELU and quantization, in values.
export let ELEMENTWISE_MIN = 1 << 16;

// STREAM_MIN is the same for layer norm, bias and residual sums (a few operations a value: the
// memory traffic dominates), in values.
export let STREAM_MIN = 1 << 16;

// setParallelMin changes PARALLEL_MIN, ELEMENTWISE_MIN and STREAM_MIN (benchmarks and tests).
export function setParallelMin(n, elementwise = n, stream = elementwise) {
  PARALLEL_MIN = n;
  ELEMENTWISE_MIN = elementwise;
  STREAM_MIN = stream;
}

// kernelTrampolines returns the adapterwasm_kernels imports of the Go module: one function per
// //go:wasmimport of runtime/kernels/simd_js.go, each calling into the Wasm SIMD kernel module
// (runtime/kernels/wat/kernels.wat). That module imports Go's memory, so it can only be
// instantiated once Go's instance exists: get() returns its exports then, or null before it is
// attached or when it cannot be, and available() tells Go whether to use it or its plain-Go kernels:
// only if the module exports every function Go may call (a kernels.js from another build than the
// Go module would otherwise throw inside Go's frames, which kills the instance); Go also checks
// abi() against the version it was built for, which covers changed signatures.
// Shared by the package's loader (runtime.js) and the Cloudflare Worker (workers/src/worker.mjs).
//
// pool(), when given, returns the KernelPool (kernel-pool.js) or null: with one, products of at
// least PARALLEL_MIN multiply-adds, GELU and quantization of at least ELEMENTWISE_MIN values, and
// layer norm, bias and residual sums of at least STREAM_MIN values are split over its threads
// (bit-identical results: each row or element is computed as on one thread).
//
// u7: the host asks for the 7-bit activations (the relaxedSimd option; u7_requested tells Go):
// Q8 products then take qgemm_r7 where the relaxed-SIMD module is there, else its plain-SIMD
// twin qgemm_u7, with the same results.
export function kernelTrampolines(get, pool = () => null, { u7 = false } = {}) {
  const t = {
    abi: () => get().abi(),
    sgemm_nt: (d, ldd, x, ldx, w, ldw, m, kk, n) => {
      const p = pool();
      if (p && m * kk * n >= PARALLEL_MIN && n >= 16) return p.run(OP_SGEMM_NT, [d, ldd, x, ldx, w, ldw, m, kk], n);
      get().sgemm_nt(d, ldd, x, ldx, w, ldw, m, kk, n);
    },
    sgemm_nn: (d, ldd, x, ldx, y, ldy, m, kk, n) => get().sgemm_nn(d, ldd, x, ldx, y, ldy, m, kk, n),
    quant_i16: (q, s, x, ldx, m, kk, lb) => {
      const p = pool();
      if (p && m * kk >= ELEMENTWISE_MIN && m >= 16) return p.run(OP_QUANT_I16, [q, s, x, ldx, m, kk, lb], m);
      get().quant_i16(q, s, x, ldx, m, kk, lb);
    },
    dequant_q8: (w, qw, sw, n, shift) => get().dequant_q8(w, qw, sw, n, shift),
    q8_gemm_nt: (d, ldd, x, ldx, qw, sw, t, m, kk, n, r, lb) => get().q8_gemm_nt(d, ldd, x, ldx, qw, sw, t, m, kk, n, r, lb),
    pack_q8: (wp, sp, qw, sw, n, kk, lb) => get().pack_q8(wp, sp, qw, sw, n, kk, lb),
    pack_q7: (wp, tp, qw, sw, n, kk) => get().pack_q7(wp, tp, qw, sw, n, kk),
    quant_u7: (q, s, x, ldx, m, kk) => {
      const p = pool();
      if (p && m * kk >= ELEMENTWISE_MIN && m >= 16) return p.run(OP_QUANT_U7, [q, s, x, ldx, m, kk], m);
      get().quant_u7(q, s, x, ldx, m, kk);
    },
    qgemm_packed: (d, ldd, qx, sx, wp, sp, m, kk, n, tmp, bias, lb) => {
      const p = pool();
      if (p && m * kk * n >= PARALLEL_MIN && n >= 16) return p.run(OP_QGEMM, [d, ldd, qx, sx, wp, sp, m, kk, n, tmp, bias, lb], n);
      get().qgemm_packed(d, ldd, qx, sx, wp, sp, m, kk, n, tmp, bias, lb);
    },
    quant_u7_i16: (q, s, x, ldx, m, kk) => {
      const p = pool();
      if (p && m * kk >= ELEMENTWISE_MIN && m >= 16) return p.run(OP_QUANT_U7_I16, [q, s, x, ldx, m, kk], m);
      get().quant_u7_i16(q, s, x, ldx, m, kk);
    },
    qgemm_u7: (d, ldd, qx, sx, wp, sp, cp, m, kk, n, tmp, bias) => {
      const p = pool();
      if (p && m * kk * n >= PARALLEL_MIN && n >= 16) return p.run(OP_QGEMM_U7, [d, ldd, qx, sx, wp, sp, cp, m, kk, n, tmp, bias], n);
      get().qgemm_u7(d, ldd, qx, sx, wp, sp, cp, m, kk, n, tmp, bias);
    },
    softmax_rows: (x, ld, rows, n, scale, bias) => get().softmax_rows(x, ld, rows, n, scale, bias),
    // attention over n sequence-heads (i0 = 0): split by sequence-head when the products are large
    // (2·T·kv·d multiply-adds each); Go sized sc for threads() scratches.
    attention: (ctx, q, k, v, h, t, kv, d, nh, scale, bias, sc, i0, n) => {
      const p = pool();
      if (p && i0 === 0 && 2 * n * t * kv * d >= PARALLEL_MIN && n >= 2) return p.run(OP_ATTENTION, [ctx, q, k, v, h, t, kv, d, nh, f32bits(scale), bias, sc], n, 1);
      get().attention(ctx, q, k, v, h, t, kv, d, nh, scale, bias, sc, i0, n);
    },
    gelu_erf: (x, n) => {
      const p = pool();
      if (p && n >= ELEMENTWISE_MIN) return p.run(OP_GELU, [x], n);
      get().gelu_erf(x, n);
    },
    gelu_erf_backward: (dy, x, n) => get().gelu_erf_backward(dy, x, n),
    layer_norm: (dst, x, rows, n, g, b, eps) => {
      const p = pool();
      if (p && rows * n >= STREAM_MIN && rows >= 4) return p.run(OP_LAYER_NORM, [dst, x, rows, n, g, b, f32bits(eps)], rows, 1);
      get().layer_norm(dst, x, rows, n, g, b, eps);
    },
    layer_norm_backward: (dx, dy, rows, n, g, xh, rs) => get().layer_norm_backward(dx, dy, rows, n, g, xh, rs),
    add_bias: (x, rows, n, b) => {
      const p = pool();
      if (p && rows * n >= STREAM_MIN && rows >= 4) return p.run(OP_ADD_BIAS, [x, rows, n, b], rows, 1);
      get().add_bias(x, rows, n, b);
    },
    add_f32: (d, a, b, n) => {
      const p = pool();
      if (p && n >= STREAM_MIN) return p.run(OP_ADD_F32, [d, a, b], n);
      get().add_f32(d, a, b, n);
    },
    transpose_f32: (d, ldd, x, ldx, rows, cols, rowsp) => get().transpose_f32(d, ldd, x, ldx, rows, cols, rowsp),
    scale_f32: (x, n, s) => get().scale_f32(x, n, s),
  };
  const names = Object.keys(t);
  // threads: how many kernel threads may run at once (Go sizes per-thread scratch by it).
  t.threads = () => pool()?.threads ?? 1;
  t.u7_requested = () => (u7 ? 1 : 0);
  t.available = () => {
    const k = get();
    return k && names.every((n) => typeof k[n] === "function") ? 1 : 0;
  };
  // The relaxed-SIMD module (kernels_relaxed.wat), when the host instantiated it too: its exports
  // are merged into get()'s (runtime.js); relaxed_available tells Go whether they are there.
  const relaxed = {
    abi_relaxed: () => get().abi_relaxed(),
    qgemm_r7: (d, ldd, qx, sx, wp, tp, m, kk, n, tmp) => {
      const p = pool();
      if (p && m * kk * n >= PARALLEL_MIN && n >= 16) return p.run(OP_QGEMM_R7, [d, ldd, qx, sx, wp, tp, m, kk, n, tmp], n);
      get().qgemm_r7(d, ldd, qx, sx, wp, tp, m, kk, n, tmp);
    },
  };
  Object.assign(t, relaxed);
  t.relaxed_available = () => {
    const k = get();
    return t.available() && Object.keys(relaxed).every((n) => typeof k[n] === "function") ? 1 : 0;
  };
  return t;
}
