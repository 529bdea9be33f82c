// node --test: what issue 16 asked of the package's API: adapters named after their own config
// (and a name clash refused), progress events shaped as Transformers.js's on both model classes,
// and pipeline(). Build first: ./build.sh wasm. The packaging itself: test/packaging/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";

import { startTinyServer } from "./helpers/server.js";
import { checkClassify, cli, goldenSentences, requireBuild, tempDir, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, MemoryStore, pipeline } = await import("adapterwasm");
const { WorkerModelWithHeads } = await import("adapterwasm/worker");

// Two directories both called ".../adapter/", holding seq_bn and seq_bn_b; and a copy of seq_bn
// under another URL.
const dirs = tempDir("adapterwasm-dirs-");
cpSync(join(TINY, "adapters/seq_bn"), join(dirs, "a/adapter"), { recursive: true });
cpSync(join(TINY, "adapters/seq_bn_b"), join(dirs, "b/adapter"), { recursive: true });
cpSync(join(TINY, "adapters/seq_bn"), join(dirs, "c/seq_bn_copy"), { recursive: true });

let srv;
before(async () => {
  srv = await startTinyServer({ mounts: { "/dirs/": { dir: dirs } } });
});
after(() => srv.close());

const texts = goldenSentences().slice(0, 4);
const want = (a) => cli(["classify", "--model", join(TINY, "model"), "--adapter", join(TINY, "adapters", a)], texts);
const isErr = (code, re) => (e) => e instanceof AdapterwasmError && e.code === code && (!re || re.test(e.message));

describe("loadAdapter(dirUrl) names the adapter after its adapter_config.json", () => {
  let m;
  before(async () => {
    m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, index: `${srv.url}/adapters/index.json` });
  });
  after(() => m.dispose());

  test("two .../adapter/ directories are two adapters, each classifying as the CLI", async () => {
    assert.equal(await m.loadAdapter(`${srv.url}/dirs/a/adapter/`), "seq_bn");
    assert.equal(await m.loadAdapter(`${srv.url}/dirs/b/adapter/`), "seq_bn_b");
    checkClassify(await m.classify(texts, { adapters: "seq_bn" }), want("seq_bn"), "a/adapter");
    checkClassify(await m.classify(texts, { adapters: "seq_bn_b" }), want("seq_bn_b"), "b/adapter");
  });

  test("the same directory again is the adapter loaded, fetched once; another directory with a loaded name is refused", async () => {
    const n = srv.log.length;
    assert.equal(await m.loadAdapter(`${srv.url}/dirs/a/adapter/`), "seq_bn");
    assert.equal(srv.log.length, n, "fetched again");
    await assert.rejects(m.loadAdapter(`${srv.url}/dirs/c/seq_bn_copy/`), isErr("invalid_argument", /named "seq_bn" is already loaded from http:\/\/[^ ]+\/dirs\/a\/adapter\/.*\{ name \}/));
    assert.equal(await m.loadAdapter(`${srv.url}/dirs/c/seq_bn_copy/`, { name: "copy" }), "copy");
    checkClassify(await m.classify(texts, { adapters: "copy" }), want("seq_bn"), "copy");
    assert.deepEqual(m.loadedAdapters.sort(), ["copy", "seq_bn", "seq_bn_b"]);
  });
});

