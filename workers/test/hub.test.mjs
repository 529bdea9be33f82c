// The Go Worker taking adapters by hub id, for real: `wrangler dev --local` (workerd) with the
// hub variables set by `--var` (HUB_SOURCES, HUB_ALLOW, HUB_PINS, HF_ENDPOINT, HF_TOKEN) against
// the local mock hub the JS tests use (js/test/helpers/hub.js: resolve paths, the 302 to a
// second host, X-Repo-Commit / X-Linked-Size, X-Error-Code, 401/403/429), serving the demo
// adapters under AdapterHub/… ids. An id must give the same answer as the index's copy of the
// same files, be fetched once per isolate (the hub sees no second request), keep the token off
// the CDN, load a pinned id at its pin while main has moved on, and every refusal must be its
// typed JSON error with the isolate serving on. AdapterHub ids ("ah:task/subtask@org", HUB_SOURCES
// hf,ah; HUB_AH_URL the mock's index): the adapter-transformers 3.2.1 adapters of testdata/at3,
// served as AdapterHub/minilm-pf-*, with their AdapterHub index for the base's name (its
// manifest's source), must answer as their hf ids, near the library's f32 logits. One wrangler
// dev start; the server is stopped by its process group id (devserver.mjs).
//
// Needs: dist/ (./build.sh worker).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { startHub } from "../../js/test/helpers/hub.js";
import { callJSON, startDev } from "./devserver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, "..");
const root = join(workerDir, "..");
const demo = join(root, "testdata", "minilm", "adapters");
const at3 = join(root, "testdata", "at3");
const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";

const golden = JSON.parse(readFileSync(join(root, "testdata/minilm/golden/sentiment.json"), "utf8")).sentences.filter((s) => s.trim() !== "");
const texts = golden.slice(0, 6);
const MiB = 1 << 20;
const TOKEN = "hf_worker_secret";

