// node --test: WorkerModelPool (src/worker-pool.js) over Node worker threads: a batch split between
// instances gives the in-process model's answers, in order, bit for bit, whatever the split;
// BatchSplit and malformed taskIds run whole on one instance; errors stay typed; dispose ends
// every instance. MultiTask's task ids through the pool: multitask.test.js. Build first:
// ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { startTinyServer } from "./helpers/server.js";
import { goldenSentences, requireBuild, tempDir } from "./helpers/fixtures.js";

requireBuild();
const { WorkerModelPool, WorkerModelWithHeads, AdapterwasmError, BatchSplit, Parallel } = await import("adapterwasm/worker");
const { AutoModelWithHeads } = await import("adapterwasm");

const isErr = (code, re) => (e) => e instanceof AdapterwasmError && e.code === code && (!re || re.test(e.message));

let srv;
before(async () => {
  srv = await startTinyServer();
});
after(() => srv.close());

// counting wraps each instance's method so that a test can tell which instances ran a call.
function counting(pool, method) {
  const calls = pool.models.map(() => 0);
  pool.models.forEach((m, i) => {
    const f = m[method].bind(m);
    m[method] = (...a) => (calls[i]++, f(...a));
  });
  return calls;
}

describe("WorkerModelPool in Node worker threads", () => {
  let pool, local;
  const texts = goldenSentences().slice(0, 12);
  before(async () => {
    const progress = [];
    const opts = { cache: false, index: `${srv.url}/adapters/index.json` };
    pool = await WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { ...opts, instances: 3, onProgress: (p) => progress.push(p) });
    local = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
    assert.ok(progress.some((p) => p.file === "model.safetensors" && p.loaded === p.total), "the first instance's progress reached the caller");
  });
  after(() => {
    pool?.dispose();
    local?.dispose();
  });

  test("three instances, each its own worker on one kernel thread, with the model's config", () => {
    assert.equal(pool.instances, 3);
    assert.equal(new Set(pool.models.map((m) => m._w)).size, 3);
    assert.ok(pool.models.every((m) => m instanceof WorkerModelWithHeads && m.threads === 1));
    assert.deepEqual(pool.config, local.config);
    assert.equal(pool.baseVerified, true);
  });

  test("a batch is split between the instances and answers as one model, in order", async () => {
    for (const setup of ["seq_bn", "lora_qv", Parallel("seq_bn", "seq_bn_b")]) {
      const calls = counting(pool, "classify");
      assert.deepEqual(await pool.classify(texts, { adapters: setup }), await local.classify(texts, { adapters: setup }), String(setup));
      assert.deepEqual(calls, [1, 1, 1], `${setup}: every instance took a share`);
    }
    // Shares by length: one long text and short ones; any split gives the same answers.
    const mixed = ["a", texts[3].repeat(4), "b", "c", texts[0], "d"];
    pool.activeAdapters = "seq_bn";
    assert.deepEqual(await pool.classify(mixed), await local.classify(mixed, { adapters: "seq_bn" }));
    const [pe, le] = [await pool.embed(texts, { normalize: true }), await local.embed(texts, { normalize: true })];
    assert.ok(pe.every((e) => e instanceof Float32Array));
    pe.forEach((e, i) => assert.deepEqual(Array.from(e), Array.from(le[i]), `embedding ${i}`));
    assert.deepEqual(await pool.tokenize(texts), await local.tokenize(texts));
    await pool.setActiveAdapters("lora_qv");
    assert.deepEqual(await pool.classify(texts), await local.classify(texts, { adapters: "lora_qv" }));
    assert.deepEqual(await pool.classify(texts[1]), await local.classify(texts[1], { adapters: "lora_qv" }), "a single text");
    assert.deepEqual(await pool.classify([]), []);
  });

  test("single texts go to the least busy instance", async () => {
    const calls = counting(pool, "classify");
    const got = await Promise.all(texts.slice(0, 6).map((t) => pool.classify(t, { adapters: "seq_bn" })));
    assert.deepEqual(calls, [2, 2, 2]);
    for (const [i, r] of got.entries()) assert.deepEqual(r, await local.classify(texts[i], { adapters: "seq_bn" }));
  });

  test("a BatchSplit runs whole on one instance (its sizes are the batch's)", async () => {
    const setup = BatchSplit("seq_bn", "seq_bn_b", { batchSizes: [4, 8] });
    const calls = counting(pool, "classify");
    assert.deepEqual(await pool.classify(texts, { adapters: setup }), await local.classify(texts, { adapters: setup }));
    assert.equal(calls.reduce((a, b) => a + b), 1);
    const code = await local.classify(texts.slice(0, 5), { adapters: setup }).then(() => "resolved", (e) => e.code);
    await assert.rejects(pool.classify(texts.slice(0, 5), { adapters: setup }), isErr(code, /not the sum of batch_sizes/), "the whole batch's sizes, as one model says");
  });

  test("errors stay typed, and the pool keeps working", async () => {
    await assert.rejects(pool.classify(texts, { adapters: "Stack(" }), isErr("setup"));
    await assert.rejects(pool.classify(texts, { adapters: "nope" }), isErr("not_found"));
    await assert.rejects(pool.embed(texts, { pooling: "max" }), isErr("invalid_argument"));
    await assert.rejects(pool.classify(["x", 3]), isErr("invalid_argument"));
    await assert.rejects(pool.loadAdapter("adapters/x/"), isErr("invalid_argument", /absolute/));
    await assert.rejects(WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { instances: 0 }), isErr("invalid_argument", /instances/));
    await assert.rejects(WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { instances: 1.5 }), isErr("invalid_argument", /instances/));
    await assert.rejects(WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { worker: {} }), isErr("invalid_argument", /worker/));
    await assert.rejects(WorkerModelPool.fromPretrained(`${srv.url}/nothing/`, { cache: false }), isErr("network"));
    assert.deepEqual(await pool.classify(texts, { adapters: "seq_bn" }), await local.classify(texts, { adapters: "seq_bn" }));
  });

  test("loadAdapter and unloadAdapter act on every instance", async () => {
    assert.equal(await pool.loadAdapter(`${srv.url}/adapters/ia3/`), "ia3");
    const want = await local.classify(texts, { adapters: "ia3" });
    assert.deepEqual(await pool.classify(texts, { adapters: "ia3" }), want);
    await pool.unloadAdapter("ia3");
    for (const m of pool.models) assert.ok(!(await m.refreshStats()).loadedAdapters.includes("ia3"));
    assert.equal((await pool.memory()).length, 3);
  });
});

