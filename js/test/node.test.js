// node --test: the package in Node 20 against a local HTTP server. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { checkClassify, checkEmbeddings, cli, closeTo, goldenSentences, HAVE_MINILM, indexOf, maxAbsDiff, MINILM_ADAPTERS, MINILM_BASE, MINILM_DTYPE, MINILM_Q8, readJSON, requireBuild, ROOT, tempDir, TINY, tinyIndex } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, FsStore, MemoryStore, Parallel, Stack, Fuse, BatchSplit, Average, listAdapters } = await import("../src/node.js");

let srv;
const tmpCache = () => tempDir("adapterwasm-cache-");
const baseBytes = (prefix) => srv.log.filter((e) => e.path.startsWith(prefix) && !e.path.endsWith("manifest.json")).reduce((n, e) => n + e.bytes, 0);

before(async () => {
  srv = await startServer({
    mounts: {
      "/tiny/": { dir: join(TINY, "model"), manifest: true },
      "/tiny-hf/": { dir: join(TINY, "model") },
      "/adapters/": { dir: join(TINY, "adapters") },
      "/minilm/": { dir: MINILM_BASE, manifest: !MINILM_Q8 },
      "/minilm-adapters/": { dir: MINILM_ADAPTERS },
    },
    pages: { "/adapters/index.json": { body: tinyIndex() }, "/minilm-adapters/index.json": { body: indexOf(MINILM_ADAPTERS) } },
  });
});
after(() => srv.close());

const golden = (name) => readJSON(join(TINY, "golden", `${name}.json`));

