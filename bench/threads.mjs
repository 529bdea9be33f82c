// bench/threads.mjs: adapterwasm's kernel threads (js/src/kernel-pool.js) beside onnxruntime-web's
// threads on MiniLM-L6 + the sentiment adapter + head, in one Node process, interleaved as
// bench.mjs's speed section (lib.mjs runCase):
//
//   aw-q8        q8, every product on the calling thread (the pool idle; memory shared)
//   aw-q8-2t     q8, products of at least PARALLEL_MIN multiply-adds split over 2 threads
//   ort-int8     onnxruntime-web int8 on 1 thread: a session in a child process whose
//                ort.env.wasm.numThreads is 1 (ort-child.mjs), interleaved with the rest over IPC
//                and timed in that process. (onnxruntime-web's thread pool is per process: a
//                session with intraOpNumThreads 1 beside numThreads 2 still ran on 2 threads.)
//   ort-int8-2t  onnxruntime-web int8, ort.env.wasm.numThreads 2 (intraOpNumThreads 2), here
//   aw-q8-2i     the alternative to threads where memory cannot be shared: a pool of 2 model
//                instances (WorkerModelPool: worker threads, { threads: 1 } each), the batch
//                halved between them (batch 1: one of them). Twice the memory; BENCH_INSTANCES=0 skips it.
//
// It prints the table, the 2-thread speed-up of each side, and the line
// `worst ratio q8-2t/ort-int8-2t Z` (bench.mjs runs it and prints that line before its summary).
// Environment: as bench.mjs (BENCH_QUICK, BENCH_RUNS, BENCH_WARMUP, BENCH_CASES, ADAPTERWASM_CACHE),
// BENCH_THREADS (default 2), BENCH_PARALLEL_MIN (the cut-over, default the package's), BENCH_BLOCK
// (timed runs per turn, default 4, after ≥ 80 ms of untimed ones), BENCH_WARM_MS (default 1500: each
// contender alone at 1×64 before the first case).
import "../js/src/node.js"; // worker_threads for the kernel workers
import { fork } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { PARALLEL_MIN, setParallelMin } from "../js/src/kernel-imports.js";
import { WorkerModelPool } from "../js/src/node-worker-client.js";
import { loadRuntime } from "../js/src/runtime.js";
import { Adapterwasm, Ort, Q8_DIR, Q8_NOTE, runCase, stats, table, warmUp } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS || (QUICK ? 8 : 20));
const WARMUP = Number(process.env.BENCH_WARMUP || (QUICK ? 2 : 3));
const THREADS = Number(process.env.BENCH_THREADS || 2);
// BLOCK: each contender's turn is untimed runs for at least SETTLE_MS, then BLOCK timed ones
// (lib.mjs runCase): after its runs onnxruntime-web's thread pool spins for 20–40 ms (measured: a
// process's CPU time after an 8×32 run with numThreads 2; none with 1), which landed on whichever
// contender ran next.
const BLOCK = Number(process.env.BENCH_BLOCK || 4);
const SETTLE_MS = 80;
// WARM_MS: each contender runs alone this long before the first case (lib.mjs warmUp).
const WARM_MS = Number(process.env.BENCH_WARM_MS || 1500);
const CASES = process.env.BENCH_CASES || (QUICK ? "1x32,1x128,8x32,8x64" : "1x16,1x32,1x64,1x128,1x256,8x32,8x64,32x32");
const load = () => `load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`;
// cpuTicks: on Linux, the CPU time (1/100 s ticks) used by the whole machine and by this process
// and its children (ort-child.mjs) so far, to tell how much of a case's time other processes
// took (the machine may be shared); null elsewhere.
const pids = [process.pid];
function cpuTicks() {
  try {
    const all = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const own = pids.reduce((sum, pid) => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return sum + Number(f[11]) + Number(f[12]);
    }, 0);
    return { all: all[0] + all[1] + all[2] + all[5] + all[6] + all[7], own, t: performance.now() };
  } catch {
    return null;
  }
}
const othersShare = (a, b) => (a && b ? `; other processes used ${((b.all - a.all - (b.own - a.own)) / ((b.t - a.t) / 10)).toFixed(2)} cores` : "");
const need = (p) => {
  if (!existsSync(p)) throw new Error(`${p} is missing: ./build.sh bench builds it`);
  return p;
};
const dirFiles = (dir) => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
if (process.env.BENCH_PARALLEL_MIN) setParallelMin(Number(process.env.BENCH_PARALLEL_MIN));

const rt = await loadRuntime(readFileSync(join(ROOT, "js/dist/adapterwasm.wasm")), undefined, undefined, undefined, THREADS);
if (rt.threads !== THREADS) throw new Error(`bench/threads.mjs: ${rt.threads} kernel thread(s), want ${THREADS}: ${rt.threadsNote}`);
ort.env.wasm.numThreads = THREADS;
ort.env.wasm.simd = true;