test("a copy whose worker dies is left out: the pool goes on with the others, then says exited", async () => {
  const pool = await WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { cache: false, instances: 2 });
  try {
    const texts = goldenSentences().slice(0, 4);
    const want = await pool.embed(texts);
    await pool.models[0]._w.terminate();
    await new Promise((r) => setTimeout(r, 50)); // the exit event
    await assert.rejects(pool.models[0].embed("x"), isErr("exited"));
    assert.deepEqual(await pool.embed(texts), want, "the survivor answers the whole batch");
    await pool.models[1]._w.terminate();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(pool.embed(texts), isErr("exited"));
  } finally {
    pool.dispose();
  }
});

test("a pool on a directory cache: the instances after the first read the base from it", async () => {
  const dir = tempDir("adapterwasm-pool-cache-");
  const pool = await WorkerModelPool.fromPretrained(`${srv.url}/tiny/`, { cache: dir });
  try {
    assert.equal(pool.instances, 2);
    assert.ok(pool.models[0].stats.bytesFetched > 4_000_000);
    assert.equal(pool.models[1].stats.bytesFetched, 0);
  } finally {
    pool.dispose();
  }
  await assert.rejects(pool.classify("x"), isErr("closed"));
  await assert.rejects(pool.loadAdapter(`${srv.url}/adapters/ia3/`), isErr("closed"));
});
