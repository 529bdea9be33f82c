// Chromium: kernel threads (src/kernel-pool.js) on a cross-origin isolated page (the server sends
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp): a model
// on the page's main thread (which may not Atomics.wait: it polls) and in the Web Worker client
// (whose kernel workers are nested workers) at 2 threads give embeddings bit-identical to one
// thread, as does a WorkerModelPool of two (the batch split); without the headers the model runs
// one thread and says why (the pool still uses two workers). Needs /usr/bin/chromium,
// `npm ci` in js/, ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "../helpers/server.js";
import { goldenSentences, requireBuild, ROOT, TINY } from "../helpers/fixtures.js";
import { launchChromium } from "./page.js";

requireBuild();
const ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

let isolated, plain, ctx, closeBrowser;
const mounts = () => ({ "/pkg/": { dir: join(ROOT, "js") }, "/tiny/": { dir: join(TINY, "model"), manifest: true } });
const BLANK = "<!doctype html><title>threads</title>";

before(async () => {
  isolated = await startServer({ mounts: mounts(), pages: { "/blank.html": BLANK }, headers: ISOLATION });
  plain = await startServer({ mounts: mounts(), pages: { "/blank.html": BLANK } });
  ({ ctx, close: closeBrowser } = await launchChromium("adapterwasm-chromium-threads-"));
});

after(async () => {
  await closeBrowser?.();
  await isolated?.close();
  await plain?.close();
});

// run opens srv's blank page and loads the tiny model three ways, returning what each reports and
// the bytes of its embeddings of texts (hex): on the main thread with { threads: 2 } and every
// product split (setParallelMin(0)), and in Web Worker clients with { threads: 1 } and { threads: 2 }.
async function run(srv, texts) {
  const page = await ctx.newPage();
  const logs = [];
  page.on("pageerror", (e) => logs.push(String(e)));
  try {
    await page.goto(`${srv.url}/blank.html`);
    return await page.evaluate(async (texts) => {
      const hex = (vs) => vs.map((v) => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), (b) => b.toString(16).padStart(2, "0")).join(""));
      try {
        const { setParallelMin } = await import("/pkg/src/kernel-imports.js");
        const { AutoModelWithHeads } = await import("/pkg/src/index.js");
        const { WorkerModelWithHeads, WorkerModelPool } = await import("/pkg/src/worker-client.js");
        setParallelMin(0);
        const main = await AutoModelWithHeads.fromPretrained("/tiny/", { threads: 2, cache: false });
        const out = { isolated: self.crossOriginIsolated, main: { threads: main.threads, note: main.threadsNote, embed: hex(await main.embed(texts)), stats: main._rt.pool ? { ...main._rt.pool.stats } : null } };
        for (const threads of [1, 2]) {
          const w = await WorkerModelWithHeads.fromPretrained("/tiny/", { threads, cache: false });
          out[`worker${threads}`] = { threads: w.threads, note: w.threadsNote, embed: hex(await w.embed(texts)) };
          w.dispose();
        }
        // two instances, the batch split between them: the only way past one core without isolation
        const pool = await WorkerModelPool.fromPretrained("/tiny/", { instances: 2, cache: false });
        out.pool = { instances: pool.instances, threads: pool.threads, embed: hex(await pool.embed(texts)) };
        pool.dispose();
        return out;
      } catch (e) {
        return { error: String(e?.stack ?? e) };
      }
    }, texts);
  } finally {
    await page.close();
    assert.deepEqual(logs, []);
  }
}

test("cross-origin isolated: 2 threads on the main thread and in a Web Worker, bit-identical to 1", async () => {
  const r = await run(isolated, goldenSentences());
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.isolated, true);
  assert.equal(r.main.threads, 2, r.main.note ?? "");
  assert.ok(r.main.stats.jobs > 0 && r.main.stats.callerChunks < r.main.stats.chunks, `the kernel workers computed chunks: ${JSON.stringify(r.main.stats)}`);
  assert.equal(r.worker1.threads, 1);
  assert.equal(r.worker2.threads, 2, r.worker2.note ?? "");
  assert.deepEqual(r.main.embed, r.worker1.embed, "main thread, 2 threads vs a worker at 1");
  assert.deepEqual(r.worker2.embed, r.worker1.embed, "worker at 2 threads vs 1");
  assert.deepEqual(r.pool, { instances: 2, threads: 1, embed: r.worker1.embed }, "a pool of two Web Workers, the batch split");
});

test("not isolated: one thread, and threadsNote names the headers", async () => {
  const r = await run(plain, goldenSentences().slice(0, 3));
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.isolated, false);
  for (const k of ["main", "worker2"]) {
    assert.equal(r[k].threads, 1, k);
    assert.match(r[k].note, /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/, k);
  }
  assert.deepEqual(r.main.embed, r.worker1.embed.slice(0, 3));
  assert.deepEqual(r.pool, { instances: 2, threads: 1, embed: r.worker1.embed }, "a pool of two Web Workers without isolation");
});