const aw = await Adapterwasm.create(rt, { modelFiles: dirFiles(need(join(CACHE, `models/all-MiniLM-L6-v2.${Q8_DIR}`))), adapterFiles: dirFiles(join(ROOT, "testdata/minilm/adapters/sentiment")), adapter: "sentiment" });
// aw-q8 and aw-q8-2t are one model: each call switches the pool off or on first.
const awOn = (on) => ({ tokenize: (t, n) => aw.tokenize(t, n), run: (t) => (rt.useThreads(on), aw.run(t)) });
const peer = readFileSync(need(join(CACHE, "onnx/minilm-sentiment.q8.onnx")));
// ortChild starts ort-child.mjs with a session of numThreads threads on the model at path and
// returns an Ort-like impl for runCase: its runs answer { selfTimedMs } (timed in the child).
async function ortChild(path, numThreads) {
  const child = fork(fileURLToPath(new URL("ort-child.mjs", import.meta.url)), { stdio: "inherit" });
  pids.push(child.pid);
  let pending = null;
  child.on("message", (m) => {
    const p = pending;
    pending = null;
    if (m.error) p?.reject(new Error(`ort-child: ${m.error}`));
    else p?.resolve(m);
  });
  child.on("exit", (code) => pending?.reject(new Error(`ort-child exited (${code})`)));
  const ask = (m) => new Promise((resolve, reject) => ((pending = { resolve, reject }), child.send(m)));
  await ask({ init: { model: path, numThreads } });
  let last = null;
  return {
    feeds: (ids) => ids,
    run: async (ids) => {
      if (ids !== last) await ask({ feeds: ids });
      last = ids;
      return { selfTimedMs: (await ask({ run: true })).ms };
    },
    kill: () => child.kill(),
  };
}
const list = [
  { name: "aw-q8", kind: "aw", impl: awOn(false) },
  { name: "aw-q8-2t", kind: "aw", impl: awOn(true) },
  { name: "ort-int8", kind: "ort", impl: await ortChild(join(CACHE, "onnx/minilm-sentiment.q8.onnx"), 1) },
  { name: "ort-int8-2t", kind: "ort", impl: await Ort.create(ort, peer, null, { intraOpNumThreads: THREADS }) },
];
let pool = null;
if (process.env.BENCH_INSTANCES !== "0") {
  // the package's WorkerModelPool: THREADS copies at one kernel thread each, a batch split between them
  pool = await WorkerModelPool.fromPretrained(join(CACHE, `models/all-MiniLM-L6-v2.${Q8_DIR}`), { instances: THREADS, threads: 1, cache: false });
  pool.activeAdapters = await pool.loadAdapter(join(ROOT, "testdata/minilm/adapters/sentiment"));
  const run = (texts) => pool.classify(texts);
  list.push({ name: `aw-q8-${THREADS}i`, kind: "aw", impl: { run } });
}

console.log(`# kernel threads ${THREADS} (cut-over ${PARALLEL_MIN} multiply-adds), ort-int8-2t numThreads ${THREADS}, ort-int8 numThreads 1 in a child process (self-timed); runs ${RUNS}, warm-up ${WARMUP}, after ${WARM_MS} ms of each alone, interleaved in turns of ≥ ${SETTLE_MS} ms of untimed runs + ${BLOCK} timed ones; ${Q8_NOTE}; ${load()}`);
await warmUp(list, { B: 1, T: 64 }, { ms: WARM_MS, now: () => performance.now() });
const results = {};
for (const c of CASES.split(",")) {
  const [B, T] = c.split("x").map(Number);
  const c0 = cpuTicks();
  results[`${B}×${T}`] = await runCase(list, { B, T }, { runs: RUNS, warmup: WARMUP, block: BLOCK, settleMs: SETTLE_MS, now: () => performance.now(), log: (l) => console.error(`# threads ${l} (${load()}${othersShare(c0, cpuTicks())})`) });
}
const t = table(results, list.map((c) => c.name), "threads ");
console.log(t);
const speedup = (one, two) =>
  Object.entries(results)
    .map(([k, r]) => `${k} ${(r[one].median / r[two].median).toFixed(2)} (${stats(r[one].times.map((v, i) => v / r[two].times[i])).median.toFixed(2)})`)
    .join(", ");
console.log(`\n2-thread speed-up (1-thread time / 2-thread time, medians (per round)): adapterwasm ${speedup("aw-q8", "aw-q8-2t")}`);
console.log(`onnxruntime-web (numThreads 1, own process / numThreads ${THREADS}) ${speedup("ort-int8", "ort-int8-2t")}`);
if (pool) console.log(`${THREADS} model instances instead (WorkerModelPool; aw-q8 time / aw-q8-${THREADS}i time): ${speedup("aw-q8", `aw-q8-${THREADS}i`)}; Wasm memory ${((await pool.memory())[0].wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB each, vs ${(rt.memoryBytes / 2 ** 20).toFixed(1)} MiB for the one threaded instance`);
console.log(`pool: ${JSON.stringify(rt.pool.stats)} (chunks the calling thread computed itself, of all); ${load()}`);
const worst = Math.max(...Object.values(results).map((r) => r["aw-q8-2t"].median / r["ort-int8-2t"].median));
console.log(`\nworst ratio q8-2t/ort-int8-2t ${worst.toFixed(2)}`);
list.forEach((c) => c.impl.kill?.());
process.exit(0);
