// bench.mjs: adapterwasm vs onnxruntime-web, side by side in one Node process (./build.sh bench).
//
//   aw-q8     adapterwasm, q8 single-file MiniLM + the sentiment demo adapter and its head
//   aw-f32    the same on the f32 single file
//   ort-int8  onnxruntime-web 1.30.0, Wasm backend, 1 thread, SIMD: the dynamic-int8 ONNX peer of
//             the same MiniLM + adapter + head (bench/onnx_peer.py → $ADAPTERWASM_CACHE/onnx)
//   ort-f32   the same on the f32 peer
//
// Sections, in order: (1) speed on MiniLM, batch 1 at 16/32/64/128/256 tokens and batch 8 at 32,
// interleaved, warm-up first, median and p90 of BENCH_RUNS (default 20) runs; (2) accuracy of each
// engine and dtype against adapterwasm f32 on fixed sentences (|Δlogit|, embedding cosine, labels);
// (3) the same two on a random base of bert-base-uncased's shape (1×128, 8×64) and its Wasm memory
// after load, checked against BERT_BASE_Q8_MIB; (4) start-up, import to first result, cold and
// warm, one fresh process per cold sample (startup.mjs); (5) the SIMD peak and the kernels' share;
// (6) 2 kernel threads beside onnxruntime-web's 2 threads (threads.mjs, its own process), whose
// last line, `worst ratio q8-2t/ort-int8-2t Z`, is printed again just before the summary.
// The load average is printed with each section: the machine may be shared.
// Environment: BENCH_QUICK=1 (./build.sh bench quick: fewer runs and shapes, bert-base q8 only),
// BENCH_RUNS, BENCH_WARMUP (default 3), BENCH_CASES ("1x16,8x32"), BENCH_BASE_CASES ("1x128,8x64"),
// BENCH_BASE_RUNS, BENCH_STARTUP_RUNS, BENCH_WARM_MS (default 1000), BENCH_ONLY (comma-separated contender names), BENCH_SKIP
// (comma-separated sections: accuracy, bert-base, startup, peak, threads), ADAPTERWASM_CACHE (default
// <repo>/.cache), ADAPTERWASM_KERNELS=off (adapterwasm without its SIMD kernel module: plain Go),
// BENCH_Q8_BLOCK=64 or 128 (./build.sh bench block64: aw-q8 on `convert --block N` files).
// Run as `node --experimental-wasm-relaxed-simd bench/bench.mjs` (Node 20; Node 24 has relaxed SIMD
// without the flag: ./build.sh bench node-lts), adapterwasm's q8 products take
// the relaxed-SIMD kernel (kernels_relaxed.wat, as in Chromium; opt-in in the package, which the
// bench sets: ADAPTERWASM_RELAXED=off measures the plain kernel).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { accuracy, accuracyTable, accuracyTexts, Adapterwasm, CASES, Ort, peak, peakLines, Q8_DIR, Q8_NOTE, runCase, table, warmUp } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
// The relaxed-SIMD kernel where this Node has relaxed SIMD (the flag above): only there, since
// without it the package would run the same 7-bit recipe on its plain-SIMD twin (qgemm_u7), and
// the bench measures the default kernel then. ADAPTERWASM_RELAXED=plain measures the twin.
process.env.ADAPTERWASM_RELAXED ??= WebAssembly.validate(Buffer.from((await import("../js/dist/kernels_relaxed.js")).default, "base64")) ? "on" : "off";
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS || (QUICK ? 8 : 20));
const WARMUP = Number(process.env.BENCH_WARMUP || (QUICK ? 2 : 3));
const BASE_RUNS = Number(process.env.BENCH_BASE_RUNS || (QUICK ? 3 : 6));
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS || (QUICK ? 1 : 3));
// WARM_MS: each contender runs alone this long at 1×64 before the first case (lib.mjs warmUp).
const WARM_MS = Number(process.env.BENCH_WARM_MS || 1000);
const ADAPTER = "sentiment";
// BERT_BASE_Q8_MIB bounds the Wasm memory of the q8 bert-base-shaped model with its adapter and
// head loaded (measured 2026-12-06: README.md, Limits); the bench fails past it.
const BERT_BASE_Q8_MIB = 160;

