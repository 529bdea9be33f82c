// relaxed-run.js: run by relaxed.test.js in a Node with --experimental-wasm-relaxed-simd (Node 20
// has relaxed SIMD only behind it) or without (ADAPTERWASM_RELAXED=plain): loads MiniLM from a
// local server, prints one JSON line with relaxedSimd, kernels ("wasm-simd+relaxed" on the
// relaxed-SIMD module, "wasm-simd+u7" on qgemm_u7) and the golden sentences' embeddings and demo adapters' results (ADAPTERS: a
// comma-separated subset; THREADS: kernel threads; TEXTS: the first n sentences only;
// ADAPTERWASM_KERNELS=off: without the SIMD kernel module, "go+u7").
import { readdirSync } from "node:fs";
import { startServer } from "./server.js";
import { goldenSentences, MINILM_ADAPTERS, MINILM_BASE, MINILM_Q8 } from "./fixtures.js";

if (process.env.ADAPTERWASM_KERNELS === "off") globalThis.ADAPTERWASM_KERNELS = "off"; // read by src/runtime.js
const { AutoModelWithHeads } = await import("../../src/node.js");
const srv = await startServer({ mounts: { "/minilm/": { dir: MINILM_BASE, manifest: !MINILM_Q8 }, "/a/": { dir: MINILM_ADAPTERS } } });
const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/minilm/`, { cache: false, threads: Number(process.env.THREADS || 1) });
const texts = goldenSentences().slice(0, Number(process.env.TEXTS) || undefined);
const out = { relaxedSimd: m.relaxedSimd, kernels: m.kernels, simd: m.simd, threads: m.threads, embed: await m.embed(texts, { normalize: true }), classify: {} };
const only = process.env.ADAPTERS?.split(",");
for (const a of readdirSync(MINILM_ADAPTERS).filter((n) => !n.endsWith(".json") && (!only || only.includes(n)))) {
  await m.loadAdapter(`${srv.url}/a/${a}/`);
  out.classify[a] = await m.classify(texts, { adapters: a });
}
m.dispose();
await srv.close();
console.log(JSON.stringify(out));
