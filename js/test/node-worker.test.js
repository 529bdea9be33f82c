// node --test: the worker thread client (adapterwasm/worker under Node: src/node-worker-client.js)
// against the in-process model: same results, same typed errors, progress, unloadAdapter's
// semantics, and a script that forgets dispose() still exits. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

import { startTinyServer } from "./helpers/server.js";
import { goldenSentences, maxAbsDiff, readJSON, requireBuild, ROOT, tempDir, TINY } from "./helpers/fixtures.js";

requireBuild();
// Through the package's exports map, as a user imports it: the "node" condition.
const { WorkerModelWithHeads, AdapterwasmError, Parallel } = await import("adapterwasm/worker");
const { AutoModelWithHeads } = await import("adapterwasm");

let srv;
before(async () => {
  srv = await startTinyServer();
});
after(() => srv.close());

const isErr = (code, re) => (e) => e instanceof AdapterwasmError && e.code === code && (!re || re.test(e.message));

describe("WorkerModelWithHeads in a Node worker thread", () => {
  let w, local;
  const texts = goldenSentences().slice(0, 6);
  before(async () => {
    const progress = [];
    const opts = { cache: false, index: `${srv.url}/adapters/index.json` };
    w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { ...opts, onProgress: (p) => progress.push(p) });
    local = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
    assert.ok(progress.some((p) => p.file === "model.safetensors" && p.loaded === p.total), "progress reached the caller");
  });
  after(() => {
    w?.dispose();
    local?.dispose();
  });

  test("it is the Node client, loaded in a thread, with the same config", () => {
    assert.equal(w.constructor.name, "WorkerModelWithHeads");
    assert.equal(typeof w._w.ref, "function", "a worker_threads Worker");
    assert.deepEqual(w.config, local.config);
    assert.equal(w.baseVerified, true);
    assert.equal(w.simd, true);
    if (!process.env.ADAPTERWASM_RELAXED) assert.equal(w.kernels, "wasm-simd", "the worker reports its kernels");
  });

  test("classify, embed and tokenize equal the in-process model's; logits equal the reference", async () => {
    for (const setup of ["seq_bn", "lora_qv", Parallel("seq_bn", "seq_bn_b")]) {
      assert.deepEqual(await w.classify(texts, { adapters: setup }), await local.classify(texts, { adapters: setup }), String(setup));
    }
    w.activeAdapters = "seq_bn";
    const g = readJSON(join(TINY, "golden/seq_bn.json"));
    (await w.classify(texts)).forEach((r, i) => assert.ok(maxAbsDiff(r.logits, g.logits[i]) <= 1e-4, `text ${i}`));
    const [we, le] = [await w.embed(texts, { normalize: true }), await local.embed(texts, { normalize: true })];
    assert.ok(we.every((e) => e instanceof Float32Array));
    we.forEach((e, i) => assert.deepEqual(Array.from(e), Array.from(le[i])));
    assert.deepEqual(await w.tokenize(texts), await local.tokenize(texts));
    await w.setActiveAdapters("lora_qv");
    assert.deepEqual(await w.classify(texts), await local.classify(texts, { adapters: "lora_qv" }));
    const stats = await w.refreshStats();
    assert.ok(stats.loadedAdapters.includes("lora_qv") && stats.bytesFetched > 0);
    assert.ok((await w.memory()).wasmMemoryBytes > 0);
  });

  test("errors cross the thread typed, and the model keeps working", async () => {
    await assert.rejects(w.classify("x", { adapters: "Stack(" }), isErr("setup"));
    await assert.rejects(w.classify("x", { adapters: "nope" }), isErr("not_found"));
    await assert.rejects(w.embed("x", { pooling: "max" }), isErr("invalid_argument"));
    await assert.rejects(w.loadAdapter("adapters/x/"), isErr("invalid_argument", /absolute/));
    assert.deepEqual(await w.classify(texts, { adapters: "seq_bn" }), await local.classify(texts, { adapters: "seq_bn" }));
  });

  test("unloadAdapter waits for the calls sent before it; calls sent during it are refused", async () => {
    const want = await w.classify(texts, { adapters: "ia3" });
    const order = [];
    const early = [w.classify(texts, { adapters: "ia3" }), w.classify(texts, { adapters: "ia3" })].map((p) => p.then((r) => (order.push("classify"), r)));
    const unload = w.unloadAdapter("ia3").then(() => order.push("unload"));
    await assert.rejects(w.classify(texts, { adapters: "ia3" }), isErr("setup", /being unloaded/));
    for (const r of await Promise.all(early)) assert.deepEqual(r, want);
    await unload;
    assert.deepEqual(order, ["classify", "classify", "unload"]);
    assert.ok(!(await w.refreshStats()).loadedAdapters.includes("ia3"));
    assert.deepEqual(await w.classify(texts, { adapters: "ia3" }), want, "fetched again after the unload");
  });

  test("after dispose every call rejects with code closed", async () => {
    const m = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false });
    m.dispose();
    await assert.rejects(m.embed("x"), isErr("closed"));
  });

  test("a failed load rejects typed and ends the thread it started", async () => {
    await assert.rejects(WorkerModelWithHeads.fromPretrained(`${srv.url}/nothing/`, { cache: false }), isErr("network"));
    await assert.rejects(WorkerModelWithHeads.fromPretrained("tiny/", { cache: false }), isErr("invalid_argument"));
  });

  test("a directory cache works across threads: the second load fetches no base bytes", async () => {
    const dir = tempDir("adapterwasm-worker-cache-");
    (await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: dir })).dispose();
    assert.ok(readdirSync(dir).length > 0);
    const m = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: dir });
    assert.equal(m.stats.bytesFetched, 0);
    assert.ok(m.stats.bytesFromCache > 4_000_000);
    m.dispose();
  });
});

test("a script that never calls dispose() still exits once its calls are done", async () => {
  const script = `
    const { WorkerModelWithHeads } = await import("adapterwasm/worker");
    const m = await WorkerModelWithHeads.fromPretrained(${JSON.stringify(`${srv.url}/tiny/`)}, { cache: false, index: ${JSON.stringify(`${srv.url}/adapters/index.json`)} });
    const [r] = await m.classify("I love this movie", { adapters: "seq_bn" });
    console.log(JSON.stringify({ label: r.label }));`;
  // Run from js/ so that "adapterwasm/worker" self-resolves; not spawnSync: the server is in this
  // process. The timeout only guards a hang.
  const stdout = await new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: join(ROOT, "js"), timeout: 120_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message} (signal ${err.signal})\n${errOut}`)) : resolve(out),
    ),
  );
  assert.ok(JSON.parse(stdout.trim()).label);
});
