// The adapterwasm npm package (js/) inside Cloudflare Workers, for real: the Worker in
// package-test/ imports it as a user would (installed into package-test/node_modules), bundles
// its adapterwasm.wasm and SIMD kernel module, and runs under `wrangler dev --local` (workerd, offline) on the assets the Go Worker
// serves (dist/assets: the q8 MiniLM and the demo adapters, built by `./build.sh worker`). Its
// answers must match the Go CLI's on the golden sentences within the tolerances of the package's
// Node tests (js/test/helpers/fixtures.js: labels equal, q8 |Δlogit| <= 0.01). One wrangler dev
// start, a handful of requests; the server is stopped by its process group id (devserver.mjs).
//
// Needs: ./build.sh wasm (js/dist) and ./build.sh worker (dist/assets, the CLI).
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { checkClassify, checkEmbeddings, cli } from "../../js/test/helpers/fixtures.js";
import { callJSON, startDev } from "./devserver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, "..", "package-test");
const root = join(here, "..", "..");
const assets = join(here, "..", "dist", "assets");
const model = join(assets, "model");
const MiB = 1 << 20;

const adapters = readdirSync(join(assets, "adapters")).filter((n) => !n.endsWith(".json")).sort();
const golden = (name) => JSON.parse(readFileSync(join(root, "testdata/minilm/golden", `${name}.json`), "utf8"));

// installPackage copies js/ into package-test/node_modules/adapterwasm as npm would install it
// (package.json and its "files"), from one build: js/dist may be rebuilt while the tests run
// (`./build.sh wasm` writes kernels.js, then the module), and a Go module with another build's
// kernels is not a pair. The SIMD kernel module as a file the Worker can bundle
// (dist/kernels.wasm, and dist/kernels_relaxed.wasm) is written from the base64 in dist/kernels.js
// (dist/kernels_relaxed.js) when the build has none.
async function installPackage() {
  const js = join(root, "js");
  const to = join(workerDir, "node_modules", "adapterwasm");
  const pkg = JSON.parse(readFileSync(join(js, "package.json"), "utf8"));
  const built = ["dist/kernels.js", "dist/adapterwasm.wasm", "dist/wasm_exec.js"].map((f) => join(js, f));
  const stamp = () => built.map((f) => statSync(f).mtimeMs);
  for (let attempt = 0; ; attempt++) {
    const before = stamp();
    // A build under way has written kernels.js but not yet the module.
    if (before[1] >= before[0]) {
      rmSync(to, { recursive: true, force: true });
      mkdirSync(to, { recursive: true });
      cpSync(join(js, "package.json"), join(to, "package.json"));
      for (const f of pkg.files) if (existsSync(join(js, f))) cpSync(join(js, f), join(to, f), { recursive: true });
      if (stamp().every((t, i) => t === before[i])) break;
    }
    assert.ok(attempt < 60, "js/dist keeps changing (a build under way?)");
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const name of ["kernels", "kernels_relaxed"]) {
    if (existsSync(join(to, `dist/${name}.wasm`))) continue;
    const b64 = /"([A-Za-z0-9+/=]+)"/.exec(readFileSync(join(to, `dist/${name}.js`), "utf8"))?.[1];
    assert.ok(b64, `dist/${name}.js holds no base64 module`);
    writeFileSync(join(to, `dist/${name}.wasm`), Buffer.from(b64, "base64"));
  }
}