function need(path, how) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${how}`);
  return path;
}

const dirFiles = (dir) => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
const BUILD = "./build.sh bench builds it";
const modelDir = (name, dt) => need(join(CACHE, `models/${name}.${dt}`), `${BUILD} (adapterwasm convert --dtype ${dt})`);
const onnx = (name) => need(join(CACHE, "onnx", name), `${BUILD} (bench/onnx_peer.py; bench/README.md)`);
const load = () => `load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`;
const shapes = (s) =>
  s.split(",").map((c) => {
    const [B, T] = c.split("x").map(Number);
    return { B, T };
  });
const skip = new Set((process.env.BENCH_SKIP || "").split(",").filter(Boolean));

const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",") : null;
const want = (n) => !only || only.includes(n);
const cases = process.env.BENCH_CASES ? shapes(process.env.BENCH_CASES) : QUICK ? shapes("1x32,1x128,8x32") : CASES;

if (process.env.ADAPTERWASM_KERNELS === "off") {
  globalThis.ADAPTERWASM_KERNELS = "off"; // js/src/runtime.js then skips the kernel module
}
const { loadRuntime } = await import("../js/src/runtime.js");
const rt = await loadRuntime(readFileSync(need(join(ROOT, "js/dist/adapterwasm.wasm"), "./build.sh wasm")), undefined, undefined, undefined, 1); // one thread: section (6) has the pool

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;

// contenders loads the four engines on one base (model dir name, adapter files, ONNX peer stem).
async function contenders(model, adapterFiles, peer, names) {
  const out = [];
  const aw = async (dt) => Adapterwasm.create(rt, { modelFiles: dirFiles(modelDir(model, dt)), adapterFiles, adapter: ADAPTER });
  const peerOf = async (suffix) => Ort.create(ort, readFileSync(onnx(`${peer}${suffix}.onnx`)), async () => readFileSync(onnx(`${peer}.base${suffix}.onnx`)));
  for (const name of names) {
    if (!want(name)) continue;
    const impl = { "aw-q8": () => aw(Q8_DIR), "ort-int8": () => peerOf(".q8"), "aw-f32": () => aw("f32"), "ort-f32": () => peerOf("") }[name]();
    out.push({ name, kind: name.startsWith("aw") ? "aw" : "ort", impl: await impl });
  }
  if (!out.some((c) => c.kind === "aw")) throw new Error("BENCH_ONLY: keep at least one adapterwasm contender (it tokenizes)");
  return out;
}

async function free(list) {
  for (const c of list) {
    if (c.kind === "aw") c.impl.h.free();
    else await c.impl.s.release();
  }
}

async function speed(list, shapeList, runs, prefix = "", warmup = WARMUP) {
  const results = {};
  for (const c of shapeList) {
    results[`${c.B}×${c.T}`] = await runCase(list, c, { runs, warmup, now: () => performance.now(), log: (l) => console.error(`# ${prefix}${l} (${load()})`) });
  }
  return table(results, list.map((c) => c.name), prefix);
}

const info = [
  `# date ${new Date().toISOString()}; ${load()}`,
  `# machine ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ort.env.versions.web}; ${execFileSync("go", ["version"]).toString().trim()}`,
  `# adapterwasm SIMD kernels: ${process.env.ADAPTERWASM_KERNELS === "off" ? "off (plain Go)" : rt.relaxedNative ? `on, q8 on the relaxed-SIMD kernel (${process.execArgv.includes("--experimental-wasm-relaxed-simd") ? "node --experimental-wasm-relaxed-simd" : `relaxed SIMD by default in Node ${process.version}`})` : rt.relaxed ? "on, q8 on the relaxed kernel's recipe without relaxed SIMD (qgemm_u7)" : "on"}; runs ${RUNS}, warm-up ${WARMUP}, interleaved; adapter ${ADAPTER} + head${QUICK ? "; quick" : ""}`,
  `# ${Q8_NOTE}`,
];
console.log(info.join("\n"));

