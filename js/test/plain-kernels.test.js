// node --test: the module with its plain-Go kernels (the Wasm SIMD kernel module switched off, as
// on a host that cannot load it) gives what the CLI gives, bit for bit, as the SIMD kernels do
// (node.test.js): the kernels' plain-Go twins are the same arithmetic.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { checkClassify, checkEmbeddings, cli, goldenSentences, HAVE_MINILM, MINILM_ADAPTERS, MINILM_BASE, MINILM_Q8, requireBuild } from "./helpers/fixtures.js";

requireBuild();
globalThis.ADAPTERWASM_KERNELS = "off"; // read by src/runtime.js when the instance starts
const { AutoModelWithHeads } = await import("../src/node.js");

let srv, m;
before(async () => {
  if (!HAVE_MINILM) return;
  srv = await startServer({ mounts: { "/minilm/": { dir: MINILM_BASE, manifest: !MINILM_Q8 }, "/a/": { dir: MINILM_ADAPTERS } } });
  m = await AutoModelWithHeads.fromPretrained(`${srv.url}/minilm/`, { cache: false });
});
after(async () => {
  m?.dispose();
  await srv?.close();
});

test("plain-Go kernels: MiniLM embeddings and the sentiment adapter equal the CLI's", { skip: !HAVE_MINILM && "no MiniLM" }, async () => {
  assert.equal(m.simd, false, "ADAPTERWASM_KERNELS=off: the plain-Go kernels");
  assert.equal(m.kernels, "go");
  const texts = goldenSentences();
  checkEmbeddings(await m.embed(texts, { normalize: true }), cli(["embed", "--model", MINILM_BASE, "--normalize"], texts));
  await m.loadAdapter(`${srv.url}/a/sentiment/`);
  const got = await m.classify(texts, { adapters: "sentiment" });
  checkClassify(got, cli(["classify", "--model", MINILM_BASE, "--adapter", join(MINILM_ADAPTERS, "sentiment")], texts));
});
