// The adapterwasm npm package (js/) inside Cloudflare Workers, for real: the Worker in
// package-test/ imports it as a user would, bundles js/dist/adapterwasm.wasm and the SIMD kernel
// module, and runs under `wrangler dev --local` (workerd, offline) on the assets the Go Worker
// serves (dist/assets: the q8 MiniLM and the demo adapters, built by `./build.sh worker`). Its
// answers must match the Go CLI's on the golden sentences within the tolerances of the package's
// Node tests (js/test/helpers/fixtures.js: labels equal, q8 |Δlogit| <= 0.01). One wrangler dev
// start, a handful of requests; the server is stopped by its process group id (devserver.mjs).
//
// Needs: ./build.sh wasm (js/dist) and ./build.sh worker (dist/assets, the CLI).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { checkClassify, checkEmbeddings, cli, TOL } from "../../js/test/helpers/fixtures.js";
import { startDev } from "./devserver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, "..", "package-test");
const root = join(here, "..", "..");
const assets = join(here, "..", "dist", "assets");
const model = join(assets, "model");
const MiB = 1 << 20;

const adapters = readdirSync(join(assets, "adapters")).filter((n) => !n.endsWith(".json")).sort();
const golden = (name) => JSON.parse(readFileSync(join(root, "testdata/minilm/golden", `${name}.json`), "utf8"));

// The SIMD kernel module as a file the Worker can bundle: js/dist/kernels.js holds it in base64
// (`./build.sh wasm`), for hosts that compile Wasm from bytes, which workerd does not.
function writeKernels() {
  const src = readFileSync(join(root, "js/dist/kernels.js"), "utf8");
  const b64 = /"([A-Za-z0-9+/=]+)"/.exec(src)?.[1];
  assert.ok(b64, "js/dist/kernels.js holds no base64 module");
  mkdirSync(join(workerDir, "dist"), { recursive: true });
  writeFileSync(join(workerDir, "dist", "kernels.wasm"), Buffer.from(b64, "base64"));
}

