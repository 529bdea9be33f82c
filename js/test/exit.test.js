// node --test: when the Go program ends (a fatal runtime error such as running out of memory, or
// the engine's Wasm stack overflowing under Go's frames), calls in flight and later calls of every
// model on that instance reject with code "exited" instead of hanging or answering undefined,
// nothing escapes as an unhandled rejection or uncaught exception (Node would exit), and the next
// fromPretrained starts a fresh instance. The same through the worker thread client. Its own
// file: it ends the process's shared instance. The deaths are real: test hooks of a module built
// with -tags adapterwasm_fataltest (helpers/fataltest.js).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";

import { startTinyServer } from "./helpers/server.js";
import { requireBuild } from "./helpers/fixtures.js";
import { escapes, fatalWasm } from "./helpers/fataltest.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError } = await import("../src/node.js");
const { WorkerModelWithHeads } = await import("../src/node-worker-client.js");

let srv;
before(async () => {
  srv = await startTinyServer();
});
after(() => srv.close());

const exited = (what) => (e) => {
  assert.ok(e instanceof AdapterwasmError && e.code === "exited", `${what}: ${e?.name} ${e?.code}: ${e?.message}`);
  return true;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TEXT = "I love this movie";
// outcome settles a call at once (a rejection nobody handles yet would count as unhandled).
const outcome = (p) => p.then((value) => ({ value }), (error) => ({ error }));
const wantExited = async (what, p) => {
  const r = await p;
  assert.ok("error" in r, `${what}: resolved with ${JSON.stringify(r.value)}`);
  exited(what)(r.error);
};
// Every model here runs the module with the test hooks (options.wasm only counts for the first
// model of an instance; a test ends its instance, so the next test starts one with it).
let WASM;
before(() => (WASM = fatalWasm()));

test("os.Exit: an ended Go instance fails calls cleanly and a new model starts a new one", async () => {
  const m1 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, wasm: WASM });
  const [before] = await m1.embed(TEXT);
  await assert.rejects(m1._rt.call(m1._rt.api, "_exit"), exited("_exit"));
  await assert.rejects(m1.embed(TEXT), exited("embed after"));
  m1.dispose(); // no throw
  const m2 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, wasm: WASM });
  assert.notEqual(m2._rt, m1._rt);
  const [again] = await m2.embed(TEXT);
  assert.deepEqual(again, before);
  m2.dispose();
});

// Slow files (1.5 s late), so that a load is in flight when the instance dies.
const SLOW = ["/adapters/seq_bn/adapter_config.json", "/adapters/lora_qv/pytorch_adapter.bin"];

for (const hook of ["_fatal", "_overflow"]) {
  test(`${hook}: every call in flight and later on both models sharing the instance rejects with code exited, nothing escapes, a new model works`, async () => {
    const seen = escapes();
    try {
      const opts = { cache: false, index: `${srv.url}/adapters/index.json`, wasm: WASM };
      const m1 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
      const m2 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
      assert.equal(m1._rt, m2._rt, "one instance");
      const [want] = await m1.embed(TEXT);
      for (const p of SLOW) srv.faults.set(p, "slow");
      let pending;
      try {
        pending = [
          ["m2.loadAdapter(dir)", outcome(m2.loadAdapter(`${srv.url}/adapters/seq_bn/`))],
          ["m1.classify(lora_qv)", outcome(m1.classify(TEXT, { adapters: "lora_qv" }))],
        ];
        await sleep(200); // both downloads under way
        pending.push(["hook", outcome(m1._rt.call(m1._rt.api, hook))]);
        pending.push(["m1.embed, same tick", outcome(m1.embed(TEXT))], ["m2.tokenize, same tick", outcome(m2.tokenize(TEXT))]);
        for (const [what, p] of pending) await wantExited(what, p);
      } finally {
        for (const p of SLOW) srv.faults.delete(p);
      }
      await assert.rejects(m1.embed(TEXT), exited("m1.embed after"));
      await assert.rejects(m2.classify(TEXT, { adapters: "seq_bn" }), exited("m2.classify after"));
      await assert.rejects(m1.loadAdapter(`${srv.url}/adapters/par_bn/`), exited("m1.loadAdapter after"));
      await assert.rejects(m2.memory(), exited("m2.memory after"));
      m1.dispose(); // no throw
      m2.dispose();

      const m3 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, opts);
      assert.notEqual(m3._rt, m1._rt, "a fresh instance");
      assert.deepEqual((await m3.embed(TEXT))[0], want);
      assert.ok((await m3.classify(TEXT, { adapters: "lora_qv" }))[0].label);
      m3.dispose();
      await sleep(300); // a timer of the dead instance would fire here
    } finally {
      seen.stop();
    }
    assert.deepEqual([...seen], [], "escaped");
  });
}

test("_overflow in a worker thread: the client's calls in flight and later reject with code exited; a new client works", async () => {
  const seen = escapes();
  try {
    const index = `${srv.url}/adapters/index.json`;
    const worker = new Worker(new URL("./helpers/fatal-worker.js", import.meta.url));
    const w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, index, wasm: WASM, worker });
    const [want] = await w.embed(TEXT);
    srv.faults.set(SLOW[0], "slow");
    try {
      const loading = outcome(w.loadAdapter(`${srv.url}/adapters/seq_bn/`));
      await sleep(200);
      await assert.rejects(w._rpc("_kill", ["_overflow"]), exited("hook"));
      await wantExited("loadAdapter in flight", loading);
    } finally {
      srv.faults.delete(SLOW[0]);
    }
    await assert.rejects(w.embed(TEXT), exited("embed after"));
    await assert.rejects(w.classify(TEXT, { adapters: "seq_bn" }), exited("classify after"));
    w.dispose();
    const w2 = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, index });
    assert.deepEqual((await w2.embed(TEXT))[0], want);
    w2.dispose();
    await sleep(300);
  } finally {
    seen.stop();
  }
  assert.deepEqual([...seen], [], "escaped");
});

test("a worker thread that dies: calls in flight and later reject with code exited instead of hanging", async () => {
  const worker = new Worker(new URL("./helpers/fatal-worker.js", import.meta.url));
  const w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, worker });
  const gone = new Promise((r) => worker.once("exit", r));
  srv.faults.set(SLOW[0], "slow");
  try {
    const loading = outcome(w.loadAdapter(`${srv.url}/adapters/seq_bn/`));
    await sleep(200);
    worker.postMessage({ id: -1, op: "_throw", args: [] }); // an uncaught exception ends the thread
    await wantExited("loadAdapter in flight", loading);
  } finally {
    srv.faults.delete(SLOW[0]);
  }
  await gone;
  const hang = sleep(5000).then(() => "hung");
  for (const [what, p] of [["embed", w.embed(TEXT)], ["memory", w.memory()]]) {
    assert.equal(await Promise.race([p.then(() => "resolved", (e) => (exited(what)(e), "rejected")), hang]), "rejected", what);
  }
  w.dispose();
});