// (1) MiniLM speed, (2) accuracy on MiniLM.
let summary = "";
const texts = accuracyTexts(JSON.parse(readFileSync(join(ROOT, "testdata/minilm/golden/sentiment.json"), "utf8")), readFileSync(join(ROOT, "testdata/minilm/heldout/sentiment.jsonl"), "utf8"));
{
  const list = await contenders("all-MiniLM-L6-v2", dirFiles(join(ROOT, "testdata/minilm/adapters", ADAPTER)), "minilm-sentiment", ["aw-q8", "ort-int8", "aw-f32", "ort-f32"]);
  // Same answers first: a sanity check that both sides run the same model.
  const aw = list.find((c) => c.kind === "aw");
  const text = "a wonderful, moving film";
  const ids = await aw.impl.ids(text);
  for (const c of list) console.log(`# check: ${c.name} logits ${Array.from(await c.impl.logits(text, ids), (v) => v.toFixed(3)).join(" ")}`);
  await warmUp(list, { B: 1, T: 64 }, { ms: WARM_MS, now: () => performance.now() });
  console.log(`\n## MiniLM-L6 (${load()})\n`);
  const t = await speed(list, cases, RUNS);
  console.log(t);
  summary = t.split("\n").pop();
  if (!skip.has("accuracy") && list.some((c) => c.name === "aw-f32")) {
    console.log(`\n## accuracy against adapterwasm f32, ${texts.length} sentences one at a time (${load()})\n`);
    console.log(accuracyTable(await accuracy(list, "aw-f32", texts), "aw-f32"));
  }
  await free(list);
}

// (3) a base of bert-base-uncased's shape (random weights): speed, accuracy, memory.
if (!skip.has("bert-base")) {
  const names = QUICK ? ["aw-q8", "ort-int8"] : ["aw-q8", "ort-int8", "aw-f32", "ort-f32"];
  const list = await contenders("bert-base-uncased-random", dirFiles(join(CACHE, "models/bert-base-uncased-random.adapters", ADAPTER)), "bert-base-sentiment", names);
  console.log(`\n## bert-base-uncased shape, random weights (${load()}); runs ${BASE_RUNS}, warm-up 1\n`);
  console.log(await speed(list, shapes(process.env.BENCH_BASE_CASES || (QUICK ? "1x128" : "1x128,8x64")), BASE_RUNS, "bert-base ", 1));
  if (!skip.has("accuracy") && list.some((c) => c.name === "aw-f32")) {
    console.log(`\n## bert-base accuracy against adapterwasm f32, the first 12 sentences (${load()})\n`);
    console.log(accuracyTable(await accuracy(list, "aw-f32", texts.slice(0, 12)), "aw-f32"));
  }
  await free(list);
}

