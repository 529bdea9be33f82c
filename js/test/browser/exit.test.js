// Chromium: when the Go instance dies (a Go fatal error; the engine's Wasm stack overflowing under
// Go's frames), every call in flight and later on both models sharing it rejects with code
// "exited", no unhandled rejection or uncaught error reaches the page, and the next
// fromPretrained starts a fresh instance. The deaths are real: test hooks of a module built with
// -tags adapterwasm_fataltest (helpers/fataltest.js). Needs /usr/bin/chromium, `npm ci` in js/,
// ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";

import { startServer } from "../helpers/server.js";
import { requireBuild, ROOT, TINY, tinyIndex } from "../helpers/fixtures.js";
import { fatalWasmPath } from "../helpers/fataltest.js";
import { launchChromium } from "./page.js";

requireBuild();

let srv, page, closeBrowser;
const pageErrors = [];
const SLOW = ["/adapters/seq_bn/adapter_config.json", "/adapters/lora_qv/pytorch_adapter.bin"];

before(async () => {
  srv = await startServer({
    mounts: {
      "/pkg/": { dir: join(ROOT, "js") },
      "/fatal/": { dir: dirname(fatalWasmPath()) },
      "/tiny/": { dir: join(TINY, "model"), manifest: true },
      "/adapters/": { dir: join(TINY, "adapters") },
    },
    pages: {
      // Records unhandled rejections where the test can read them.
      "/blank.html": `<!doctype html><script>window.__escaped = []; addEventListener("unhandledrejection", (e) => __escaped.push(String(e.reason?.stack ?? e.reason)));</script>`,
      "/adapters/index.json": { body: tinyIndex() },
    },
  });
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-exit-", { logs: pageErrors, console: false }));
});

after(async () => {
  await closeBrowser?.();
  await srv?.close();
});

for (const hook of ["_fatal", "_overflow"]) {
  test(`${hook} in the page: calls in flight and later on both models reject with code exited, nothing escapes, a new model works`, async () => {
    await page.goto(`${srv.url}/blank.html`);
    for (const p of SLOW) srv.faults.set(p, "slow");
    let r;
    try {
      r = await page.evaluate(async (hook) => {
        const aw = await import("/pkg/src/index.js");
        const code = (p) => p.then((v) => `resolved ${typeof v}`, (e) => (e instanceof aw.AdapterwasmError ? e.code : `${e?.name}: ${e?.message}`));
        const opts = { cache: false, index: "/adapters/index.json", wasm: "/fatal/adapterwasm.wasm" };
        const m1 = await aw.AutoModelWithHeads.fromPretrained("/tiny/", opts);
        const m2 = await aw.AutoModelWithHeads.fromPretrained("/tiny/", opts);
        const want = Array.from((await m1.embed("I love this movie"))[0]);
        const pending = [code(m2.loadAdapter("/adapters/seq_bn/")), code(m1.classify("x", { adapters: "lora_qv" }))];
        await new Promise((res) => setTimeout(res, 200));
        pending.push(code(m1._rt.call(m1._rt.api, hook)), code(m1.embed("x")), code(m2.tokenize("x")));
        const inFlight = await Promise.all(pending);
        const later = await Promise.all([code(m1.embed("x")), code(m2.classify("x", { adapters: "seq_bn" })), code(m1.loadAdapter("/adapters/par_bn/"))]);
        m1.dispose();
        m2.dispose();
        const m3 = await aw.AutoModelWithHeads.fromPretrained("/tiny/", { cache: false });
        const again = Array.from((await m3.embed("I love this movie"))[0]);
        await new Promise((res) => setTimeout(res, 300));
        return { shared: m1._rt === m2._rt, fresh: m3._rt !== m1._rt, inFlight, later, same: JSON.stringify(again) === JSON.stringify(want), escaped: window.__escaped };
      }, hook);
    } finally {
      for (const p of SLOW) srv.faults.delete(p);
    }
    assert.ok(r.shared, "one instance");
    assert.deepEqual(r.inFlight, Array(5).fill("exited"), "calls in flight");
    assert.deepEqual(r.later, Array(3).fill("exited"), "later calls");
    assert.ok(r.fresh && r.same, "a new model on a fresh instance");
    assert.deepEqual(r.escaped, [], "unhandled rejections");
    assert.deepEqual(pageErrors, [], "uncaught errors");
  });
}
