// node --test: RoBERTa, XLM-RoBERTa and DistilBERT bases (testdata/archs, tools/reference/make_archs.py)
// through the package and its CLI: a Hugging Face directory over HTTP, converted in the Wasm module
// (f32: the library's logits within 1e-4; the default q8 and f16 within the Go tests' bounds relative
// to the largest logit), `npx adapterwasm convert` (bin/adapterwasm.js: the Go CLI's bytes, loaded as
// a prepared base, answering as the in-client conversion does), the Go CLI's classify, and MAD-X
// (a language adapter with an invertible adapter stacked under task adapters). Build first:
// ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { tempDirs } from "./helpers/assert.js";
import { startServer } from "./helpers/server.js";
import { cli, cliRun, maxAbsDiff, readJSON, requireBuild, ROOT } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, MemoryStore, Fuse, Stack } = await import("../src/node.js");

const ARCHS = join(ROOT, "testdata/archs");
const NAMES = ["roberta", "xlm-roberta", "distilbert"];
const BIN = join(ROOT, "js/bin/adapterwasm.js");
const ADAPTERS = ["seq_bn", "seq_bn_b", "lora", "fusion", "lang_inv", "lang_inv_b"];
// Bounds relative to the case's largest |logit| for a converted base (adapters/archs_test.go
// tolArchF16, tolArchQ8: at hidden 32 the converter keeps the linears f16 in both).
const REL = { f32: 0, f16: 5e-3, q8: 2e-2 };
const tmp = tempDirs("adapterwasm-archs-");
const npx = async (...args) => (await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 26, timeout: 300_000 })).stdout;

// The setups each architecture runs against the library's goldens (golden file, setup); MAD-X's
// language adapter lang_inv (seq_bn_inv: its coupling runs on the embeddings) under task adapters.
const CASES = [
  ["seq_bn", "seq_bn"],
  ["stack_lora_seq_bn", Stack("lora", "seq_bn")],
  ["fuse_seq_bn_seq_bn_b", Fuse("seq_bn", "seq_bn_b")],
  ["madx_stack_lang_inv_seq_bn", Stack("lang_inv", "seq_bn")],
  ["madx_stack_lang_inv_fuse", Stack("lang_inv", Fuse("seq_bn", "seq_bn_b"))],
  ["lang_inv_b", "lang_inv_b"],
];

let srv;
const converted = {}; // arch → dtype → directory written by npx adapterwasm convert
before(async () => {
  const mounts = {};
  for (const a of NAMES) {
    mounts[`/${a}/`] = { dir: join(ARCHS, a, "model") };
    mounts[`/${a}-adapters/`] = { dir: join(ARCHS, a, "adapters") };
    converted[a] = {};
    for (const dtype of ["q8", "f16"]) {
      const out = tmp();
      await npx("convert", "--in", join(ARCHS, a, "model"), "--out", out, "--dtype", dtype, "--quiet");
      converted[a][dtype] = out;
      mounts[`/${a}-${dtype}/`] = { dir: out };
    }
  }
  srv = await startServer({ mounts });
});
after(() => srv?.close());

