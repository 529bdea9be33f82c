// node --test: model.trainAdapter / saveAdapter in Node on the tiny model. Build first: ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { requireBuild, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, MemoryStore } = await import("../src/node.js");

let srv;
before(async () => {
  srv = await startServer({ mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true } } });
});
after(() => srv.close());

const examples = [];
for (let i = 0; i < 24; i++) {
  examples.push(i % 2 ? { text: "this is awful really awful", label: "neg" } : { text: "this is great really great", label: "pos" });
}

test("trainAdapter trains step by step with progress, leaves the adapter usable, saveAdapter returns its files", async () => {
  const model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore() });
  const seen = [];
  const dev = [examples[0], examples[1]];
  const info = await model.trainAdapter("toy", examples, { config: "seq_bn[reduction_factor=4]", epochs: 3, lr: 1e-2, batchSize: 8, dev, onProgress: (p) => seen.push(p) });
  assert.equal(info.name, "toy");
  assert.equal(info.headType, "classification");
  assert.deepEqual(info.labels, ["neg", "pos"]);
  assert.equal(seen.length, 9);
  assert.ok(seen.every((p, i) => p.status === "training" && p.step === i + 1 && p.steps === 9 && p.loss > 0));
  assert.equal(seen.at(-1).done, true);
  // each epoch's last step reports the dev accuracy; the toy task ends at 1
  assert.deepEqual(seen.map((p) => p.epochDone), [false, false, true, false, false, true, false, false, true]);
  assert.ok(seen.every((p) => (p.devAccuracy !== undefined) === p.epochDone));
  assert.equal(seen.at(-1).devAccuracy, 1);
  assert.ok(model.loadedAdapters.includes("toy"));
  model.activeAdapters = "toy";
  const [a, b] = await model.classify(["this is great really great", "this is awful really awful"]);
  assert.equal(a.label, "pos");
  assert.equal(b.label, "neg");
  const files = await model.saveAdapter("toy");
  assert.deepEqual(Object.keys(files).sort(), ["adapter_config.json", "head_config.json", "pytorch_adapter.bin", "pytorch_model_head.bin"]);
  assert.ok(files["pytorch_adapter.bin"] instanceof Uint8Array && files["pytorch_adapter.bin"].length > 1000);
  const cfg = JSON.parse(new TextDecoder().decode(files["adapter_config.json"]));
  assert.equal(cfg.version, "adapters.1.3.0");
  assert.equal(cfg.config.reduction_factor, 4);
  const st = await model.saveAdapter("toy", { format: "safetensors" });
  assert.ok(st["adapter.safetensors"] && st["model_head.safetensors"]);
  model.dispose();
});

test("trainAdapter gives the same adapter, byte for byte, with the SIMD kernels and with their plain-Go twins", async () => {
  const options = { config: "seq_bn[reduction_factor=4]", epochs: 3, lr: 1e-2, batchSize: 8 };
  const model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore() });
  assert.equal(model.kernels, "wasm-simd");
  await model.trainAdapter("toy", examples, options);
  const simd = await model.saveAdapter("toy");
  model.dispose();
  // the forward and backward kernels (GELU and LayerNorm backward included) in plain Go
  const out = execFileSync(process.execPath, [join(import.meta.dirname, "helpers/train-run.js")], {
    env: { ...process.env, ADAPTERWASM_KERNELS: "off" }, input: JSON.stringify({ examples, options }), maxBuffer: 1 << 26, encoding: "utf8", timeout: 300_000,
  });
  const plain = JSON.parse(out.trim().split("\n").at(-1));
  assert.equal(plain.kernels, "go");
  assert.deepEqual(Object.keys(plain.files).sort(), Object.keys(simd).sort());
  for (const [name, b64] of Object.entries(plain.files)) assert.ok(Buffer.from(b64, "base64").equals(Buffer.from(simd[name])), `${name} differs between the SIMD kernels and their twins`);
});

test("trainAdapter: an AbortSignal stops it between steps; bad arguments are typed errors", async () => {
  const model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore() });
  const ac = new AbortController();
  let steps = 0;
  await assert.rejects(
    model.trainAdapter("cut", examples, { epochs: 3, batchSize: 4, onProgress: () => ++steps === 2 && ac.abort(new Error("enough")), signal: ac.signal }),
    (e) => e instanceof AdapterwasmError && e.code === "aborted",
  );
  assert.equal(steps, 2);
  assert.ok(!model.loadedAdapters.includes("cut"));
  for (const [args, code] of [
    [["", examples], "invalid_argument"],
    [["x", "nope"], "invalid_argument"],
    [["x", []], "invalid_argument"],
    [["x", examples, { config: "prefix_tuning" }], "unsupported"],
    [["x", examples, { labels: ["pos"] }], "invalid_argument"],
    [["x", [{ text: 3, label: "a" }]], "invalid_argument"],
    [["x", examples, { dev: "nope" }], "invalid_argument"],
    [["x", examples, { dev: [{ text: "a", label: "maybe" }] }], "invalid_argument"],
  ]) {
    await assert.rejects(model.trainAdapter(...args), (e) => e instanceof AdapterwasmError && e.code === code, JSON.stringify(args).slice(0, 80));
  }
  await assert.rejects(model.saveAdapter("nope"), (e) => e.code === "not_found");
  // a head's labels are bounded (train.MaxLabels): 5,000 distinct labels, or one 300-byte label,
  // are refused at once with a message that says so
  const many = Array.from({ length: 5000 }, (_, i) => ({ text: "t", label: `l${i}` }));
  await assert.rejects(model.trainAdapter("x", many), (e) => e instanceof AdapterwasmError && e.code === "invalid_argument" && /5000 labels; a trained head may have at most 1024/.test(e.message));
  await assert.rejects(model.trainAdapter("x", [{ text: "a", label: "b" }, { text: "c", label: "d".repeat(300) }]), (e) => e.code === "invalid_argument" && /300 bytes long; at most 256/.test(e.message));
  // the model still trains after all that
  const info = await model.trainAdapter("again", examples, { epochs: 1, batchSize: 12 });
  assert.equal(info.name, "again");
  model.dispose();
});

test("WorkerModelWithHeads (a Node worker thread): trainAdapter with progress and abort, saveAdapter", async () => {
  const { WorkerModelWithHeads } = await import("adapterwasm/worker");
  const w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false });
  try {
    const seen = [];
    const info = await w.trainAdapter("toy", examples, { config: "lora", epochs: 2, lr: 1e-2, batchSize: 8, onProgress: (p) => seen.push(p) });
    assert.equal(info.name, "toy");
    assert.equal(seen.length, 6);
    assert.equal(seen.at(-1).done, true);
    await w.setActiveAdapters("toy");
    const [r] = await w.classify("this is great really great");
    assert.ok(r.label === "pos" || r.label === "neg");
    const files = await w.saveAdapter("toy", { format: "safetensors" });
    assert.ok(files["adapter.safetensors"] instanceof Uint8Array);
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      w.trainAdapter("cut", examples, { epochs: 5, batchSize: 2, onProgress: () => ++n === 3 && ac.abort(), signal: ac.signal }),
      (e) => e instanceof AdapterwasmError && e.code === "aborted",
    );
    assert.ok(n >= 3 && n < 60, `${n} steps`);
  } finally {
    w.dispose();
  }
});
