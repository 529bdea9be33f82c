// Kernel threads: the large matrix products of one Go call split over a pool of workers that
// each run the Wasm SIMD kernel module (runtime/kernels/wat/kernels.wat) on the Go instance's
// memory, made shared (shared-memory.js). Go stays single-threaded: it calls a kernel through
// //go:wasmimport as always (runtime/kernels/simd_js.go); the trampoline (kernel-imports.js)
// hands a large product to run(), which posts a job in a small control block (a
// SharedArrayBuffer of its own, not Go's memory), wakes the workers (Atomics.notify), computes
// chunks itself, and returns once every chunk is done.
//
// A product is split by output columns (GELU and sums by elements, quantization, layer norm and
// bias by rows, attention by sequence-head), in chunks of 8 (qgemm_packed's tile is 4 rows × 8 columns,
// sgemm_nt's 2 × 4), so every output is computed by the same instructions on the same operands as
// on one thread: the results are bit-identical at every thread count. Chunks are claimed one at a
// time (work stealing, an atomic ticket), so a worker the OS has not scheduled yet delays nothing:
// the caller takes its chunks.
//
// The control block (Int32Array):
//   GEN     the job's generation: workers Atomics.wait on it for a change
//   TICKET  (generation << IDX_BITS) | next chunk: a chunk is claimed by a compare-and-swap that
//           also checks the generation; CLOSED while the caller rewrites the job
//   DONE    chunks finished
//   STOP    1: workers return
//   OP, NCHUNK, CHUNK
//   SPIN    how long (µs) a worker keeps polling for the next job after its last one before it
//           sleeps (Atomics.wait); the pool's spinUs, changeable while it runs
//   SLEEPS  how many times a worker slept before a job (KernelPool.stats.workerSleeps)
//   then the kernel's arguments (u32).
//
// Waking a sleeping worker (Atomics.notify → futex → the OS schedules it) takes tens of µs, so a
// worker polls for a bounded time after its last job (SPIN_US), and the caller polls as long for
// the workers' last chunks, before sleeping: an idle pool sleeps within SPIN_US and burns nothing
// after. Bounded by time, not by a count of loads (which the JIT and the CPU make anything from
// 0.15 to 5 ms). Longer polling bought nothing measurable on the idle 2-core machine (100, 300 and
// 2000 µs: the same 1.6–1.9× within the noise) and cost much on a busy one: with one busy-looping
// process beside it, 2 threads at 2000 µs ran 0.64–0.78× one thread's speed (the polling thread
// spends its share of the CPU and is then preempted while it holds a chunk), at 100–300 µs
// 0.83–1.24× (noise-bound; main's 20,000 loads: 0.91–0.97×). Those figures are the caller's
// polling only: until issue 21's fix (2026-12-07) a worker's own limit fell to 0 on its first
// poll (it starts before the pool writes SPIN, and 0 doubles to 0), so it slept before nearly
// every job (34 of 39 jobs of a 1×32 classification, 86 of 119 at 8×32) and each job waited
// 20–40 µs for it to wake (measured: the caller spinning until the worker acknowledged). Now it
// sleeps before 4–10 jobs of a classification (gaps longer than SPIN), counted in SLEEPS.

const GEN = 0;
const TICKET = 1;
const DONE = 2;
const STOP = 3;
const OP = 4;
const NCHUNK = 5;
const CHUNK = 6;
const SPIN = 7;
const SLEEPS = 8;
const ARGS = 9;
const NARGS = 14;
export const CONTROL_BYTES = (ARGS + NARGS) * 4;

const IDX_BITS = 11; // up to 2047 chunks a job
const IDX_MASK = (1 << IDX_BITS) - 1;
const GEN_MASK = (1 << (32 - IDX_BITS)) - 1;
const CLOSED = -1; // a ticket no generation matches (GEN_MASK with IDX_MASK: never posted)

// MAX_THREADS bounds the pool (caller included): qgemm_packed's scratch in Go holds 8 floats for
// each (simd_js.go, q8Scratch.tmp).
export const MAX_THREADS = 16;

