// node --test: MTL-LoRA task adapters under MultiTask, with a task per text (classify's taskIds,
// Python's task_ids), in-process, in the worker-thread client and in a pool of two, against the
// adapters library's logits (adapters/testdata/methods/mtl, tools/reference/make_methods.py mtl);
// hostile task ids reject with a code and leave the model working. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { goldenSentences, maxAbsDiff, readJSON, requireBuild, ROOT, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, MultiTask, Stack } = await import("../src/node.js");
const { WorkerModelWithHeads, WorkerModelPool } = await import("adapterwasm/worker");

const MTL = join(ROOT, "adapters", "testdata", "methods", "mtl");
const golden = (name) => readJSON(join(MTL, "golden", `${name}.json`));
const isErr = (code, re) => (e) => e instanceof AdapterwasmError && e.code === code && (!re || re.test(e.message));
// The 12th golden sentence is cut at the golden max_length 48, not at the model's 64.
const N = 11;

let srv;
before(async () => {
  srv = await startServer({ mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true }, "/mtl/": { dir: join(MTL, "adapters_st") } } });
});
after(() => srv.close());

// The pool splits a batch and its task ids between two instances (worker-pool.js).
for (const kind of ["in-process", "worker thread", "worker pool"]) {
  describe(`MultiTask (${kind})`, () => {
    let model;
    before(async () => {
      const Model = { "in-process": AutoModelWithHeads, "worker thread": WorkerModelWithHeads, "worker pool": WorkerModelPool }[kind];
      model = await Model.fromPretrained(`${srv.url}/tiny/`, { cache: false });
      for (const n of ["t1", "t2", "t3", "lx"]) assert.equal(await model.loadAdapter(`${srv.url}/mtl/${n}/`), n);
    });
    after(() => model?.dispose());

    test("task ids, task names and typed arrays give the library's logits", async () => {
      const texts = goldenSentences().slice(0, N);
      for (const c of ["multitask3_mixed", "multitask3_cycle", "multitask_lora_last", "stack_lora_multitask_mixed"]) {
        const g = golden(c);
        const ids = g.task_ids.slice(0, N);
        const setup = g.setup === "MultiTask(t1,t2,t3)" ? MultiTask("t1", "t2", "t3") : g.setup;
        const children = g.setup.startsWith("MultiTask(t1,lx)") ? ["t1", "lx"] : g.setup.includes("MultiTask(t2,t3)") ? ["t2", "t3"] : ["t1", "t2", "t3"];
        for (const taskIds of [ids, ids.map((i) => children[i]), Int32Array.from(ids)]) {
          const got = await model.classify(texts, { adapters: setup, head: g.head, taskIds });
          for (let i = 0; i < N; i++) {
            const d = maxAbsDiff(got[i].logits, g.logits[i]);
            assert.ok(d <= 1e-4, `${c} text ${i}: |d| ${d}`);
          }
        }
      }
      // Python's spelling, and the active setup and head
      model.activeAdapters = MultiTask("t1", "t2", "t3");
      model.activeHead = "t1";
      const g = golden("multitask3_zeros");
      const got = await model.classify(texts, { task_ids: new Array(N).fill(0) });
      assert.ok(maxAbsDiff(got[0].logits, g.logits[0]) <= 1e-4);
      model.activeHead = null;
    });

    test("hostile task ids reject with a code; the model keeps working", async () => {
      const texts = ["good", "bad"];
      const opts = { adapters: "MultiTask(t1,t2)", head: "t1" };
      for (const taskIds of [[0, 0.5], [0, NaN], [0, Infinity], [0], [0, 1, 1], [0, {}], [0, true], [0, null], [0, ""], "0,1", 3, [0, 1e300]]) {
        await assert.rejects(model.classify(texts, { ...opts, taskIds }), isErr("invalid_argument"), JSON.stringify(taskIds));
      }
      for (const taskIds of [[0, -1], [0, 2], [0, "t3"]]) {
        await assert.rejects(model.classify(texts, { ...opts, taskIds }), isErr("setup", /task/), JSON.stringify(taskIds));
      }
      await assert.rejects(model.classify(texts, opts), isErr("setup", /task id/));
      await assert.rejects(model.classify(texts, { adapters: "MultiTask(Fuse(t1,t2),t3)", taskIds: [0, 1] }), isErr("setup"));
      // ignored without a MultiTask, as the library ignores task_ids
      const plain = await model.classify(texts, { adapters: Stack("t1"), taskIds: [7, -7] });
      assert.equal(plain.length, 2);
      const ok = await model.classify(texts, { ...opts, taskIds: [1, 0] });
      const swapped = await model.classify(texts, { ...opts, taskIds: [0, 1] });
      assert.notDeepEqual(ok[0].logits, swapped[0].logits, "the task id changes the text's logits");
    });
  });
}