const figures = {};
function report(key, value) {
  figures[key] = value;
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

describe("the js package in a Worker on wrangler dev --local", { concurrency: false }, () => {
  let dev;
  async function call(path, body) {
    const init = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(`${dev.url}${path}`, { ...init, signal: AbortSignal.timeout(180_000) });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${path}: ${res.status} ${text.slice(0, 2000)}`);
    }
    return { status: res.status, body: json };
  }

  // The CLI's answers, computed before the server starts: cli() blocks this process, and a
  // pooled connection the dev server closes meanwhile fails the next fetch.
  const want = {};
  const dir = (n) => join(assets, "adapters", n);
  const PARALLEL = "Parallel(sentiment,spam)";
  const base = golden("base").sentences;

  before(async () => {
    assert.ok(existsSync(join(root, "js/dist/adapterwasm.wasm")), "run ./build.sh wasm first");
    assert.ok(existsSync(join(model, "manifest.json")), "run ./build.sh worker first (dist/assets)");
    writeKernels();
    for (const a of adapters) want[a] = cli(["classify", "--model", model, "--adapter", dir(a)], golden(a).sentences);
    want.embed = cli(["embed", "--model", model, "--normalize"], base);
    want[PARALLEL] = cli(["classify", "--model", model, "--adapter", dir("sentiment"), "--adapter", dir("spam"), "--setup", PARALLEL], base.slice(0, 4));
    dev = await startDev(workerDir);
    report("wrangler dev listening after (ms)", Math.round(dev.listeningMs));
  });

  after(async () => {
    await dev?.stop();
    console.log(`# figures: ${JSON.stringify(figures)}`);
  });

  test("without the bundled module the first load fails with a typed error, and the next one works", async () => {
    const bad = await call("/load?bundled=no");
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.error.code, "invalid_argument");
    assert.match(bad.body.error.message, /options\.wasm/);
    const t0 = performance.now();
    const { status, body } = await call("/load");
    assert.equal(status, 200, JSON.stringify(body));
    report("base model load (ms, in the Worker / at the client)", { worker: body.ms, client: Math.round(performance.now() - t0) });
    assert.equal(body.config.hiddenSize, 384);
    assert.equal(body.baseVerified, true, "the manifest's sha256s were checked");
    assert.equal(body.simd, true, "the bundled SIMD kernels are not in use");
    assert.equal(body.stats.bytesFetched, JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")).files.reduce((n, f) => n + f.size, 0));
    report("memory after base load", body.memory);
  });

  test("classify equals the Go CLI's on every demo adapter's golden sentences", async () => {
    for (const a of adapters) {
      const texts = golden(a).sentences;
      const { status, body } = await call("/classify", { texts, adapters: a });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.results.length, texts.length);
      checkClassify(body.results, want[a], TOL.q8, a);
      let worst = 0;
      body.results.forEach((r, i) => r.logits.forEach((l, j) => (worst = Math.max(worst, Math.abs(l - want[a][i].logits[j])))));
      report(`${a}: ${texts.length} sentences, max |logit - CLI|, ms in the Worker`, { worst, ms: body.ms });
    }
  });

  test("embeddings and a composition equal the Go CLI's", async () => {
    const { status, body } = await call("/embed", { texts: base });
    assert.equal(status, 200, JSON.stringify(body));
    checkEmbeddings(body.embeddings, want.embed, TOL.q8, "embed");
    const par = await call("/classify", { texts: base.slice(0, 4), adapters: PARALLEL });
    assert.equal(par.status, 200, JSON.stringify(par.body));
    checkClassify(par.body.results, want[PARALLEL], TOL.q8, PARALLEL);
  });

  test("concurrent requests with mixed setups give the answers of sequential ones", async () => {
    const texts = golden("base").sentences.slice(0, 3);
    const setups = [...adapters, "Stack(sentiment_lora,sentiment)"];
    const seq = [];
    for (const s of setups) seq.push((await call("/classify", { texts, adapters: s })).body.results);
    const par = await Promise.all(setups.flatMap((s) => [call("/classify", { texts, adapters: s }), call("/classify", { texts, adapters: s })]));
    par.forEach((r, k) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.results, seq[k >> 1], setups[k >> 1]);
    });
  });

  test("memory with the q8 base and every demo adapter loaded", async () => {
    const { status, body } = await call("/memory");
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual([...body.loadedAdapters].sort(), adapters);
    report("memory loaded", body.memory);
    report("workerd RSS (MiB, the whole local runtime)", +(dev.workerdRSS() / MiB).toFixed(1));
    assert.ok(body.memory.wasmMemoryBytes < 128 * MiB, `linear memory ${body.memory.wasmMemoryBytes} B`);
  });

  // Across requests of one isolate: the unload request waits for a classify another request has
  // in flight (workerd must not cancel it as hung). Which of the two reaches the Worker first is
  // up to wrangler's proxy: the classify either finishes with the adapter or, if it came second,
  // is refused with code "setup"; never a wrong answer, never a cancelled request.
  test("unloadAdapter in one request waits for a classify in flight in another", async () => {
    const texts = golden("sentiment").sentences;
    const classify = call("/classify", { texts, adapters: "sentiment" });
    await new Promise((r) => setTimeout(r, 50));
    const unload = call("/unload", { name: "sentiment" });
    const [c, u] = await Promise.all([classify, unload]);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.ok(!u.body.loadedAdapters.includes("sentiment"), JSON.stringify(u.body));
    if (c.status === 200) checkClassify(c.body.results, want.sentiment, TOL.q8, "in flight during the unload");
    else assert.equal(c.body.error?.code, "setup", JSON.stringify(c.body));
    report("classify sent before an unload", c.status === 200 ? "finished with the adapter" : "arrived second: refused (setup)");
    const again = await call("/classify", { texts, adapters: "sentiment" }); // fetched again on demand
    assert.equal(again.status, 200, JSON.stringify(again.body));
    checkClassify(again.body.results, want.sentiment, TOL.q8, "after the unload");
  });
});