// Operations a job can be. Each computes output columns [j0, j1) of the kernel call whose
// arguments are a (u32s), on kernel instance k, as thread t.
export const OP_QGEMM = 0;
export const OP_SGEMM_NT = 1;
export const OP_GELU = 2;
export const OP_QUANT_I16 = 3;
export const OP_QGEMM_R7 = 4;
export const OP_QUANT_U7 = 5;
export const OP_ATTENTION = 6;
export const OP_LAYER_NORM = 7;
export const OP_ADD_BIAS = 8;
export const OP_ADD_F32 = 9;
export const OP_QGEMM_U7 = 10;
export const OP_QUANT_U7_I16 = 11;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// f32bits and bitsF32 carry a float argument through the job's u32s.
export const f32bits = (x) => ((f32[0] = x), u32[0]);
const bitsF32 = (b) => ((u32[0] = b), f32[0]);
const OPS = [
  // qgemm_packed(d, ldd, qx, sx, wp, sp, M, K, N, tmp, bias, lb): W packed as [N/8][K/2][2][8]
  // int8 (K bytes a column) and scales [N/4][K >> lb][4] f32 (4·K >> lb bytes a column); tmp: 8
  // floats per thread; bias: N floats, or 0 for none.
  (k, a, j0, j1, t) => k.qgemm_packed(a[0] + 4 * j0, a[1], a[2], a[3], a[4] + j0 * a[7], a[5] + (4 * j0 * a[7]) / 2 ** a[11], a[6], a[7], j1 - j0, a[9] + 32 * t, a[10] && a[10] + 4 * j0, a[11]),
  // sgemm_nt(d, ldd, x, ldx, w, ldw, M, K, N): w's rows are the output columns.
  (k, a, j0, j1) => k.sgemm_nt(a[0] + 4 * j0, a[1], a[2], a[3], a[4] + 4 * j0 * a[5], a[5], a[6], a[7], j1 - j0),
  // gelu_erf(x, n): elements [j0, j1), element-wise.
  (k, a, j0, j1) => k.gelu_erf(a[0] + 4 * j0, j1 - j0),
  // quant_i16(q, s, x, ldx, M, K, lb): rows [j0, j1), each quantized on its own (q contiguous,
  // K >> lb scales a row).
  (k, a, j0, j1) => k.quant_i16(a[0] + 2 * j0 * a[5], a[1] + (4 * j0 * a[5]) / 2 ** a[6], a[2] + 4 * j0 * a[3], a[3], j1 - j0, a[5], a[6]),
  // qgemm_r7(d, ldd, qx, sx, wp, tp, M, K, N, tmp) (kernels_relaxed.wat): W as [N/8][K/4][8][4]
  // int8 (K bytes a column) and [N/8][K/32][16] f32 (K/4 bytes a column); tmp as qgemm_packed's.
  (k, a, j0, j1, t) => k.qgemm_r7(a[0] + 4 * j0, a[1], a[2], a[3], a[4] + j0 * a[7], a[5] + (j0 * a[7]) / 4, a[6], a[7], j1 - j0, a[9] + 32 * t),
  // quant_u7(q, s, x, ldx, M, K): rows [j0, j1) (j0 a multiple of 8: whole interleaved quads),
  // K bytes and K/4 bytes of scales a row; the last chunk zeroes the rows up to a multiple of 4.
  (k, a, j0, j1) => k.quant_u7(a[0] + j0 * a[5], a[1] + (j0 * a[5]) / 4, a[2] + 4 * j0 * a[3], a[3], j1 - j0, a[5]),
  // attention(ctx, q, k, v, H, T, kv, d, nh, scale, bias, sc): sequence-heads [j0, j1), each on
  // its own (thread t's scratch: the t-th (T+d)·kvp floats of sc; scale as f32 bits).
  (k, a, j0, j1, t) => k.attention(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], bitsF32(a[9]), a[10], a[11] + 4 * t * (a[5] + a[7]) * ((a[6] + 3) & ~3), j0, j1 - j0),
  // layer_norm(dst, x, rows, n, g, b, eps): rows [j0, j1), each normalized on its own (rows of n
  // floats, contiguous; eps as f32 bits).
  (k, a, j0, j1) => k.layer_norm(a[0] + 4 * j0 * a[3], a[1] + 4 * j0 * a[3], j1 - j0, a[3], a[4], a[5], bitsF32(a[6])),
  // add_bias(x, rows, n, b): rows [j0, j1) (contiguous rows of n floats).
  (k, a, j0, j1) => k.add_bias(a[0] + 4 * j0 * a[2], j1 - j0, a[2], a[3]),
  // add_f32(d, a, b, n): elements [j0, j1), element-wise.
  (k, a, j0, j1) => k.add_f32(a[0] + 4 * j0, a[1] + 4 * j0, a[2] + 4 * j0, j1 - j0),
  // qgemm_u7(d, ldd, qx, sx, wp, sp, cp, M, K, N, tmp, bias): qgemm_packed's layouts, and cp (the
  // scaled block sums) laid out as sp.
  (k, a, j0, j1, t) => k.qgemm_u7(a[0] + 4 * j0, a[1], a[2], a[3], a[4] + j0 * a[8], a[5] + (j0 * a[8]) / 8, a[6] + (j0 * a[8]) / 8, a[7], a[8], j1 - j0, a[10] + 32 * t, a[11] && a[11] + 4 * j0),
  // quant_u7_i16(q, s, x, ldx, M, K): rows [j0, j1) (j0 a multiple of 8), K int16s and K/4 bytes of
  // scales a row, as quant_i16 and quant_u7.
  (k, a, j0, j1) => k.quant_u7_i16(a[0] + 2 * j0 * a[5], a[1] + (j0 * a[5]) / 4, a[2] + 4 * j0 * a[3], a[3], j1 - j0, a[5]),
];