describe("tiny model", () => {
  let model;
  before(async () => {
    model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore(), index: `${srv.url}/adapters/index.json` });
  });

  test("embeddings match the Go CLI on the golden sentences", async () => {
    const texts = goldenSentences();
    const got = await model.embed(texts, { normalize: true });
    const want = cli(["embed", "--model", join(TINY, "model"), "--normalize"], texts);
    assert.equal(got.length, texts.length);
    checkEmbeddings(got, want);
  });

  test("tokens match the Go CLI", async () => {
    const texts = goldenSentences();
    const got = await model.tokenize(texts);
    const want = cli(["tokenize", "--model", join(TINY, "model")], texts);
    for (let i = 0; i < texts.length; i++) assert.deepEqual(got[i].tokens.slice(0, want[i].tokens.length), want[i].tokens);
  });

  test("classify matches the reference logits (seq_bn, lora_qv, prefix, Stack, Parallel, Fuse)", async () => {
    const texts = goldenSentences().slice(0, 11); // the 12th is cut at the golden max_length 48
    for (const [setup, file] of [
      ["seq_bn", "seq_bn"],
      ["lora_qv", "lora_qv"],
      ["prefix", "prefix"],
      [Stack("seq_bn", "double_seq_bn"), "stack_seq_bn_double_seq_bn"],
    ]) {
      const g = golden(file);
      model.activeAdapters = setup;
      const res = await model.classify(texts);
      for (let i = 0; i < texts.length; i++) {
        assert.ok(maxAbsDiff(res[i].logits, g.logits[i]) <= 1e-4, `${setup} text ${i}`);
        const argmax = g.logits[i].indexOf(Math.max(...g.logits[i]));
        assert.equal(res[i].label, ["negative", "neutral", "positive"][argmax]);
        assert.ok(Math.abs(res[i].score - res[i].scores[res[i].label]) < 1e-7);
      }
    }
    const par = await model.classify(texts, { adapters: Parallel("seq_bn", "seq_bn_b") });
    const gp = golden("parallel_seq_bn_seq_bn_b");
    for (let i = 0; i < texts.length; i++) {
      assert.deepEqual(Object.keys(par[i].heads).sort(), ["seq_bn", "seq_bn_b"]);
      for (const [h, r] of Object.entries(par[i].heads)) assert.ok(maxAbsDiff(r.logits, gp.logits[h][i]) <= 1e-4);
    }
    const fusion = await model.loadAdapter(`${srv.url}/adapters/fusion/`);
    assert.equal(fusion, "seq_bn,seq_bn_b");
    const fu = await model.classify(texts, { adapters: Fuse("seq_bn", "seq_bn_b") });
    const gf = golden("fuse_seq_bn_seq_bn_b");
    for (let i = 0; i < texts.length; i++) assert.ok(maxAbsDiff(fu[i].logits, gf.logits[i]) <= 1e-4);
  });

  test("classify matches the Go CLI on every golden sentence", async () => {
    const texts = goldenSentences();
    const dir = (n) => join(TINY, "adapters", n);
    for (const [setup, args] of [
      ["seq_bn", ["--adapter", dir("seq_bn")]],
      ["ia3", ["--adapter", dir("ia3")]],
      ["bn_custom", ["--adapter", dir("bn_custom")]], // a tagging head: words and tokens
      [Parallel("seq_bn", "seq_bn_b"), ["--adapter", dir("seq_bn"), "--adapter", dir("seq_bn_b")]],
      [Fuse("seq_bn", "seq_bn_b"), ["--adapter", dir("seq_bn"), "--adapter", dir("seq_bn_b"), "--adapter", dir("fusion")]],
    ]) {
      const want = cli(["classify", "--model", join(TINY, "model"), ...args, "--setup", String(setup)], texts);
      const got = await model.classify(texts, { adapters: setup });
      checkClassify(got, want, String(setup));
    }
  });

  test("a failed call leaves the instance usable", async () => {
    model.activeAdapters = "seq_bn";
    const before = await model.classify("I love this movie");
    const rejects = async (p, code) => {
      await assert.rejects(p, (e) => e instanceof AdapterwasmError && e.code === code);
    };
    await rejects(model.classify("x", { adapters: "Stack(" }), "setup");
    await rejects(model.classify("x", { adapters: "nope" }), "not_found");
    await rejects(model.classify(42), "invalid_argument");
    await rejects(model.embed("x", { pooling: "max" }), "invalid_argument");
    await rejects(model._rt.call(model._rt.api, "_panic"), "internal");
    await rejects(model._call("loadAdapter", "broken", { "adapter_config.json": new Uint8Array([123]) }), "format");
    await rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/nothing/`, { cache: false }), "network");
    const again = await model.classify("I love this movie");
    assert.deepEqual(again, before);
  });

  test("concurrent calls with mixed adapters equal sequential ones", async () => {
    const texts = goldenSentences().slice(0, 6);
    const setups = ["seq_bn", "lora_qv", "prefix", Stack("seq_bn", "double_seq_bn"), "ia3"];
    const seq = [];
    for (const s of setups) seq.push(await model.classify(texts, { adapters: s }));
    const jobs = [];
    for (let k = 0; k < 40; k++) jobs.push(model.classify(texts, { adapters: setups[k % setups.length] }));
    const par = await Promise.all(jobs);
    par.forEach((r, k) => assert.deepEqual(r, seq[k % setups.length]));
  });

  test("loading an adapter never blocks classification with loaded ones", async () => {
    await model.classify("warm up", { adapters: "seq_bn" });
    srv.faults.set("/adapters/lora_full/pytorch_adapter.bin", "slow");
    try {
      let loaded = false;
      const loading = model.loadAdapter("lora_full").then(() => (loaded = true));
      const [r] = await model.classify("I love this movie", { adapters: "seq_bn" });
      assert.equal(loaded, false, "classify waited for the load");
      assert.ok(r.label);
      await loading;
    } finally {
      srv.faults.delete("/adapters/lora_full/pytorch_adapter.bin");
    }
  });

  test("listAdapters reads the index", async () => {
    const list = await listAdapters({ index: `${srv.url}/adapters/index.json` });
    assert.ok(list.some((a) => a.name === "seq_bn" && a.files.length === 4 && a.size > 0));
  });

  test("memory is reported; the SIMD kernels are in use", async () => {
    const m = await model.memory();
    assert.ok(m.wasmMemoryBytes > 0 && m.heapAlloc > 0);
    assert.equal(model.simd, true);
    if (!process.env.ADAPTERWASM_RELAXED) assert.equal(model.kernels, "wasm-simd", "the default kernel (the environment does not opt in)");
  });

  test("a relative URL with no location to resolve it against is refused with a typed error", async () => {
    const isArg = (e) => e instanceof AdapterwasmError && e.code === "invalid_argument" && /absolute/.test(e.message);
    await assert.rejects(AutoModelWithHeads.fromPretrained("/tiny/", { cache: false }), isArg);
    await assert.rejects(model.loadAdapter("/adapters/seq_bn/"), isArg);
    await assert.rejects(listAdapters({ index: "adapters/index.json" }), isArg);
  });

  after(() => model.dispose());
});

describe("fetch once, verify, cache", () => {
  test("the second load transfers zero base-model bytes; adapters come from the cache too", async () => {
    const dir = tmpCache();
    const opts = { cache: new FsStore(dir), index: `${srv.url}/adapters/index.json` };
    srv.log.length = 0;
    const progress = [];
    const m1 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { ...opts, onProgress: (p) => progress.push(p) });
    const first = baseBytes("/tiny/");
    assert.ok(first > 4_000_000, `first load fetched ${first} bytes`);
    const last = progress.filter((p) => p.file === "model.safetensors").at(-1);
    assert.equal(last.loaded, last.total);
    assert.equal(m1.stats.bytesFetched, first);
    m1.activeAdapters = "seq_bn";
    const r1 = await m1.classify("I love this movie");
    m1.dispose();

    srv.log.length = 0;
    const m2 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
    assert.equal(baseBytes("/tiny/"), 0, "base bytes on the second load");
    assert.equal(m2.stats.bytesFetched, 0);
    assert.ok(m2.stats.bytesFromCache >= first);
    m2.activeAdapters = "seq_bn";
    assert.deepEqual(await m2.classify("I love this movie"), r1);
    assert.equal(srv.bytesUnder("/adapters/seq_bn/"), 0, "adapter bytes on the second load");
    m2.dispose();
  });

  test("switching adapters transfers only that adapter's bytes", async () => {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore(), index: `${srv.url}/adapters/index.json` });
    srv.log.length = 0;
    m.activeAdapters = "lora_qv";
    await m.classify("hello");
    const paths = srv.log.map((e) => e.path);
    assert.ok(paths.length > 0 && paths.every((p) => p.startsWith("/adapters/lora_qv/") || p === "/adapters/index.json"), paths.join(" "));
    const want = readdirSync(join(TINY, "adapters/lora_qv")).reduce((n, f) => n + readFileSync(join(TINY, "adapters/lora_qv", f)).byteLength, 0);
    assert.equal(srv.bytesUnder("/adapters/lora_qv/"), want);
    m.dispose();
  });

  test("a corrupt cache entry is dropped and fetched again", async () => {
    const dir = tmpCache();
    const store = new FsStore(dir);
    (await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store })).dispose();
    // Flip a byte in the cached weights (the biggest file).
    const big = readdirSync(dir)
      .filter((f) => !f.endsWith(".sha256"))
      .map((f) => join(dir, f))
      .sort((a, b) => readFileSync(b).byteLength - readFileSync(a).byteLength)[0];
    const b = readFileSync(big);
    b[b.length >> 1] ^= 0xff;
    writeFileSync(big, b);
    srv.log.length = 0;
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store });
    assert.ok(srv.log.some((e) => e.path === "/tiny/model.safetensors" && e.bytes > 0), "refetched");
    m.dispose();
    srv.log.length = 0;
    (await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store })).dispose();
    assert.equal(baseBytes("/tiny/"), 0, "good copy cached again");
  });

  for (const fault of ["corrupt", "truncate", "500"]) {
    test(`a ${fault} download is refused and never cached`, async () => {
      const store = new FsStore(tmpCache());
      srv.faults.set("/tiny/model.safetensors", fault);
      try {
        await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store }), (e) => e instanceof AdapterwasmError && (e.code === "integrity" || e.code === "network"));
      } finally {
        srv.faults.delete("/tiny/model.safetensors");
      }
      assert.equal(await store.get(`${srv.url}/tiny/model.safetensors`), undefined);
      (await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store })).dispose();
    });
  }

  test("a Hugging Face directory without manifest loads (unverified)", async () => {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny-hf/`, { cache: false });
    assert.equal(m.baseVerified, false);
    assert.equal(m.config.hiddenSize, 32);
    m.dispose();
  });

  test("the adapter LRU keeps the budget and refetches nothing it has cached", async () => {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore(), index: `${srv.url}/adapters/index.json`, adapterBudgetBytes: 60_000 });
    for (const a of ["seq_bn", "seq_bn_b", "lora_qv", "ia3"]) await m.classify("x", { adapters: a });
    const total = m._adapters.size;
    assert.ok(total < 4, `loaded ${m.loadedAdapters}`);
    srv.log.length = 0;
    const [r] = await m.classify("x", { adapters: "seq_bn" }); // evicted earlier: back from the cache
    assert.equal(srv.bytesUnder("/adapters/"), 0);
    assert.equal(r.label, (await m.classify("x", { adapters: "seq_bn" }))[0].label);
    assert.ok(m.loadedAdapters.includes("seq_bn"));
    m.dispose();
  });
});

