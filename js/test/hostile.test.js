// node --test: hostile files, cut and endless downloads, cache integrity for adapters, limits,
// and 100 concurrent calls while adapters load and unload (issue 10). Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startTinyServer } from "./helpers/server.js";
import { goldenSentences, requireBuild } from "./helpers/fixtures.js";
import { endlessServer, HOSTILE_CASES, hostileDir } from "./helpers/hostile.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, MemoryStore, Stack, Parallel } = await import("../src/node.js");
const { fetchFile } = await import("../src/fetch.js");

let srv;
before(async () => {
  srv = await startTinyServer({ mounts: { "/hostile/": { dir: hostileDir() } } });
});
after(() => srv.close());

const isErr = (code) => (e) => e instanceof AdapterwasmError && e.code === code;

describe("hostile inputs to the Wasm instance", () => {
  let model;
  before(async () => {
    model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore(), index: `${srv.url}/adapters/index.json` });
  });
  after(() => model.dispose());

  test("each hostile adapter directory is refused with code format, naming the file; the instance keeps working", async () => {
    const good = await model.classify(goldenSentences().slice(0, 3), { adapters: "seq_bn" });
    for (const [name, want] of HOSTILE_CASES) {
      // Under its own name: each is a spoilt copy of seq_bn, whose saved name is loaded already.
      await assert.rejects(model.loadAdapter(`${srv.url}/hostile/${name}/`, { name }), (e) => {
        assert.ok(e instanceof AdapterwasmError && e.code === "format", `${name}: ${e.code} ${e.message}`);
        assert.match(e.message, new RegExp(want), name);
        return true;
      });
      assert.ok(!model.loadedAdapters.includes(name), `${name} was kept`);
      assert.deepEqual(await model.classify(goldenSentences().slice(0, 3), { adapters: "seq_bn" }), good, `after ${name}`);
    }
  });

  test("a 10 MB text is truncated and answers as its first 4 KB; texts and batches over the limits are refused", async () => {
    const huge = "I love this movie, it is great! ".repeat((10 << 20) / 32);
    const t0 = performance.now();
    const [r] = await model.classify([huge], { adapters: "seq_bn" });
    const ms = performance.now() - t0;
    // The answer is the 4 KB prefix's; only what it says of the input read (input.tokens counts
    // the whole text, up to its cap) differs.
    const { input, ...answer } = r;
    const { input: prefixInput, ...prefixAnswer } = (await model.classify([huge.slice(0, 4096)], { adapters: "seq_bn" }))[0];
    assert.deepEqual(answer, prefixAnswer);
    assert.equal(input.truncated, true);
    assert.ok(input.tokens > prefixInput.tokens, `${input.tokens} tokens counted in the 10 MB text, ${prefixInput.tokens} in its prefix`);
    assert.ok(ms < 30_000, `${ms} ms`);
    const [tok] = await model.tokenize(huge);
    assert.ok(tok.inputIds.length <= 128);
    await assert.rejects(model.classify(["x", "a".repeat((16 << 20) + 1)], { adapters: "seq_bn" }), isErr("invalid_argument"));
    await assert.rejects(model.classify(Array(257).fill("x"), { adapters: "seq_bn" }), isErr("invalid_argument"));
    await assert.rejects(model.embed(Array(257).fill("x")), isErr("invalid_argument"));
    assert.equal((await model.classify("I love this movie", { adapters: "seq_bn" }))[0].label, r.label);
  });

  test("a 100M-character string is refused before it is copied into Go memory", async () => {
    const big = "a".repeat(100_000_000);
    const before = (await model.memory()).wasmMemoryBytes;
    await assert.rejects(model.classify(big, { adapters: "seq_bn" }), isErr("invalid_argument"));
    await assert.rejects(model.tokenize(["x", big]), isErr("invalid_argument"));
    await assert.rejects(model.embed(big), isErr("invalid_argument"));
    const grew = (await model.memory()).wasmMemoryBytes - before;
    assert.ok(grew < 16 << 20, `Wasm memory grew by ${grew} bytes`);
    assert.ok((await model.classify("I love this movie", { adapters: "seq_bn" }))[0].label);
  });

  test("100 concurrent classify calls with mixed adapters equal sequential ones, while adapters load and unload", async () => {
    const texts = goldenSentences().slice(0, 4);
    const setups = ["seq_bn", "lora_qv", "prefix", "ia3", String(Stack("lora_qv", "seq_bn")), String(Parallel("seq_bn", "seq_bn_b"))];
    const seq = new Map();
    for (const s of setups) seq.set(s, await model.classify(texts, { adapters: s }));
    const jobs = [];
    let churned = 0;
    for (let k = 0; k < 100; k++) {
      const s = setups[k % setups.length];
      jobs.push(model.classify(texts, { adapters: s }).then((r) => ({ s, r }), (e) => ({ s, e })));
      if (k % 10 === 5) {
        // Unload and reload adapters the calls use, and one no call uses, while calls are in flight.
        const victim = ["ia3", "prefix", "par_bn"][churned++ % 3];
        jobs.push(
          model
            .loadAdapter(victim)
            .then(() => model.unloadAdapter(victim))
            .then(() => null, (e) => ({ s: `churn ${victim}`, e })),
        );
      }
    }
    const out = (await Promise.all(jobs)).filter(Boolean);
    let failed = 0;
    for (const { s, r, e } of out) {
      if (e) {
        // unloadAdapter waits for the calls issued before it; a call issued while its adapter is
        // being unloaded fails cleanly (setup), never answers wrongly. Calls whose adapters nobody
        // unloads never fail.
        assert.ok(e instanceof AdapterwasmError && ["setup", "not_found"].includes(e.code), `${s}: ${e.code} ${e.message}`);
        assert.ok(s === "ia3" || s === "prefix" || s.startsWith("churn"), `${s}: failed although nothing unloaded it: ${e.message}`);
        failed++;
        continue;
      }
      assert.deepEqual(r, seq.get(s), `${s}: result differs from the sequential one`);
      assert.equal(JSON.stringify(r), JSON.stringify(seq.get(s)), `${s}: same result, different key order`);
    }
    console.log(`# ${failed} calls of ${out.length} failed cleanly while their adapter was unloaded`);
    for (const s of setups) assert.deepEqual(await model.classify(texts, { adapters: s }), seq.get(s), `${s} afterwards`);
  });
});