const figures = {};
function report(key, value) {
  figures[key] = value;
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

// wrangler dev's own proxy now and then answers a POST with a plain-text 503 without the Worker
// seeing it, or drops the connection outright ("fetch failed", seen right after the cold start's
// model read on the loaded machine) (workers/README.md): callJSON sends such a request again, at
// most twice, and counts it (the requests retried are idempotent; the unload is not retried).
// That it is the proxy and not a restarted isolate is checked: the isolate id must not change.
const devProxy = { retries: 0 };

describe("the js package in a Worker on wrangler dev --local", { concurrency: false }, () => {
  let dev;
  let isolate;
  const call = (path, body, { retry = true } = {}) => callJSON(dev.url, path, body, { retry, stats: devProxy });


  // The CLI's answers, computed before the server starts: cli() blocks this process, and a
  // pooled connection the dev server closes meanwhile fails the next fetch.
  const want = {};
  const dir = (n) => join(assets, "adapters", n);
  const PARALLEL = "Parallel(sentiment,spam)";
  const base = golden("base").sentences;

  before(async () => {
    assert.ok(existsSync(join(root, "js/dist/adapterwasm.wasm")), "run ./build.sh wasm first");
    assert.ok(existsSync(join(model, "manifest.json")), "run ./build.sh worker first (dist/assets)");
    await installPackage();
    for (const a of adapters) want[a] = cli(["classify", "--model", model, "--adapter", dir(a)], golden(a).sentences);
    want.embed = cli(["embed", "--model", model, "--normalize"], base);
    want[PARALLEL] = cli(["classify", "--model", model, "--adapter", dir("sentiment"), "--adapter", dir("spam"), "--setup", PARALLEL], base.slice(0, 4));
    dev = await startDev(workerDir);
    report("wrangler dev listening after (ms)", Math.round(dev.listeningMs));
  });

  after(async () => {
    await dev?.stop();
    report("wrangler dev proxy drops (POST retried)", devProxy.retries);
    console.log(`# figures: ${JSON.stringify(figures)}`);
  });

  test("the workerd export condition bundles both modules: a load without wasm and kernels runs the SIMD kernels", async () => {
    const t0 = performance.now();
    const { status, body } = await call("/load?bundled=no");
    assert.equal(status, 200, JSON.stringify(body));
    report("base model load (ms, in the Worker / at the client)", { worker: body.ms, client: Math.round(performance.now() - t0) });
    isolate = body.isolate;
    assert.equal(body.config.hiddenSize, 384);
    assert.equal(body.baseVerified, true, "the manifest's sha256s were checked");
    assert.equal(body.simd, true, "the bundled SIMD kernels are not in use");
    assert.deepEqual([body.kernels, body.relaxedSimd], ["wasm-simd", false], "the default: 16-bit activations on the plain SIMD kernel");
    assert.equal(body.stats.bytesFetched, JSON.parse(readFileSync(join(model, "manifest.json"), "utf8")).files.reduce((n, f) => n + f.size, 0));
    report("memory after base load", body.memory);
  });

  test("classify equals the Go CLI's on every demo adapter's golden sentences", async () => {
    for (const a of adapters) {
      const texts = golden(a).sentences;
      const { status, body } = await call("/classify", { texts, adapters: a });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.results.length, texts.length);
      checkClassify(body.results, want[a], a);
      let worst = 0;
      body.results.forEach((r, i) => r.logits.forEach((l, j) => (worst = Math.max(worst, Math.abs(l - want[a][i].logits[j])))));
      report(`${a}: ${texts.length} sentences, max |logit - CLI|, ms in the Worker`, { worst, ms: body.ms });
    }
  });

  test("embeddings and a composition equal the Go CLI's", async () => {
    const { status, body } = await call("/embed", { texts: base });
    assert.equal(status, 200, JSON.stringify(body));
    checkEmbeddings(body.embeddings, want.embed, "embed");
    const par = await call("/classify", { texts: base.slice(0, 4), adapters: PARALLEL });
    assert.equal(par.status, 200, JSON.stringify(par.body));
    checkClassify(par.body.results, want[PARALLEL], PARALLEL);
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
    assert.equal(body.isolate, isolate, "the isolate restarted (the model was loaded again)");
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
    const unload = call("/unload", { name: "sentiment" }, { retry: false });
    const [c, u] = await Promise.all([classify, unload]);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.ok(!u.body.loadedAdapters.includes("sentiment"), JSON.stringify(u.body));
    if (c.status === 200) checkClassify(c.body.results, want.sentiment, "in flight during the unload");
    else assert.equal(c.body.error?.code, "setup", JSON.stringify(c.body));
    report("classify sent before an unload", c.status === 200 ? "finished with the adapter" : "arrived second: refused (setup)");
    const again = await call("/classify", { texts, adapters: "sentiment" }); // fetched again on demand
    assert.equal(again.status, 200, JSON.stringify(again.body));
    checkClassify(again.body.results, want.sentiment, "after the unload");
    assert.equal((await call("/memory")).body.isolate, isolate, "the isolate restarted");
  });
});

// relaxedSimd: true in a Worker through the package: its workerd entry bundles the relaxed-SIMD
// kernel module too, and workerd (V8) has relaxed SIMD, so q8 products run on it; the answers are
// the CLI's --relaxed-simd ones (the recipe's plain-Go twin), bit for bit. A second wrangler dev:
// one model, and so one recipe, per isolate.
describe("the package with relaxedSimd: true in a Worker: the relaxed-SIMD kernel, the CLI's --relaxed-simd answers", { concurrency: false }, () => {
  let dev;
  const texts = golden("sentiment").sentences;
  let want;
  before(async () => {
    await installPackage();
    want = cli(["classify", "--model", model, "--adapter", join(assets, "adapters", "sentiment"), "--relaxed-simd"], texts);
    dev = await startDev(workerDir);
  });
  after(async () => {
    await dev?.stop();
  });

  test("kernels wasm-simd+relaxed; classify equals the CLI's --relaxed-simd", async () => {
    const call = (path, body) => callJSON(dev.url, path, body, { retry: true, stats: devProxy });
    const load = await call("/load?bundled=no&relaxed=on");
    assert.equal(load.status, 200, JSON.stringify(load.body));
    assert.deepEqual([load.body.kernels, load.body.relaxedSimd], ["wasm-simd+relaxed", true], "the bundled relaxed-SIMD kernel runs");
    const { status, body } = await call("/classify", { texts, adapters: "sentiment" });
    assert.equal(status, 200, JSON.stringify(body));
    checkClassify(body.results, want, "relaxed-SIMD kernel in workerd");
  });
});