describe("unloadAdapter waits for the calls in flight that use the adapter", () => {
  let m;
  const texts = goldenSentences().slice(0, 4);
  const isSetup = (e) => e instanceof AdapterwasmError && e.code === "setup" && /being unloaded/.test(e.message);
  before(async () => {
    m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore(), index: `${srv.url}/adapters/index.json` });
  });
  after(() => m?.dispose());

  test("calls issued before finish with the adapter, calls issued during are refused, unload resolves after", async () => {
    const want = await m.classify(texts, { adapters: "seq_bn" });
    const order = [];
    const early = [1, 2, 3].map((k) => m.classify(texts, { adapters: k === 2 ? Stack("seq_bn", "double_seq_bn") : "seq_bn" }).then((r) => (order.push("classify"), r)));
    const unload = m.unloadAdapter("seq_bn").then(() => order.push("unload"));
    const late = m.classify(texts, { adapters: "seq_bn" });
    const lateStack = m.classify(texts, { adapters: Stack("double_seq_bn", "seq_bn") });
    await assert.rejects(late, isSetup);
    await assert.rejects(lateStack, isSetup);
    const [r1, , r3] = await Promise.all(early);
    assert.deepEqual(r1, want);
    assert.deepEqual(r3, want);
    await unload;
    assert.deepEqual(order, ["classify", "classify", "classify", "unload"]);
    assert.ok(!m.loadedAdapters.includes("seq_bn"), `${m.loadedAdapters}`);
    // Once unloaded, the adapter is just not loaded: the next call fetches it from the index again.
    assert.deepEqual(await m.classify(texts, { adapters: "seq_bn" }), want);
  });

  test("a call still downloading its adapter is waited for; calls on other adapters are not held", async () => {
    const want = await m.classify(texts, { adapters: "lora_qv" });
    await m.unloadAdapter("lora_qv");
    await m.classify("warm up", { adapters: "ia3" });
    srv.faults.set("/adapters/lora_qv/pytorch_adapter.bin", "slow"); // 1.5 s
    try {
      const order = [];
      const slow = m.classify(texts, { adapters: "lora_qv" }).then((r) => (order.push("slow"), r));
      const unload = m.unloadAdapter("lora_qv").then(() => order.push("unload"));
      const other = m.classify(texts, { adapters: "ia3" }).then(() => order.push("other"));
      assert.deepEqual(await slow, want);
      await Promise.all([unload, other]);
      assert.deepEqual(order, ["other", "slow", "unload"]);
      assert.ok(!m.loadedAdapters.includes("lora_qv"));
    } finally {
      srv.faults.delete("/adapters/lora_qv/pytorch_adapter.bin");
    }
  });

  test("unloading an adapter waits for calls through a fusion over it, and drops the fusion", async () => {
    const fuse = Fuse("seq_bn", "seq_bn_b");
    const want = await m.classify(texts, { adapters: fuse });
    assert.ok(m.loadedAdapters.includes("seq_bn,seq_bn_b"), `${m.loadedAdapters}`);
    const inFlight = m.classify(texts, { adapters: fuse });
    const unload = m.unloadAdapter("seq_bn_b");
    await assert.rejects(m.classify(texts, { adapters: fuse }), isSetup);
    assert.deepEqual(await inFlight, want);
    await unload;
    assert.ok(!m.loadedAdapters.includes("seq_bn_b") && !m.loadedAdapters.includes("seq_bn,seq_bn_b"), `${m.loadedAdapters}`);
    assert.ok(m.loadedAdapters.includes("seq_bn"));
  });

  test("unloading twice at once is one unload; a name never loaded is not_found; loadAdapter during an unload loads afresh", async () => {
    await m.loadAdapter("ia3");
    const a = m.unloadAdapter("ia3");
    assert.equal(m.unloadAdapter("ia3"), a);
    const reload = m.loadAdapter("ia3");
    await a;
    assert.equal(await reload, "ia3");
    assert.ok(m.loadedAdapters.includes("ia3"));
    await assert.rejects(m.unloadAdapter("never_loaded"), (e) => e instanceof AdapterwasmError && e.code === "not_found");
  });
});

