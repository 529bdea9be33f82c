// The adapterwasm package (js/) in a Cloudflare Worker, written as a user of the package would
// write it; workers/test/package.test.mjs drives it. One model per isolate, loaded by the first
// request that needs it and kept for the later ones.
//
//   GET  /load[?bundled=no][&relaxed=on] load the base model: { isolate, config, simd, kernels,
//                                       relaxedSimd, memory, stats } (bundled=no: without passing
//                                       wasm and kernels; relaxed=on: relaxedSimd: true, the first
//                                       load of an isolate only)
//   POST /classify {texts, adapters}    { results }, the package's classify output
//   POST /embed {texts}                 { embeddings: number[][] } (mean pooling, normalized)
//   POST /unload {name}                 { loadedAdapters }
//   GET  /memory                        { isolate, memory, loadedAdapters, stats }
//
// Errors: { error: { code, message } }, 4xx for the caller's, 5xx for the rest.
//
// "adapterwasm" resolves to node_modules/adapterwasm: a copy of js/ as npm would install it
// (package.json "files"), made by the test, so that the bundle is one consistent build of the
// package even if js/ is rebuilt meanwhile (wrangler dev would reload on that).
import { AutoModelWithHeads, AdapterwasmError } from "adapterwasm";
// workerd compiles no Wasm from bytes: both modules are bundled with the script. wrangler picks
// the package's "workerd" entry, which imports them itself; bundlers without that condition need
// these two lines and { wasm, kernels } (/load without ?bundled=no).
import wasm from "adapterwasm/adapterwasm.wasm";
import kernels from "adapterwasm/kernels.wasm";

// The static assets are read through the ASSETS binding; the URLs only need a path.
const ASSETS = "https://assets.invalid/";

let model = null; // Promise<AutoModelWithHeads>, one per isolate
let isolate = null; // an id for this isolate, so that the test can tell a restart (no randomness at global scope)

function getModel(env, { bundled = true, relaxed = false } = {}) {
  model ??= AutoModelWithHeads.fromPretrained(`${ASSETS}model/`, {
    // Without them (bundled=false) the package's workerd entry supplies both (and the relaxed-SIMD
    // kernel module, which relaxedSimd: true takes).
    ...(bundled ? { wasm, kernels } : {}),
    ...(relaxed ? { relaxedSimd: true } : {}),
    fetch: (url, init) => env.ASSETS.fetch(url, init),
    index: `${ASSETS}adapters/index.json`,
    // cache: the default, the Cache API (caches.open("adapterwasm-v1")) for the base and adapters
  }).catch((e) => {
    model = null; // the next request tries again
    throw e;
  });
  return model;
}

const STATUS = { invalid_argument: 400, setup: 400, not_found: 404, unsupported: 400, integrity: 502, network: 502, format: 502 };

function json(value, status = 200) {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

async function handle(request, env) {
  isolate ??= crypto.randomUUID();
  const { pathname } = new URL(request.url);
  const body = request.method === "POST" ? await request.json() : {};
  const t0 = Date.now();
  if (request.method === "GET" && pathname === "/load") {
    const q = new URL(request.url).searchParams;
    const m = await getModel(env, { bundled: q.get("bundled") !== "no", relaxed: q.get("relaxed") === "on" });
    return json({ isolate, config: m.config, simd: m.simd, kernels: m.kernels, relaxedSimd: m.relaxedSimd, baseVerified: m.baseVerified, memory: await m.memory(), stats: { bytesFetched: m.stats.bytesFetched, bytesFromCache: m.stats.bytesFromCache }, ms: Date.now() - t0 });
  }
  if (request.method === "POST" && pathname === "/classify") {
    const m = await getModel(env);
    const results = await m.classify(body.texts, { adapters: body.adapters });
    return json({ results, ms: Date.now() - t0 });
  }
  if (request.method === "POST" && pathname === "/embed") {
    const m = await getModel(env);
    const vecs = await m.embed(body.texts, { normalize: true });
    return json({ embeddings: vecs.map((v) => Array.from(v)), ms: Date.now() - t0 });
  }
  if (request.method === "POST" && pathname === "/unload") {
    const m = await getModel(env);
    await m.unloadAdapter(body.name);
    return json({ loadedAdapters: m.loadedAdapters });
  }
  if (request.method === "GET" && pathname === "/memory") {
    const m = await getModel(env);
    return json({ isolate, memory: await m.memory(), loadedAdapters: m.loadedAdapters, stats: { bytesFetched: m.stats.bytesFetched, bytesFromCache: m.stats.bytesFromCache } });
  }
  return json({ error: { code: "not_found", message: `${request.method} ${pathname}` } }, 404);
}

export default {
  async fetch(request, env) {
    try {
      return await handle(request, env);
    } catch (e) {
      const code = e instanceof AdapterwasmError ? e.code : "internal";
      return json({ error: { code, message: String(e?.message ?? e), stack: e?.stack } }, STATUS[code] ?? 500);
    }
  },
};