describe("progress events", () => {
  test("per file initiate, download, progress…, done; sums after each; ready last; a cache hit has no download", async () => {
    const store = new MemoryStore();
    const events = [];
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store, index: `${srv.url}/adapters/index.json`, onProgress: (p) => events.push(p) });
    const manifest = await (await fetch(`${srv.url}/tiny/manifest.json`)).json();
    const size = manifest.files.reduce((n, f) => n + f.size, 0);
    for (const f of manifest.files) {
      const mine = events.filter((e) => e.file === f.name).map((e) => e.status);
      assert.match(mine.join(" "), /^initiate download (progress )+done$/, f.name);
    }
    const last = events.filter((e) => e.status === "progress_total").at(-1);
    assert.deepEqual([last.loaded, last.total, last.progress], [size, size, 100], "the sums over the base's files (the Wasm runtime started before)");
    assert.deepEqual(events.at(-1), { status: "ready", name: `${srv.url}/tiny/`, kind: "model" });

    // Adapters loaded later report to the same onProgress, under their name.
    events.length = 0;
    await m.loadAdapter("seq_bn");
    assert.deepEqual(events.at(-1), { status: "ready", name: "seq_bn", kind: "adapter" });
    assert.ok(events.some((e) => e.status === "done" && e.name === "seq_bn" && e.file === "adapter_config.json"));
    m.dispose();

    events.length = 0;
    const again = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store, onProgress: (p) => events.push(p) });
    const files = events.filter((e) => e.file);
    assert.ok(files.length > 0 && files.every((e) => e.status !== "download" && (e.status === "initiate" || e.fromCache)), JSON.stringify(files));
    again.dispose();
  });

  test("the worker client's onProgress persists: adapters loaded after fromPretrained report too", async () => {
    const events = [];
    const w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, index: `${srv.url}/adapters/index.json`, onProgress: (p) => events.push(p) });
    try {
      assert.deepEqual(events.at(-1), { status: "ready", name: `${srv.url}/tiny/`, kind: "model" });
      assert.ok(events.some((e) => e.file === "adapterwasm.wasm" && e.status === "done"), "the Wasm runtime is one of the files");
      events.length = 0;
      await w.classify(texts, { adapters: "lora_qv" }); // loaded on demand
      assert.deepEqual(events.at(-1), { status: "ready", name: "lora_qv", kind: "adapter" });
      const later = [];
      w.onProgress = (p) => later.push(p.status);
      await w.loadAdapter("ia3");
      assert.equal(later.at(-1), "ready");
    } finally {
      w.dispose();
    }
  });
});

describe("pipeline()", () => {
  test("text-classification: [{label, score}] as Transformers.js shapes it, by topK; feature-extraction: a [texts, hidden] tensor", async () => {
    const classifier = await pipeline("text-classification", { model: `${srv.url}/tiny/`, adapter: "seq_bn", index: `${srv.url}/adapters/index.json`, cache: false });
    const full = await classifier.model.classify(texts);
    const ranked = (r) => Object.entries(r.scores).map(([label, score]) => ({ label, score })).sort((a, b) => b.score - a.score);
    assert.deepEqual(await classifier(texts[0]), ranked(full[0]).slice(0, 1));
    assert.deepEqual(await classifier(texts[0], { topK: 2 }), ranked(full[0]).slice(0, 2));
    assert.deepEqual(await classifier(texts), full.map((r) => ranked(r)[0]));
    assert.deepEqual(await classifier(texts, { top_k: null }), full.map(ranked));
    classifier.dispose();

    const viaUrl = await pipeline("sentiment-analysis", `${srv.url}/tiny/`, { adapter: `${srv.url}/dirs/b/adapter/`, cache: false });
    assert.deepEqual((await viaUrl(texts))[0].label, want("seq_bn_b")[0].label);
    viaUrl.dispose();

    const extractor = await pipeline("feature-extraction", { model: `${srv.url}/tiny/`, cache: false });
    const t = await extractor(texts.slice(0, 2), { normalize: true });
    const vecs = await extractor.model.embed(texts.slice(0, 2), { normalize: true });
    assert.deepEqual(t.dims, [2, vecs[0].length]);
    assert.deepEqual(t.tolist(), vecs.map((v) => Array.from(v)));
    await assert.rejects(extractor(texts, { pooling: "none" }), isErr("unsupported"));
    extractor.dispose();

    await assert.rejects(pipeline("translation", { model: `${srv.url}/tiny/` }), isErr("invalid_argument", /text-classification/));
    await assert.rejects(pipeline("text-classification", { model: `${srv.url}/tiny/`, cache: false }), isErr("invalid_argument", /adapter/));
  });
});
