// bench.mjs: adapterwasm vs onnxruntime-web, side by side in one Node process (./build.sh bench).
//
//   aw-q8     adapterwasm, q8 single-file MiniLM + the sentiment demo adapter and its head
//   aw-f32    the same on the f32 single file
//   ort-int8  onnxruntime-web 1.30.0, Wasm backend, 1 thread, SIMD: the dynamic-int8 ONNX export of
//             the same MiniLM + adapter + head (tools/reference/make_minilm.py → .cache/onnx)
//   ort-f32   the same on the f32 export
//
// Batch 1 at 16/32/64/128/256 tokens and batch 8 at 32, interleaved, warm-up first, median and
// p90 of BENCH_RUNS (default 20) runs; then the SIMD peak and the kernels' share of it.
// Environment: BENCH_RUNS, BENCH_WARMUP (default 3), BENCH_CASES ("1x16,8x32"), BENCH_ONLY
// (comma-separated contender names), ADAPTERWASM_CACHE (default <repo>/.cache),
// ADAPTERWASM_KERNELS=off (adapterwasm without its SIMD kernel module: the plain-Go path).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { Adapterwasm, CASES, Ort, peak, peakLines, runCase, table } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const RUNS = Number(process.env.BENCH_RUNS || 20);
const WARMUP = Number(process.env.BENCH_WARMUP || 3);
const ADAPTER = "sentiment";

function need(path, how) {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${how}`);
  return path;
}

const dirFiles = (dir) => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));

const modelDir = (dt) => need(join(CACHE, `models/all-MiniLM-L6-v2.${dt}`), `./build.sh bench converts it (adapterwasm convert --dtype ${dt})`);
const onnx = (name) => need(join(CACHE, "onnx", name), "run tools/reference/make_minilm.py (its ONNX part; bench/README.md)");

const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",") : null;
const want = (n) => !only || only.includes(n);
const cases = process.env.BENCH_CASES
  ? process.env.BENCH_CASES.split(",").map((c) => {
      const [B, T] = c.split("x").map(Number);
      return { B, T };
    })
  : CASES;

if (process.env.ADAPTERWASM_KERNELS === "off") {
  globalThis.ADAPTERWASM_KERNELS = "off"; // js/src/runtime.js then skips the kernel module
}
const { loadRuntime } = await import("../js/src/runtime.js");
const rt = await loadRuntime(readFileSync(need(join(ROOT, "js/dist/adapterwasm.wasm"), "./build.sh wasm")));
const adapterFiles = dirFiles(join(ROOT, "testdata/minilm/adapters", ADAPTER));

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;

const contenders = [];
if (want("aw-q8")) contenders.push({ name: "aw-q8", kind: "aw", impl: await Adapterwasm.create(rt, { modelFiles: dirFiles(modelDir("q8")), adapterFiles, adapter: ADAPTER }) });
if (want("ort-int8")) contenders.push({ name: "ort-int8", kind: "ort", impl: await Ort.create(ort, readFileSync(onnx("minilm-sentiment.q8.onnx"))) });
if (want("aw-f32")) contenders.push({ name: "aw-f32", kind: "aw", impl: await Adapterwasm.create(rt, { modelFiles: dirFiles(modelDir("f32")), adapterFiles, adapter: ADAPTER }) });
if (want("ort-f32")) contenders.push({ name: "ort-f32", kind: "ort", impl: await Ort.create(ort, readFileSync(onnx("minilm-sentiment.onnx"))) });
if (!contenders.some((c) => c.kind === "aw")) throw new Error("BENCH_ONLY: keep at least one adapterwasm contender (it tokenizes)");

// Same answers first: the label of each adapterwasm model on a test sentence vs onnxruntime-web's
// argmax (a sanity check that both run the same model, not a parity test).
{
  const aw = contenders.find((c) => c.kind === "aw");
  const text = "a wonderful, moving film";
  const [res] = await aw.impl.run([text]);
  const ids = (await rt.call(aw.impl.h, "tokenize", [text], 0))[0].inputIds;
  for (const c of contenders) {
    if (c.kind === "ort") {
      const out = await c.impl.run(c.impl.feeds([ids]));
      const l = Array.from(out.logits.data);
      console.log(`# check: ${c.name} logits ${l.map((v) => v.toFixed(3)).join(" ")}; ${aw.name} ${res.label} ${res.logits.map((v) => v.toFixed(3)).join(" ")}`);
    }
  }
}

const info = [
  `# date ${new Date().toISOString()}`,
  `# machine ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ort.env.versions.web}; ${execFileSync("go", ["version"]).toString().trim()}`,
  `# adapterwasm SIMD kernels: ${process.env.ADAPTERWASM_KERNELS === "off" ? "off (plain Go)" : "on"}; runs ${RUNS}, warm-up ${WARMUP}, interleaved; adapter ${ADAPTER} + head`,
];
console.log(info.join("\n"));
const now = () => performance.now();
const results = {};
for (const c of cases) {
  results[`${c.B}×${c.T}`] = await runCase(contenders, c, { runs: RUNS, warmup: WARMUP, now, log: (l) => console.error(`# ${l}`) });
}
console.log(table(results, contenders.map((c) => c.name)));

const peakWasm = join(tmpdir(), `adapterwasm-peak-${process.pid}.wasm`);
execFileSync("node", [join(ROOT, "bench/wat2wasm.mjs"), join(ROOT, "bench/peak.wat"), peakWasm], { stdio: ["ignore", "ignore", "ignore"] });
const kb64 = (await import("../js/dist/kernels.js")).default;
console.log(peakLines(await peak(readFileSync(peakWasm), Buffer.from(kb64, "base64"), now)));
process.exit(0);