test("composition helpers print setup expressions", () => {
  assert.equal(String(Stack("a", Parallel("b", "c"))), "Stack(a,Parallel(b,c))");
  assert.equal(String(BatchSplit("a", "b", { batchSizes: [5, 7] })), "BatchSplit(a,b,batch_sizes=[5,7])");
  assert.equal(String(Average("a", "b", { weights: [0.3, 0.7] })), "Average(a,b,weights=[0.3,0.7])");
  assert.throws(() => Stack("a", 3), TypeError);
});

describe(`MiniLM (${MINILM_DTYPE})`, { skip: !HAVE_MINILM && "no MiniLM (./build.sh model)" }, () => {
  let m;
  before(async () => {
    m = await AutoModelWithHeads.fromPretrained(`${srv.url}/minilm/`, { cache: false, index: `${srv.url}/minilm-adapters/index.json` });
  });
  after(() => m?.dispose());

  test("embeddings match the Go CLI on the golden sentences", async () => {
    const texts = goldenSentences();
    const got = await m.embed(texts, { normalize: true });
    checkEmbeddings(got, cli(["embed", "--model", MINILM_BASE, "--normalize"], texts));
    const mem = await m.memory();
    console.log(`# MiniLM ${MINILM_DTYPE} loaded: wasm memory ${(mem.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB, Go heap ${(mem.heapAlloc / 2 ** 20).toFixed(1)} MiB`);
  });

  test("the demo adapters match the Go CLI on the golden sentences", async () => {
    const texts = goldenSentences();
    const names = readdirSync(MINILM_ADAPTERS).filter((n) => !n.endsWith(".json"));
    assert.ok(names.includes("sentiment"));
    for (const a of names) {
      const got = await m.classify(texts, { adapters: a });
      checkClassify(got, cli(["classify", "--model", MINILM_BASE, "--adapter", join(MINILM_ADAPTERS, a)], texts), a);
    }
    const mem = await m.memory();
    console.log(`# MiniLM ${MINILM_DTYPE} + ${names.length} demo adapters: wasm memory ${(mem.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB`);
    if (!MINILM_Q8) {
      // On the f32 base, also the reference library's labels (testdata/minilm/golden/sentiment.json).
      const g = readJSON(join(ROOT, "testdata/minilm/golden/sentiment.json"));
      const got = await m.classify(texts.slice(0, 11), { adapters: "sentiment" });
      got.forEach((r, i) => assert.equal(r.label, g.predicted[i], `text ${i}`));
    }
  });
});
