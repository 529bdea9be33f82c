// bench/cutover.mjs: where splitting a product over kernel threads starts to pay
// (js/src/kernel-imports.js PARALLEL_MIN). qgemm_packed on MiniLM's shapes (K×N 384×384 and
// 384×1536) for M = 1 … 128 rows, on one shared memory: one thread (the kernel called directly)
// and the pool (js/src/kernel-pool.js, BENCH_THREADS threads, default 2), interleaved, median of
// BENCH_RUNS (default 200) calls each, with the machine's load. Run: node bench/cutover.mjs
// (after ./build.sh wasm). Random operands: the time does not depend on the values.
import "../js/src/node.js";
import { loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { OP_QGEMM, startPool } from "../js/src/kernel-pool.js";
import { MAX_PAGES, shareMemory } from "../js/src/shared-memory.js";

const THREADS = Number(process.env.BENCH_THREADS || 2);
const RUNS = Number(process.env.BENCH_RUNS || 200);
const b64 = (await import("../js/dist/kernels.js")).default;
const module = new WebAssembly.Module(shareMemory(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
const mem = new WebAssembly.Memory({ initial: 512, maximum: MAX_PAGES, shared: true });
const k = new WebAssembly.Instance(module, { env: { mem } }).exports;
new Uint8Array(mem.buffer).forEach((_, i, a) => (a[i] = (i * 2654435761) >>> 24));
const f32 = new Float32Array(mem.buffer);
const MB = 1 << 20;
f32.fill(0.001, (3 * MB) / 4, (4 * MB) / 4); // activation scales
f32.fill(0.001, (12 * MB) / 4, (13 * MB) / 4); // weight scales
const spawn = () => {
  const w = new Worker(new URL("../js/src/node-kernel-worker.js", import.meta.url));
  w.unref();
  return { post: (m) => w.postMessage(m), onMessage: (f) => w.once("message", f), onError: (f) => w.once("error", f), terminate: () => w.terminate() };
};
const pool = await startPool(THREADS, module, mem, k, spawn);
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`# qgemm_packed, 1 thread vs ${THREADS}, median µs of ${RUNS} interleaved calls; load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
console.log(`| M×K×N | multiply-adds | 1 thread µs | ${THREADS} threads µs | speed-up |\n|---|---|---|---|---|`);
for (const [K, N] of [[384, 384], [384, 1536]]) {
  for (const M of [1, 2, 4, 8, 16, 32, 64, 128]) {
    const a = [0, N, 2 * MB, 3 * MB, 4 * MB, 12 * MB, M, K, N, 14 * MB, 0, 5]; // no bias, blocks of 32
    const one = [], many = [];
    for (let r = 0; r < RUNS + 10; r++) {
      let t0 = performance.now();
      k.qgemm_packed(...a);
      const t1 = performance.now() - t0;
      t0 = performance.now();
      pool.run(OP_QGEMM, a, N);
      const t2 = performance.now() - t0;
      if (r >= 10) one.push(t1), many.push(t2);
    }
    const [x, y] = [median(one) * 1000, median(many) * 1000];
    console.log(`| ${M}×${K}×${N} | ${M * K * N} | ${x.toFixed(1)} | ${y.toFixed(1)} | ${(x / y).toFixed(2)} |`);
  }
}
console.log(`# ${JSON.stringify(pool.stats)}; load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
pool.stop();
process.exit(0);
