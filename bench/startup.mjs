// startup.mjs: one start-up measurement in a fresh Node process, run by bench.mjs (one process per
// sample, so that each cold start is cold: nothing compiled, nothing imported).
//
//   node bench/startup.mjs ENGINE MODEL DTYPE     ENGINE aw|ort, MODEL minilm|bert-base, DTYPE q8|f32
//   node --no-wasm-lazy-compilation bench/startup.mjs eager
//
// Prints one JSON line: ms from before the first import to the first classification (cold), the
// same again in the same process (warm: a second runtime from a fresh import of js/src/runtime.js,
// or a second onnxruntime-web session, with V8's in-process caches warm), and for adapterwasm the
// share spent in WebAssembly.compile of the Go module and its Wasm memory after the model and
// adapter are loaded and after the first result; and each phase's ms (adapterwasm: compile, start
// (instantiate, Go's runtime, the kernel module), model, adapter, first classification;
// onnxruntime-web: session, first run). Times include reading the files from disk, and for
// adapterwasm checking the model file's sha256 with WebCrypto as the js package does.
const t0 = performance.now();
const [engine, model, dtype] = process.argv.slice(2);
const { readFileSync, readdirSync } = await import("node:fs");
const { join } = await import("node:path");
const { fileURLToPath } = await import("node:url");

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const TEXT = ["a wonderful, moving film"];
const dirFiles = (dir) => Object.fromEntries(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
const MODELS = {
  minilm: { dir: "all-MiniLM-L6-v2", adapter: join(ROOT, "testdata/minilm/adapters/sentiment"), onnx: "minilm-sentiment" },
  "bert-base": { dir: "bert-base-uncased-random", adapter: join(CACHE, "models/bert-base-uncased-random.adapters/sentiment"), onnx: "bert-base-sentiment" },
};
const m = MODELS[model];
if (engine !== "eager" && (!m || !["aw", "ort"].includes(engine) || !["q8", "f32"].includes(dtype))) {
  console.error("usage: node bench/startup.mjs aw|ort minilm|bert-base q8|f32");
  process.exit(2);
}

async function aw(query) {
  const t = performance.now();
  const ph = {};
  const lap = (name, since) => (ph[name] = performance.now() - since);
  const { loadRuntime } = await import(`../js/src/runtime.js${query}`);
  let tp = performance.now();
  const mod = await WebAssembly.compile(readFileSync(join(ROOT, "js/dist/adapterwasm.wasm")));
  lap("compile", tp), (tp = performance.now());
  const rt = await loadRuntime(mod);
  lap("start", tp), (tp = performance.now());
  // As the js package's fromPretrained does: the model file's sha256 checked against manifest.json
  // with WebCrypto, then only the model file handed to Go (which then hashes nothing; Go's own
  // sha256 of a 25.7 MB file takes 1.4-2 s in Wasm).
  const files = dirFiles(join(CACHE, "models", `${m.dir}.${dtype}`));
  const manifest = JSON.parse(new TextDecoder().decode(files["manifest.json"]));
  delete files["manifest.json"];
  for (const f of manifest.files) {
    const hex = Buffer.from(await crypto.subtle.digest("SHA-256", files[f.name])).toString("hex");
    if (hex !== f.sha256 || files[f.name].byteLength !== f.size) throw new Error(`${f.name}: sha256 or size differs from manifest.json`);
  }
  const h = await rt.call(rt.api, "createModel", files);
  lap("model", tp), (tp = performance.now());
  await rt.call(h, "loadAdapter", "sentiment", dirFiles(m.adapter));
  await rt.call(h, "setActive", "sentiment");
  lap("adapter", tp), (tp = performance.now());
  const loadMiB = rt.memoryBytes / 2 ** 20;
  await rt.call(h, "classify", TEXT);
  lap("first", tp);
  return { ms: performance.now() - t, compileMs: ph.compile, phases: ph, loadMiB, firstMiB: rt.memoryBytes / 2 ** 20 };
}

async function ort() {
  const t = performance.now();
  const ph = {};
  const o = await import("onnxruntime-web");
  o.env.wasm.numThreads = 1;
  o.env.wasm.simd = true;
  let tp = performance.now();
  const s = await o.InferenceSession.create(readFileSync(join(CACHE, "onnx", `${m.onnx}${dtype === "q8" ? ".q8" : ""}.onnx`)), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  ph.session = performance.now() - tp; // the first one also compiles onnxruntime-web's own Wasm
  tp = performance.now();
  const ids = BigInt64Array.from([101n, 1037n, 6919n, 1010n, 3048n, 2143n, 102n]); // "a wonderful, moving film"
  const shape = [1, ids.length];
  await s.run({ input_ids: new o.Tensor("int64", ids, shape), attention_mask: new o.Tensor("int64", ids.map(() => 1n), shape), token_type_ids: new o.Tensor("int64", ids.map(() => 0n), shape) });
  ph.first = performance.now() - tp;
  return { ms: performance.now() - t, phases: ph };
}

// eager: the time to compile the whole module up front (run with --no-wasm-lazy-compilation;
// by default V8 compiles each function on its first call, so that cost lands in the phases above).
if (engine === "eager") {
  const b = readFileSync(join(ROOT, "js/dist/adapterwasm.wasm"));
  const tc = performance.now();
  await WebAssembly.compile(b);
  console.log(JSON.stringify({ engine, bytes: b.length, compileMs: performance.now() - tc }));
  process.exit(0);
}

const cold = engine === "aw" ? await aw("") : await ort();
cold.ms = performance.now() - t0; // from the top of this script
const warm = engine === "aw" ? await aw("?warm") : await ort();
console.log(JSON.stringify({ engine, model, dtype, cold, warm: { ms: warm.ms, compileMs: warm.compileMs, phases: warm.phases } }));
process.exit(0);