// runChunks claims and computes chunks of the job of generation gen until none is left; it
// returns how many it computed. The job's descriptor was read after GEN showed gen, and a claim
// succeeds only while the ticket still carries gen with chunks left, i.e. before the caller could
// have started rewriting the descriptor (it closes the ticket first, once every chunk is done).
function runChunks(k, ctrl, args, gen, t) {
  const op = OPS[ctrl[OP]];
  const nchunk = ctrl[NCHUNK];
  const chunk = ctrl[CHUNK];
  const n = args[NARGS - 1];
  let count = 0;
  for (;;) {
    const tk = Atomics.load(ctrl, TICKET);
    const idx = tk & IDX_MASK;
    if (tk >>> IDX_BITS !== gen || idx >= nchunk) return count;
    if (Atomics.compareExchange(ctrl, TICKET, tk, tk + 1) !== tk) continue;
    const j0 = idx * chunk;
    op(k, args, j0, Math.min(n, j0 + chunk), t);
    count++;
    if (Atomics.add(ctrl, DONE, 1) === nchunk - 1) Atomics.notify(ctrl, DONE); // the last: wake the caller
  }
}

// SPIN_US is how long (µs) a worker polls for its next job, and the caller for the workers' last
// chunks, before sleeping (KernelPool.spinUs).
export const SPIN_US = 300;

// MIN_SPIN_MS: a worker's polling limit never goes below this (5 µs), however often it is
// preempted, so that it doubles back up to SPIN.
const MIN_SPIN_MS = 0.005;

// nextSpinLimit is a worker's polling limit (ms) after a poll with limit that was (preempted) or
// was not cut short by the OS: quartered, or doubled up to max (SPIN), and never below
// MIN_SPIN_MS, so that it grows back once SPIN is more than 0 again. (Before issue 21's fix it
// could reach 0, which doubles to 0: a worker that polled while SPIN was 0, as every worker did
// at start-up before the pool wrote it, then slept before every job.)
export function nextSpinLimit(limit, max, preempted) {
  return preempted ? Math.max(limit / 4, MIN_SPIN_MS) : Math.max(MIN_SPIN_MS, Math.min(max, 2 * limit));
}

// PREEMPTED_MS: a gap this long between two readings of the clock while polling (64 loads, well
// under a µs apart) means the OS took the core away: the machine has more runnable threads than
// cores, and a thread that keeps polling there takes time from the others (the caller's serial
// work, a worker holding a chunk). Polling stops at once then.
const PREEMPTED_MS = 0.25;