// (4) start-up: one fresh Node process per cold sample, interleaved.
const startup = [];
if (!skip.has("startup")) {
  const configs = [
    ["aw", "minilm", "q8"],
    ["ort", "minilm", "q8"],
    ["aw", "minilm", "f32"],
    ["ort", "minilm", "f32"],
  ];
  if (!skip.has("bert-base")) configs.push(["aw", "bert-base", "q8"], ["ort", "bert-base", "q8"]);
  const samples = configs.map(() => []);
  for (let r = 0; r < STARTUP_RUNS; r++) {
    for (let k = 0; k < configs.length; k++) {
      const i = (k + r) % configs.length;
      const out = execFileSync(process.execPath, [join(ROOT, "bench/startup.mjs"), ...configs[i]], { env: { ...process.env, ADAPTERWASM_CACHE: CACHE }, encoding: "utf8" });
      samples[i].push(JSON.parse(out.trim().split("\n").pop()));
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const phases = (list) => Object.keys(list[0]).map((k) => `${k} ${med(list.map((p) => p[k])).toFixed(0)}`).join(", ");
  console.log(`\n## start-up in Node: import → first result, median of ${STARTUP_RUNS} fresh processes (${load()})\n`);
  console.log("| engine | model | cold ms | cold phases ms | warm ms | warm phases ms | WebAssembly.compile ms (share of cold) | Wasm memory after load (after first result) |");
  console.log("|---|---|---|---|---|---|---|---|");
  configs.forEach(([engine, model, dtype], i) => {
    const s = samples[i];
    const cold = med(s.map((x) => x.cold.ms)), warm = med(s.map((x) => x.warm.ms));
    const name = engine === "aw" ? `aw-${dtype}` : `ort-${dtype === "q8" ? "int8" : "f32"}`;
    let compile = "—", memory = "—";
    if (engine === "aw") {
      const c = med(s.map((x) => x.cold.compileMs));
      compile = `${c.toFixed(0)} (${((100 * c) / cold).toFixed(0)}%)`;
      const l = Math.max(...s.map((x) => x.cold.loadMiB)), f = Math.max(...s.map((x) => x.cold.firstMiB));
      memory = `${l.toFixed(1)} MiB (${f.toFixed(1)} MiB)`;
      if (model === "bert-base" && dtype === "q8") startup.push({ loadMiB: l });
    }
    console.log(`| ${name} | ${model} | ${cold.toFixed(0)} | ${phases(s.map((x) => x.cold.phases))} | ${warm.toFixed(0)} | ${phases(s.map((x) => x.warm.phases))} | ${compile} | ${memory} |`);
  });
  const eager = [0, 1, 2].map(() => JSON.parse(execFileSync(process.execPath, ["--no-wasm-lazy-compilation", join(ROOT, "bench/startup.mjs"), "eager"], { encoding: "utf8" }).trim().split("\n").pop()));
  const e = eager[0], ems = eager.map((x) => x.compileMs).sort((a, b) => a - b);
  console.log(`\nWebAssembly.compile of the ${(e.bytes / 1e6).toFixed(1)} MB module above is lazy (V8 compiles each function on its first call, inside the phases); compiled eagerly (node --no-wasm-lazy-compilation) it takes ${ems[1].toFixed(0)} ms (median of 3 fresh processes; ${ems[0].toFixed(0)}–${ems[2].toFixed(0)}).`);
}

// (5) the SIMD peak and the kernels' share of it.
if (!skip.has("peak")) {
  const peakWasm = join(tmpdir(), `adapterwasm-peak-${process.pid}.wasm`);
  execFileSync(process.execPath, [join(ROOT, "bench/wat2wasm.mjs"), join(ROOT, "bench/peak.wat"), peakWasm], { stdio: ["ignore", "ignore", "ignore"] });
  const kb64 = (await import("../js/dist/kernels.js")).default;
  console.log(`\n## peak (${load()})\n`);
  const rb64 = (await import("../js/dist/kernels_relaxed.js")).default; // timed where this Node has relaxed SIMD
  const peakBytes = readFileSync(peakWasm);
  rmSync(peakWasm, { force: true });
  console.log(peakLines(await peak(peakBytes, Buffer.from(kb64, "base64"), () => performance.now(), 40, Buffer.from(rb64, "base64"))));
}

// (6) kernel threads beside onnxruntime-web's (bench/threads.mjs, its own process: both sides'
// thread counts are fixed per process).
let threadsLine = "";
if (!skip.has("threads") && process.env.ADAPTERWASM_KERNELS !== "off") {
  console.log(`\n## threads: MiniLM-L6 q8 at 1 and 2 threads beside ort-int8 at 1 and 2 (${load()})\n`);
  const out = execFileSync(process.execPath, [join(ROOT, "bench/threads.mjs")], { env: process.env, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 }).toString().trim();
  console.log(out);
  threadsLine = out.split("\n").pop();
}

if (threadsLine) console.log(`\n${threadsLine}`);
console.log(`${threadsLine ? "" : "\n"}${summary}`); // MiniLM's, the line ./build.sh bench ends with
for (const s of startup) {
  if (s.loadMiB > BERT_BASE_Q8_MIB) {
    console.error(`bench: the q8 bert-base-shaped model takes ${s.loadMiB.toFixed(1)} MiB of Wasm memory after load, over the documented ${BERT_BASE_Q8_MIB} MiB (README.md, Limits)`);
    process.exit(1);
  }
}
process.exit(0);
