// Chromium: model.trainAdapter / saveAdapter in a page, on the main thread and in the Web Worker
// client: progress for every step, the adapter usable at once, its files, an abort. Needs
// /usr/bin/chromium, `npm ci` in js/, ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "../helpers/server.js";
import { requireBuild, ROOT, TINY } from "../helpers/fixtures.js";
import { launchChromium } from "./page.js";

requireBuild();

let srv, page, closeBrowser;
const pageErrors = [];

before(async () => {
  srv = await startServer({
    mounts: { "/pkg/": { dir: join(ROOT, "js") }, "/tiny/": { dir: join(TINY, "model"), manifest: true } },
    pages: { "/blank.html": `<!doctype html><title>train</title>` },
  });
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-train-", { logs: pageErrors, console: false }));
});

after(async () => {
  await closeBrowser?.();
  await srv?.close();
});

for (const mode of ["main", "worker"]) {
  test(`${mode === "main" ? "main thread" : "Web Worker client"}: trainAdapter, classify, saveAdapter, abort`, async () => {
    await page.goto(`${srv.url}/blank.html`);
    const r = await page.evaluate(async (mode) => {
      const mod = await import(mode === "worker" ? "/pkg/src/worker-client.js" : "/pkg/src/index.js");
      const Model = mode === "worker" ? mod.WorkerModelWithHeads : mod.AutoModelWithHeads;
      const model = await Model.fromPretrained("/tiny/", { cache: false });
      const examples = [];
      for (let i = 0; i < 24; i++) examples.push(i % 2 ? { text: "this is awful really awful", label: "neg" } : { text: "this is great really great", label: "pos" });
      const progress = [];
      const info = await model.trainAdapter("toy", examples, { config: "seq_bn[reduction_factor=4]", epochs: 3, lr: 1e-2, batchSize: 8, onProgress: (p) => progress.push(p) });
      if (mode === "worker") await model.setActiveAdapters("toy");
      else model.activeAdapters = "toy";
      const res = await model.classify(["this is great really great", "this is awful really awful"]);
      const files = await model.saveAdapter("toy");
      const ac = new AbortController();
      let n = 0;
      let code = null;
      try {
        await model.trainAdapter("cut", examples, { epochs: 5, batchSize: 2, signal: ac.signal, onProgress: () => ++n === 3 && ac.abort() });
      } catch (e) {
        code = e.code;
      }
      model.dispose();
      return { info, steps: progress.length, done: progress.at(-1)?.done, labels: res.map((x) => x.label), files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.length])), code, n };
    }, mode);
    assert.equal(r.info.name, "toy");
    assert.equal(r.steps, 9);
    assert.equal(r.done, true);
    assert.deepEqual(r.labels, ["pos", "neg"]);
    assert.deepEqual(Object.keys(r.files).sort(), ["adapter_config.json", "head_config.json", "pytorch_adapter.bin", "pytorch_model_head.bin"]);
    assert.ok(r.files["pytorch_adapter.bin"] > 1000);
    assert.equal(r.code, "aborted");
    assert.ok(r.n >= 3 && r.n < 60, `${r.n} steps before the abort took`);
    assert.deepEqual(pageErrors, []);
  });
}