for (const arch of NAMES) {
  describe(arch, () => {
    const golden = (name) => readJSON(join(ARCHS, arch, "golden", `${name}.json`));
    const base = golden("base");
    // the texts the golden batch did not cut at its max_length (48)
    const idx = base.attention_mask.map((m, i) => (m[m.length - 1] === 0 ? i : -1)).filter((i) => i >= 0);
    const texts = idx.map((i) => base.sentences[i]);
    const models = {};
    const load = async (m) => {
      for (const a of ADAPTERS) await m.loadAdapter(`${srv.url}/${arch}-adapters/${a}/`);
      return m;
    };
    before(async () => {
      models.f32 = await load(await AutoModelWithHeads.fromPretrained(`${srv.url}/${arch}/`, { cache: new MemoryStore(), dtype: "f32" }));
      models.q8 = await load(await AutoModelWithHeads.fromPretrained(`${srv.url}/${arch}/`, { cache: new MemoryStore() }));
      models.f16 = await load(await AutoModelWithHeads.fromPretrained(`${srv.url}/${arch}/`, { cache: new MemoryStore(), dtype: "f16" }));
      models.q8file = await load(await AutoModelWithHeads.fromPretrained(`${srv.url}/${arch}-q8/`, { cache: new MemoryStore() }));
    });
    after(() => Object.values(models).forEach((m) => m.dispose()));

    test("model type; a Hugging Face directory is converted in the client to q8 by default", () => {
      assert.equal(models.f32.config.modelType, base.model_type);
      assert.equal(models.q8.conversion.dtype, "q8");
      assert.equal(models.f32.conversion.dtype, "f32");
    });

    for (const dtype of ["f32", "f16", "q8"]) {
      test(`${dtype}: classify gives the library's logits (seq_bn, Stack(lora,seq_bn), Fuse, MAD-X Stack(lang_inv,task), double_seq_bn_inv)`, async () => {
        for (const [file, setup] of CASES) {
          const g = golden(file);
          const res = await models[dtype].classify(texts, { adapters: setup });
          const scale = Math.max(...idx.flatMap((i) => g.logits[i].map(Math.abs)));
          const bound = dtype === "f32" ? 1e-4 : REL[dtype] * scale;
          res.forEach((r, k) => {
            const d = maxAbsDiff(r.logits, g.logits[idx[k]]);
            assert.ok(d <= bound, `${dtype} ${setup} text ${idx[k]}: max|Δlogit| ${d} > ${bound}`);
          });
        }
      });
    }

    test("npx adapterwasm convert writes the Go CLI's bytes; the prepared q8 file answers as the in-client conversion", async () => {
      for (const dtype of ["q8", "f16"]) {
        const goOut = tmp();
        cliRun(["convert", "--in", join(ARCHS, arch, "model"), "--out", goOut, "--dtype", dtype, "--quiet"]);
        for (const f of ["adapterwasm.safetensors", "manifest.json"]) {
          assert.ok(readFileSync(join(converted[arch][dtype], f)).equals(readFileSync(join(goOut, f))), `${dtype} ${f} differs from the Go CLI's`);
        }
      }
      const setup = Stack("lang_inv", "seq_bn");
      const [a, b] = await Promise.all([models.q8.classify(texts, { adapters: setup }), models.q8file.classify(texts, { adapters: setup })]);
      a.forEach((r, k) => assert.deepEqual(r.logits, b[k].logits));
    });

    test("the Go CLI's classify (f32 directory, q8 file) answers as the package bit for bit, MAD-X setup included", () => {
      const dir = (a) => join(ARCHS, arch, "adapters", a);
      const args = ["--adapter", dir("lang_inv"), "--adapter", dir("seq_bn"), "--setup", "Stack(lang_inv,seq_bn)"];
      return (async () => {
        for (const [dtype, model] of [["f32", join(ARCHS, arch, "model")], ["q8", converted[arch].q8]]) {
          const got = cli(["classify", "--model", model, ...args], texts);
          const want = await models[dtype === "f32" ? "f32" : "q8file"].classify(texts, { adapters: Stack("lang_inv", "seq_bn") });
          got.forEach((r, k) => {
            assert.equal(r.label, want[k].label);
            // the package runs the SIMD kernels, the CLI their plain-Go twins: the same float32s
            // (the CLI prints each as the shortest decimal that reads back as it)
            assert.deepEqual(r.logits.map(Math.fround), want[k].logits, `${dtype} text ${k}: CLI vs package (max|Δlogit| ${maxAbsDiff(r.logits, want[k].logits)})`);
          });
        }
      })();
    });
  });
}

// MAD-X's cross-lingual demo (testdata/madx_demo, synthetic: tools/reference/make_madx_demo.py):
// the same task adapter under either language adapter classifies that language, through the
// package as in the library.
describe("MAD-X cross-lingual demo (XLM-R)", () => {
  const DEMO = join(ROOT, "testdata/madx_demo");
  const g = readJSON(join(DEMO, "golden/demo.json"));
  let srv2, model;
  before(async () => {
    srv2 = await startServer({ mounts: { "/base/": { dir: join(ARCHS, "xlm-roberta/model") }, "/a/": { dir: join(DEMO, "adapters") } } });
    model = await AutoModelWithHeads.fromPretrained(`${srv2.url}/base/`, { cache: new MemoryStore(), dtype: "f32" });
    for (const a of ["lang_l1", "lang_l2", "sentiment"]) await model.loadAdapter(`${srv2.url}/a/${a}/`);
  });
  after(async () => {
    model?.dispose();
    await srv2?.close();
  });

  test("switching the language adapter switches the language handled, as in the library", async () => {
    const acc = {};
    for (const [name, setup] of [["Stack(lang_l1,sentiment)", Stack("lang_l1", "sentiment")], ["Stack(lang_l2,sentiment)", Stack("lang_l2", "sentiment")]]) {
      const res = await model.classify(g.texts, { adapters: setup });
      acc[name] = { l1: 0, l2: 0 };
      res.forEach((r, i) => {
        const d = maxAbsDiff(r.logits, g.logits[name][i]);
        assert.ok(d <= 1e-4, `${name} text ${i}: max|Δlogit| ${d}`);
        if (r.label === g.label_names[g.labels[i]]) acc[name][g.languages[i]] += 1 / 60;
      });
      for (const l of ["l1", "l2"]) assert.ok(Math.abs(acc[name][l] - g.accuracy[name][l]) < 1e-9, `${name} ${l}: ${acc[name][l]} vs ${g.accuracy[name][l]}`);
    }
    assert.ok(acc["Stack(lang_l1,sentiment)"].l1 > 0.9 && acc["Stack(lang_l2,sentiment)"].l2 > 0.9);
    assert.ok(acc["Stack(lang_l1,sentiment)"].l2 < 0.75 && acc["Stack(lang_l2,sentiment)"].l1 < 0.75);
  });
});