function report(key, value) {
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

const devProxy = { retries: 0 };

describe("worker: adapters by hub id, on wrangler dev --local", { concurrency: false }, () => {
  let dev, hub, spamPin;
  const call = (path, body) =>
    callJSON(dev.url, path, body, { retryErrors: ["TypeError", "TimeoutError"], timeoutMs: (attempt) => (attempt === 0 ? 90_000 : 120_000), stats: devProxy });
  // raw sends a classify and returns the Response (for headers); the dev proxy's drops are retried.
  const raw = async (body) => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${dev.url}/v1/classify`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(90_000) });
      const text = await res.text();
      if (res.status === 503 && !text.startsWith("{") && attempt < 2) continue;
      return { status: res.status, headers: res.headers, body: JSON.parse(text) };
    }
  };

  before(async () => {
    assert.ok(existsSync(join(workerDir, "dist", "adapterwasm-worker.wasm")), "run ./build.sh worker first");
    hub = await startHub();
    hub.token = TOKEN;
    hub.addDir("AdapterHub/minilm-sentiment", join(demo, "sentiment"));
    spamPin = hub.addDir("AdapterHub/minilm-spam", join(demo, "spam"));
    hub.addDir("AdapterHub/minilm-spam", join(demo, "topic")); // main moves on; the pin stays on spam
    hub.addDir("AdapterHub/minilm-gated", join(demo, "sentiment"));
    hub.repos.get("AdapterHub/minilm-gated").gated = true;
    hub.addDir("other/minilm-sentiment", join(demo, "sentiment"));
    for (const n of ["imdb", "topic"]) hub.addDir(`AdapterHub/minilm-pf-${n}`, join(at3, "adapters", n));
    hub.ahFiles[`index/${MODEL_ID}.json`] = readFileSync(join(at3, "ah", "index", `${MODEL_ID}.json`));
    const vars = {
      HUB_SOURCES: "hf,ah",
      HUB_AH_URL: hub.ahURL,
      HUB_ALLOW: "AdapterHub/*",
      HUB_PINS: `AdapterHub/minilm-spam@${spamPin}`,
      HF_ENDPOINT: hub.endpoint,
      HF_TOKEN: TOKEN,
      ADAPTER_CACHE: "off",
    };
    dev = await startDev(workerDir, { args: Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]) });
    report("wrangler dev ready (ms)", Math.round(dev.listeningMs));
  });

  after(async () => {
    await dev?.stop();
    await hub?.close();
    report("dev proxy retries", devProxy.retries);
  });

  test("an allowed id answers as the index's copy of the same files, fetched once per isolate", async () => {
    const byIndex = await call("/v1/classify", { texts, adapters: "sentiment" });
    assert.equal(byIndex.status, 200, JSON.stringify(byIndex.body));
    const t0 = performance.now();
    const byId = await call("/v1/classify", { texts, adapters: "AdapterHub/minilm-sentiment" });
    report("first classify by id (ms, fetch + load + forward)", Math.round(performance.now() - t0));
    assert.equal(byId.status, 200, JSON.stringify(byId.body));
    assert.equal(byId.body.adapters, "AdapterHub/minilm-sentiment");
    for (const [i, r] of byId.body.results.entries()) {
      assert.equal(r.label, byIndex.body.results[i].label, `text ${i}`);
      assert.deepEqual(r.logits, byIndex.body.results[i].logits, `text ${i}: same files, same engine, same logits`);
    }
    const seen = hub.requests().length;
    const t1 = performance.now();
    const again = await call("/v1/classify", { texts, adapters: "AdapterHub/minilm-sentiment" });
    report("second classify by id (ms)", Math.round(performance.now() - t1));
    assert.equal(again.status, 200);
    assert.equal(hub.requests().length, seen, "the second request asked the hub again");
    // The token went to the endpoint only, never to the CDN it redirects to.
    const ep = hub.requests("endpoint");
    const cdn = hub.requests("cdn");
    assert.ok(ep.length >= 2 && cdn.length >= 1, `requests: ${ep.length} endpoint, ${cdn.length} cdn`);
    assert.ok(ep.every((r) => r.auth === `Bearer ${TOKEN}`), "the endpoint got the token");
    assert.ok(cdn.every((r) => r.auth === ""), "the CDN got no token");
    const h = await call("/healthz");
    assert.ok(h.body.adaptersLoaded.includes("AdapterHub/minilm-sentiment"));
    assert.equal(h.body.stats.hubFetches, 1);
  });

  test("ids in setups, hf: prefix, and a pinned id at its pin", async () => {
    const stack = await call("/v1/classify", { texts, adapters: "Parallel(hf:AdapterHub/minilm-sentiment,AdapterHub/minilm-spam)" });
    assert.equal(stack.status, 200, JSON.stringify(stack.body));
    const spam = await call("/v1/classify", { texts, adapters: "spam" });
    for (const [i, r] of stack.body.results.entries()) {
      assert.deepEqual(r.heads["AdapterHub/minilm-spam"].logits, spam.body.results[i].logits, `text ${i}: the pinned commit is the spam adapter, not main's topic`);
    }
    const pinned = await call("/v1/classify", { texts, adapters: `AdapterHub/minilm-spam@${spamPin}` });
    assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
  });

  test("ah: AdapterHub ids resolve on the index to AdapterHub/… repositories, as their hf ids answer", async () => {
    for (const [id, n] of [["ah:sentiment/imdb@ukp", "imdb"], ["ah:news", "topic"]]) {
      const g = JSON.parse(readFileSync(join(at3, "golden", `${n}.json`), "utf8"));
      const some = g.sentences.slice(0, 4);
      const byAH = await call("/v1/classify", { texts: some, adapters: id });
      assert.equal(byAH.status, 200, `${id}: ${JSON.stringify(byAH.body)}`);
      assert.equal(byAH.body.adapters, id);
      const byHF = await call("/v1/classify", { texts: some, adapters: `AdapterHub/minilm-pf-${n}` });
      assert.equal(byHF.status, 200, JSON.stringify(byHF.body));
      let worst = 0;
      for (const [i, r] of byAH.body.results.entries()) {
        assert.deepEqual(r.logits, byHF.body.results[i].logits, `${id} text ${i}: the same repository`);
        r.logits.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - g.logits[i][j]))));
      }
      // The Worker's base is q8; the goldens are adapter-transformers 3.2.1's on the f32 base.
      report(`${id}: max |Δlogit| against adapter-transformers 3.2.1 (f32), q8 base`, worst.toExponential(2));
      assert.ok(worst < 0.05, `${id}: ${worst}`);
    }
    const seen = hub.requests("ah").length;
    const again = await call("/v1/classify", { text: "fine", adapters: "Stack(ah:news)" });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(hub.requests("ah").length, seen, "a loaded ah id read the index again");
    for (const [setup, status, code] of [
      ["ah:sentiment", 400, "invalid_setup"], // imdb and lora: several match
      ["ah:sentiment/sst-2", 404, "unknown_adapter"],
      ["ah:@ukp/..", 404, "unknown_adapter"],
      ["ah:sentiment/lora", 404, "unknown_adapter"], // in the index; the mock hub has no AdapterHub/minilm-pf-lora
    ]) {
      const r = await call("/v1/classify", { text: "fine", adapters: setup });
      assert.equal(r.status, status, `${setup}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, setup);
    }
  });

  test("refusals are typed JSON errors, and the isolate serves on", async () => {
    for (const [setup, status, code] of [
      ["other/minilm-sentiment", 403, "adapter_not_allowed"],
      ["AdapterHub/minilm-spam@main", 403, "adapter_not_allowed"],
      ["AdapterHub/nope", 404, "unknown_adapter"],
      ["AdapterHub/minilm-sentiment@v9", 404, "unknown_adapter"],
      ["xx:AdapterHub/minilm-sentiment", 400, "invalid_setup"],
    ]) {
      const r = await call("/v1/classify", { text: "fine", adapters: setup });
      assert.equal(r.status, status, `${setup}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, setup);
    }
    // Gated: the Worker's token opens it; once the hub stops taking that token, 403.
    const ok = await call("/v1/classify", { text: "fine", adapters: "AdapterHub/minilm-gated" });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    hub.token = "hf_rotated";
    const gated = await call("/v1/classify", { text: "fine", adapters: "AdapterHub/minilm-gated@main" });
    assert.equal(gated.status, 403, JSON.stringify(gated.body));
    assert.equal(gated.body.error.code, "hub_unauthorized");
    hub.token = TOKEN;
    hub.rateLimit = 7;
    // Not loaded yet at that revision: the Worker must ask the hub.
    const limited = await raw({ text: "fine", adapters: "AdapterHub/minilm-sentiment@v2" });
    hub.rateLimit = 0;
    assert.equal(limited.status, 503, JSON.stringify(limited.body));
    assert.equal(limited.body.error.code, "hub_rate_limited");
    assert.equal(limited.headers.get("retry-after"), "7");
    const after = await call("/v1/classify", { texts, adapters: "AdapterHub/minilm-sentiment" });
    assert.equal(after.status, 200);
    const h = await call("/healthz");
    report("wasm memory after the hub tests (MiB)", h.body.memory.linearMemory / MiB);
    assert.ok(h.body.memory.linearMemory < 128 * MiB, `${h.body.memory.linearMemory / MiB} MiB`);
    assert.equal(h.body.stats.coldStartMs > 0, true);
  });
});
