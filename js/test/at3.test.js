// node --test: adapters saved by adapter-transformers 3.2.1, as the Hub's pf adapters were
// (testdata/at3, tools/reference/make_at3.py), served by the mock hub (helpers/hub.js: resolve
// paths, 302 to a CDN host, the hub's headers) under Hub-style ids AdapterHub/minilm-pf-<name>,
// with the AdapterHub index make_at3.py wrote. By hub id ({source: "hf"}) and by AdapterHub id
// ({source: "ah"}), the logits equal the library's within 1e-4 (an f32 base: the goldens are
// f32); with the servers stopped, both load again from the cache. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { isErrOf, tempDirs } from "./helpers/assert.js";
import { startHub } from "./helpers/hub.js";
import { HAVE_MINILM, MINILM, ROOT, requireBuild } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError } = await import("../src/node.js");
const { listingCache } = await import("../src/listing.js");

const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const AT3 = join(ROOT, "testdata", "at3");
const NAMES = ["imdb", "topic", "lora"];
const golden = Object.fromEntries(NAMES.map((n) => [n, JSON.parse(readFileSync(join(AT3, "golden", `${n}.json`), "utf8"))]));
const TOL = 1e-4;
const isErr = isErrOf(AdapterwasmError);
const tmp = tempDirs("adapterwasm-at3-");

// checkGolden: each result's logits within TOL of the library's, and its label.
function checkGolden(results, g, what) {
  assert.equal(results.length, g.sentences.length, what);
  let worst = 0;
  results.forEach((r, i) => {
    assert.equal(r.logits.length, g.logits[i].length, `${what} #${i}`);
    r.logits.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - g.logits[i][j]))));
    assert.equal(r.label, g.predicted[i], `${what} #${i}: label`);
  });
  assert.ok(worst <= TOL, `${what}: max |Δlogit| ${worst} > ${TOL}`);
  return worst;
}

describe("adapter-transformers 3.2.1 adapters from a mock hub", { skip: !HAVE_MINILM && "no MiniLM (./build.sh test fetches it)" }, () => {
  let hub;
  const cache = tmp();
  const worst = {};
  before(async () => {
    hub = await startHub();
    hub.addDir(MODEL_ID, MINILM);
    for (const n of NAMES) hub.addDir(`AdapterHub/minilm-pf-${n}`, join(AT3, "adapters", n));
    hub.ahFiles[`index/${MODEL_ID}.json`] = readFileSync(join(AT3, "ah", "index", `${MODEL_ID}.json`));
  });
  after(async () => {
    await hub?.close();
    for (const [k, v] of Object.entries(worst)) console.log(`at3 ${k}: max |Δlogit| ${v.toExponential(2)}`);
  });
  const open = () => AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache, dtype: "f32", adapterHubUrl: hub.ahURL });

  test("loadAdapter(id, {source: 'hf'}): AdapterHub/minilm-pf-* give the library's logits", async () => {
    const m = await open();
    try {
      for (const n of NAMES) {
        const name = await m.loadAdapter(`AdapterHub/minilm-pf-${n}`, { source: "hf" });
        assert.equal(name, n, "the name 3.2.1 saved it under");
        assert.equal(m.adapterInfo(name).hub.id, `AdapterHub/minilm-pf-${n}`);
        worst[`hf ${n}`] = checkGolden(await m.classify(golden[n].sentences, { adapters: name }), golden[n], `hf ${n}`);
      }
    } finally {
      m.dispose();
    }
  });

  test("loadAdapter(id, {source: 'ah'}): AdapterHub identifiers resolve on the index to the same repositories", async () => {
    const m = await open();
    try {
      for (const [id, n] of [["sentiment/imdb@ukp", "imdb"], ["topic/news", "topic"], ["news", "topic"], ["@ukp/minilm-pf-lora", "lora"]]) {
        const name = await m.loadAdapter(id, { source: "ah", name: `ah-${n}-${id.length}` });
        assert.equal(m.adapterInfo(name).hub.id, `AdapterHub/minilm-pf-${n}`, id);
        worst[`ah ${id}`] = checkGolden(await m.classify(golden[n].sentences, { adapters: name }), golden[n], `ah ${id}`);
        await m.unloadAdapter(name);
      }
      // "sentiment" has two subtasks here (imdb, lora): the library's "Found multiple possible adapters".
      await assert.rejects(m.loadAdapter("sentiment", { source: "ah" }), isErr("invalid_argument", /several adapters in the AdapterHub index match/));
      await assert.rejects(m.loadAdapter("sentiment/sst-2", { source: "ah" }), isErr("not_found", /no such adapter in the AdapterHub index/));
    } finally {
      m.dispose();
    }
  });

  test("offline: with the servers stopped, the base and the adapters load again by both ids from the cache", async () => {
    await hub.close();
    listingCache.clear(); // as in a new process: the AdapterHub index comes from the store
    const m = await open();
    try {
      assert.equal(m.hub.fromCache, true);
      assert.equal(m.stats.bytesFetched, 0);
      const byHF = await m.loadAdapter("AdapterHub/minilm-pf-imdb", { source: "hf" });
      checkGolden(await m.classify(golden.imdb.sentences, { adapters: byHF }), golden.imdb, "offline hf imdb");
      const byAH = await m.loadAdapter("topic/news", { source: "ah", name: "offline-topic" });
      checkGolden(await m.classify(golden.topic.sentences, { adapters: byAH }), golden.topic, "offline ah topic/news");
      await assert.rejects(m.loadAdapter("AdapterHub/minilm-pf-never", { source: "hf" }), isErr("network", /not in the cache/));
    } finally {
      m.dispose();
    }
  });
});

// Hostile AdapterHub index files: over the bound, nested past any stack, of the wrong types, or
// naming no repository are typed errors (code format), and no hub repository is asked for.
test("hostile AdapterHub indexes are typed errors, and the hub is never asked", async () => {
  const { TINY } = await import("./helpers/fixtures.js");
  const hub = await startHub();
  const m = await AutoModelWithHeads.fromPretrained(join(TINY, "model"), { cache: false, endpoint: hub.endpoint, adapterHubUrl: hub.ahURL });
  try {
    const files = {
      huge: Buffer.from(`{"a": "${"x".repeat(17 << 20)}"}`),
      deep: Buffer.from(`${'{"a":'.repeat(100000)}1${"}".repeat(100000)}`),
      types: Buffer.from(`{"topic": {"news": {"default": 7}}}`),
      list: Buffer.from("[1, 2]"),
      dotdot: Buffer.from(`{"topic": {"news": {"default": "adapters/ukp/..json"}}}`),
      notjson: Buffer.from(`{"topic": `),
    };
    for (const [n, b] of Object.entries(files)) hub.ahFiles[`index/org/${n}.json`] = b;
    for (const [n, re] of [["huge", /./], ["deep", /./], ["types", /malformed AdapterHub index/], ["list", /not a JSON object/], ["dotdot", /names no hub repository/], ["notjson", /not JSON/]]) {
      await assert.rejects(m.loadAdapter("topic/news", { source: "ah", modelName: `org/${n}` }), isErr("format", re), n);
    }
    assert.deepEqual(hub.requests("endpoint"), [], "a repository was asked for");
  } finally {
    m.dispose();
    await hub.close();
  }
});