// poll returns once ctrl[i] !== v, limitMs have passed since t0 (performance.now() ms), or the
// thread was preempted; it returns [ctrl[i], preempted]. The clock is read every 64 loads.
function poll(ctrl, i, v, t0, limitMs) {
  let x = Atomics.load(ctrl, i);
  let last = t0;
  for (let n = 1; x === v; n++) {
    if ((n & 63) === 0) {
      const now = performance.now();
      if (now - last >= PREEMPTED_MS) return [x, true];
      if (now - t0 >= limitMs) break;
      last = now;
    }
    x = Atomics.load(ctrl, i);
  }
  return [x, false];
}

// serveKernels is a worker's loop (kernel-worker.js, node-kernel-worker.js): k is its kernel
// instance's exports, control the pool's SharedArrayBuffer, t its index (1 … threads-1). After
// each job it polls for the next one for up to its spin limit, then sleeps. The limit is
// quartered (down to 5 µs) each time the worker is preempted while polling (a busy machine) and
// doubled back (up to ctrl[SPIN] µs) each time it was not. It returns when the pool stops.
export function serveKernels(k, control, t) {
  const ctrl = new Int32Array(control, 0, ARGS);
  const args = new Uint32Array(control, ARGS * 4, NARGS);
  let seen = Atomics.load(ctrl, GEN);
  let limit = MIN_SPIN_MS;
  for (;;) {
    const max = Atomics.load(ctrl, SPIN) / 1000;
    const [g0, preempted] = poll(ctrl, GEN, seen, performance.now(), Math.min(limit, max));
    let g = g0;
    limit = nextSpinLimit(limit, max, preempted);
    if (g === seen) {
      if (Atomics.wait(ctrl, GEN, seen) === "ok") Atomics.add(ctrl, SLEEPS, 1);
      g = Atomics.load(ctrl, GEN);
    }
    if (Atomics.load(ctrl, STOP)) return;
    seen = g;
    runChunks(k, ctrl, args, g, t);
  }
}

