// What a user's page does with the package: a model on the page and one in a Web Worker, each
// classifying a sentence with an adapter from the index. The bundler tests (../packaging.test.js)
// build it with Vite, esbuild and webpack and read window.__done in Chromium. `wasm` and `worker`
// are the options a bundler that emits neither the Wasm module nor the worker script needs.
import { AutoModelWithHeads } from "adapterwasm";
import { WorkerModelWithHeads } from "adapterwasm/worker";

export async function run({ wasm, worker } = {}) {
  const base = new URL("/tiny/", location.href).href;
  const index = new URL("/adapters/index.json", location.href).href;
  const globals = ["process", "fs", "path", "Go"].filter((k) => k in globalThis); // before and after: none
  try {
    const statuses = new Set();
    const model = await AutoModelWithHeads.fromPretrained(base, { index, wasm, onProgress: (p) => statuses.add(p.status) });
    const [main] = await model.classify("I love this movie", { adapters: "seq_bn" });
    const w = await WorkerModelWithHeads.fromPretrained(base, { index, wasm, worker: worker?.() });
    const [inWorker] = await w.classify("I love this movie", { adapters: "seq_bn" });
    w.dispose();
    globals.push(...["process", "fs", "path", "Go"].filter((k) => k in globalThis));
    window.__done = { ok: true, main, inWorker, simd: model.simd, statuses: [...statuses], globals };
  } catch (e) {
    window.__done = { ok: false, code: e.code, message: String(e.message ?? e) };
  }
}
