// node --test: RoBERTa, XLM-RoBERTa and DistilBERT bases (testdata/archs, tools/reference/make_archs.py)
// through the package, as a Hugging Face directory over HTTP and with their adapters loaded by URL.
// Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { maxAbsDiff, readJSON, requireBuild, ROOT } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, MemoryStore, Fuse, Stack } = await import("../src/node.js");

const ARCHS = join(ROOT, "testdata/archs");
const NAMES = ["roberta", "xlm-roberta", "distilbert"];
let srv;

before(async () => {
  const mounts = {};
  for (const a of NAMES) {
    mounts[`/${a}/`] = { dir: join(ARCHS, a, "model") };
    mounts[`/${a}-adapters/`] = { dir: join(ARCHS, a, "adapters") };
  }
  srv = await startServer({ mounts });
});
after(() => srv.close());

for (const arch of NAMES) {
  describe(arch, () => {
    const golden = (name) => readJSON(join(ARCHS, arch, "golden", `${name}.json`));
    const base = golden("base");
    // the texts the golden batch did not cut at its max_length (48)
    const idx = base.attention_mask.map((m, i) => (m[m.length - 1] === 0 ? i : -1)).filter((i) => i >= 0);
    const texts = idx.map((i) => base.sentences[i]);
    let model;
    before(async () => {
      model = await AutoModelWithHeads.fromPretrained(`${srv.url}/${arch}/`, { cache: new MemoryStore() });
      for (const a of ["seq_bn", "seq_bn_b", "lora", "fusion"]) await model.loadAdapter(`${srv.url}/${arch}-adapters/${a}/`);
    });
    after(() => model?.dispose());

    test("model type", () => {
      assert.equal(model.config.modelType, base.model_type);
    });

    test("classify equals the library's logits (seq_bn, Stack(lora,seq_bn), Fuse)", async () => {
      for (const [setup, file] of [
        ["seq_bn", "seq_bn"],
        [Stack("lora", "seq_bn"), "stack_lora_seq_bn"],
        [Fuse("seq_bn", "seq_bn_b"), "fuse_seq_bn_seq_bn_b"],
      ]) {
        const g = golden(file);
        const res = await model.classify(texts, { adapters: setup });
        res.forEach((r, k) => {
          const d = maxAbsDiff(r.logits, g.logits[idx[k]]);
          assert.ok(d <= 1e-4, `${setup} text ${idx[k]}: max|Δlogit| ${d}`);
        });
      }
    });
  });
}