// canBlock tells whether this thread may Atomics.wait (not a browser page's main thread).
function canBlock() {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

// KernelPool is the caller's side: threads-1 workers already serving the control block, and the
// caller's own kernel instance k.
export class KernelPool {
  constructor(k, control, threads, stop, spinUs = SPIN_US) {
    this.k = k;
    this.threads = threads;
    // chunksPerThread: a job is cut in about threads × chunksPerThread chunks (fewer when that
    // would make them smaller than unit).
    this.chunksPerThread = 3;
    this.ctrl = new Int32Array(control, 0, ARGS);
    this.args = new Uint32Array(control, ARGS * 4, NARGS);
    this.gen = Atomics.load(this.ctrl, GEN);
    this.block = canBlock();
    // stats: jobs run, their chunks, and how many of those the caller computed itself (the rest
    // is what the workers took: a measure of how much the pool helps on a busy machine);
    // workerSleeps: how often a worker slept before a job (Atomics.wait: each such job waits
    // tens of µs for it), counted by the workers.
    const ctrl = this.ctrl;
    this.stats = {
      jobs: 0,
      chunks: 0,
      callerChunks: 0,
      get workerSleeps() {
        return Atomics.load(ctrl, SLEEPS);
      },
    };
    this._stop = stop;
    this.spinUs = spinUs;
  }

  // spinUs is how long (µs) the workers poll for a next job, and the caller for their last
  // chunks, before they sleep (0: at once).
  get spinUs() {
    return Atomics.load(this.ctrl, SPIN);
  }
  set spinUs(us) {
    Atomics.store(this.ctrl, SPIN, Math.max(0, Math.min(1e6, Math.round(us))));
  }

  // run computes kernel op over all n output columns (elements, rows) of the call whose arguments
  // are a, split in chunks of a multiple of unit (8: the kernels' tiles) over the pool's threads,
  // and returns when every one is done.
  run(op, a, n, unit = 8) {
    const { ctrl, args } = this;
    const per = Math.ceil(n / (this.threads * this.chunksPerThread) / unit) * unit;
    const chunk = Math.max(unit, per, Math.ceil(n / IDX_MASK / unit) * unit);
    const nchunk = Math.ceil(n / chunk);
    Atomics.store(ctrl, TICKET, CLOSED);
    for (let i = 0; i < NARGS - 1; i++) args[i] = i < a.length ? a[i] : 0; // arguments left out are 0 (a bias: none), not the last job's
    args[NARGS - 1] = n;
    ctrl[OP] = op;
    ctrl[NCHUNK] = nchunk;
    ctrl[CHUNK] = chunk;
    Atomics.store(ctrl, DONE, 0);
    const gen = (this.gen = (this.gen + 1) & GEN_MASK);
    Atomics.store(ctrl, TICKET, gen << IDX_BITS);
    Atomics.store(ctrl, GEN, gen);
    Atomics.notify(ctrl, GEN);
    const own = runChunks(this.k, ctrl, args, gen, 0);
    this.stats.jobs++;
    this.stats.chunks += nchunk;
    this.stats.callerChunks += own;
    // The rest are being computed by workers that claimed them: poll for up to spinUs, then
    // sleep until the last one notifies (a page's main thread, which may not sleep, polls).
    // Polling also stops when this thread is preempted (poll).
    let d = Atomics.load(ctrl, DONE);
    if (d < nchunk) {
      const t0 = performance.now(), limit = Atomics.load(ctrl, SPIN) / 1000;
      for (let preempted = false; d < nchunk && !preempted && performance.now() - t0 < limit; ) [d, preempted] = poll(ctrl, DONE, d, t0, limit);
      for (; d < nchunk; d = Atomics.load(ctrl, DONE)) if (this.block) Atomics.wait(ctrl, DONE, d, 20);
    }
  }

  // stop ends the workers (they return from serveKernels) and terminates them.
  stop() {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    this._stop?.();
  }
}

// startPool starts threads-1 kernel workers on memory (the Go instance's shared memory) with
// module (the kernel module compiled for a shared memory) and returns the KernelPool whose own
// thread runs k (the caller's kernel instance's exports). spawn() starts one worker and returns
// { post(message), onMessage(f), onError(f), terminate() }: a Web Worker running kernel-worker.js
// or a worker_threads Worker running node-kernel-worker.js. It rejects if a worker fails to start
// within timeoutMs; the caller falls back to one thread.
// relaxedModule, when given, is the relaxed-SIMD module (kernels_relaxed.wat) for the same memory:
// each worker instantiates it too and serves its operations. spinUs: KernelPool.spinUs.
export async function startPool(threads, module, memory, k, spawn, { spinUs = SPIN_US, timeoutMs = 20000, relaxedModule = null } = {}) {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  // the polling limit, before any worker starts: a worker reads it from its first poll on
  Atomics.store(new Int32Array(control, 0, ARGS), SPIN, Math.max(0, Math.min(1e6, Math.round(spinUs))));
  const workers = [];
  const stop = () => workers.forEach((w) => w.terminate());
  try {
    await Promise.all(
      Array.from({ length: threads - 1 }, (_, i) => {
        const w = spawn();
        workers.push(w);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`kernel worker ${i + 1} did not start in ${timeoutMs} ms`)), timeoutMs);
          w.onMessage((m) => {
            clearTimeout(timer);
            if (m?.ready) resolve();
            else reject(new Error(`kernel worker ${i + 1}: ${m?.error ?? "no answer"}`));
          });
          w.onError((e) => {
            clearTimeout(timer);
            reject(e instanceof Error ? e : new Error(`kernel worker ${i + 1}: ${e?.message ?? e}`));
          });
          w.post({ module, relaxedModule, memory, control, t: i + 1 });
        });
      }),
    );
  } catch (e) {
    stop();
    throw e;
  }
  return new KernelPool(k, control, threads, stop, spinUs);
}

// workerMain is the body of a kernel worker: on its one message it instantiates the kernel module
// on the shared memory, answers { ready } (or { error }) through post, and serves jobs until the
// pool stops.
export function workerMain(msg, post) {
  let k;
  try {
    k = { ...new WebAssembly.Instance(msg.module, { env: { mem: msg.memory } }).exports };
    if (msg.relaxedModule) Object.assign(k, new WebAssembly.Instance(msg.relaxedModule, { env: { mem: msg.memory } }).exports);
  } catch (e) {
    post({ error: String(e?.message ?? e) });
    return;
  }
  post({ ready: true });
  serveKernels(k, msg.control, msg.t);
}