describe("adapter downloads: integrity and cache", () => {
  const base = () => `${srv.url}/tiny/`;
  const index = () => `${srv.url}/adapters/index.json`;
  const file = "/adapters/seq_bn/pytorch_adapter.bin";

  for (const fault of ["corrupt", "truncate"]) {
    test(`a ${fault} adapter download is refused before use and never cached; the next try works`, async () => {
      const store = new MemoryStore();
      const m = await AutoModelWithHeads.fromPretrained(base(), { cache: store, index: index() });
      srv.faults.set(file, fault);
      try {
        await assert.rejects(m.classify("x", { adapters: "seq_bn" }), (e) => e instanceof AdapterwasmError && ["integrity", "network"].includes(e.code));
      } finally {
        srv.faults.delete(file);
      }
      assert.equal(await store.get(`${srv.url}${file}`), undefined, "cached after a bad download");
      assert.ok(!m.loadedAdapters.includes("seq_bn"));
      const [r] = await m.classify("I love this movie", { adapters: "seq_bn" });
      assert.ok(r.label);
      assert.ok(await store.get(`${srv.url}${file}`), "the good copy is cached");
      m.dispose();
    });
  }

  test("a corrupt adapter cache entry is dropped and fetched again", async () => {
    const store = new MemoryStore();
    const m1 = await AutoModelWithHeads.fromPretrained(base(), { cache: store, index: index() });
    const want = await m1.classify("I love this movie", { adapters: "seq_bn" });
    m1.dispose();
    const hit = await store.get(`${srv.url}${file}`);
    const bad = hit.bytes.slice();
    bad[bad.length >> 1] ^= 0xff;
    await store.put(`${srv.url}${file}`, bad, hit.sha256);
    srv.log.length = 0;
    const m2 = await AutoModelWithHeads.fromPretrained(base(), { cache: store, index: index() });
    assert.deepEqual(await m2.classify("I love this movie", { adapters: "seq_bn" }), want);
    assert.ok(srv.log.some((e) => e.path === file && e.bytes > 0), "refetched");
    assert.notDeepEqual((await store.get(`${srv.url}${file}`)).bytes, bad);
    m2.dispose();
  });

  test("an endless body is abandoned once it passes the promised size, and nothing is cached", async () => {
    const es = await endlessServer();
    const store = new MemoryStore();
    try {
      await assert.rejects(fetchFile(`${es.url}/x/adapter.safetensors`, { size: 100_000, sha256: "0".repeat(64), store }), (e) => {
        assert.ok(e instanceof AdapterwasmError && e.code === "integrity", `${e.code} ${e.message}`);
        assert.match(e.message, /more than the 100000 bytes promised/);
        return true;
      });
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(es.sent.closed, "connection still open");
      assert.ok(es.sent.bytes < 64 << 20, `server sent ${es.sent.bytes} bytes`);
      assert.equal(store.map.size, 0);
    } finally {
      await es.close();
    }
  });
});
