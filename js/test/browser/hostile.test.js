// Chromium: adapter integrity and caching (corrupt and cut downloads never cached, a corrupt
// Cache API entry dropped and refetched, an endless body abandoned), hostile adapter directories
// refused with the instance still working, and 100 concurrent mixed calls (issue 10).
// Needs /usr/bin/chromium, `npm ci` in js/, and ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startTinyServer } from "../helpers/server.js";
import { goldenSentences, requireBuild, ROOT } from "../helpers/fixtures.js";
import { endlessServer, HOSTILE_CASES, hostileDir } from "../helpers/hostile.js";
import { isCached, launchChromium, PAGE, runInPage } from "./page.js";

requireBuild();

let srv, page, closeBrowser;
const logs = [];
const FILE = "/adapters/seq_bn/pytorch_adapter.bin";
const texts = goldenSentences().slice(0, 4);

async function open() {
  srv.log.length = 0;
  const q = new URLSearchParams({ base: "/tiny/", index: "/adapters/index.json", setup: "seq_bn", texts: JSON.stringify(texts) });
  await page.goto(`${srv.url}/page.html?${q}`);
  await page.waitForFunction(() => window.__done, null, { timeout: 120_000, polling: 100 });
  const done = await page.evaluate(() => window.__done);
  assert.ok(done.ok, `page failed: ${done.error}\n${logs.join("\n")}`);
  return done;
}

const inPage = (f, arg) => runInPage(page, f, arg);
const cached = (path) => isCached(page, `${srv.url}${path}`);

before(async () => {
  srv = await startTinyServer({
    mounts: { "/pkg/": { dir: join(ROOT, "js"), cacheControl: "public, max-age=3600" }, "/hostile/": { dir: hostileDir() } },
    pages: { "/page.html": PAGE },
  });
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-", { logs }));
});

after(async () => {
  await closeBrowser?.();
  await srv?.close();
});

describe("adapters in Chromium: integrity, cache, hostile files, concurrency", () => {
  let first;
  test("cold load caches the adapter", async () => {
    first = (await open()).first;
    assert.ok(await cached(FILE));
  });

  test("a corrupt adapter Cache API entry is dropped and fetched again", async () => {
    await page.evaluate(async (url) => {
      const cache = await caches.open("adapterwasm-v1");
      const res = await cache.match(url);
      const bytes = new Uint8Array(await res.arrayBuffer());
      bytes[bytes.length >> 1] ^= 0xff;
      await cache.put(url, new Response(bytes, { headers: res.headers }));
    }, `${srv.url}${FILE}`);
    const again = await open();
    assert.ok(srv.log.some((e) => e.path === FILE && e.bytes > 0), "refetched");
    assert.deepEqual(again.first, first);
    await open();
    assert.ok(!srv.log.some((e) => e.path === FILE), "the good copy is cached again");
  });

  for (const [fault, codes, name] of [["corrupt", ["integrity"], "lora_qv"], ["truncate", ["network", "integrity"], "ia3"]]) {
    test(`a ${fault} adapter download is refused before use and never cached`, async () => {
      const path = `/adapters/${name}/pytorch_adapter.bin`;
      srv.faults.set(path, fault);
      let r;
      try {
        r = await inPage((m, aw, name) => m.classify("x", { adapters: name }), name);
      } finally {
        srv.faults.delete(path);
      }
      assert.ok(codes.includes(r.error), JSON.stringify(r));
      assert.equal(await cached(path), false);
      const ok = await inPage((m, aw, name) => m.classify("x", { adapters: name }), name);
      assert.ok(ok[0]?.label, JSON.stringify(ok));
      assert.equal(await cached(path), true);
    });
  }

  test("an endless adapter body is abandoned once past its promised size", async () => {
    const es = await endlessServer();
    try {
      // Another origin (it allows CORS): the page fetches it as it would a CDN.
      const r = await inPage(
        async (m, aw, url) => {
          const { fetchFile } = await import("/pkg/src/fetch.js");
          const store = new aw.CacheApiStore();
          try {
            await fetchFile(url, { size: 100000, sha256: "0".repeat(64), store });
            return { error: "none" };
          } catch (e) {
            return { error: e.code, message: e.message, cached: !!(await (await caches.open("adapterwasm-v1")).match(url)) };
          }
        },
        `${es.url}/x/adapter.safetensors`,
      );
      assert.equal(r.error, "integrity", JSON.stringify(r));
      assert.match(r.message, /more than the 100000 bytes promised/);
      assert.equal(r.cached, false);
      await new Promise((res) => setTimeout(res, 300));
      assert.ok(es.sent.bytes < 64 << 20, `server sent ${es.sent.bytes} bytes`);
    } finally {
      await es.close();
    }
  });

  test("hostile adapter directories are refused with code format; the instance keeps working", async () => {
    for (const [name, want] of HOSTILE_CASES) {
      // Under its own name: each is a spoilt copy of seq_bn, whose saved name is loaded already.
      const r = await inPage((m, aw, [url, name]) => m.loadAdapter(url, { name }), [`${srv.url}/hostile/${name}/`, name]);
      assert.equal(r.error, "format", `${name}: ${JSON.stringify(r)}`);
      assert.match(r.message, new RegExp(want), name);
      assert.deepEqual(await inPage((m, aw, t) => m.classify(t, { adapters: "seq_bn" }), texts), first, `after ${name}`);
    }
  });

  test("100 concurrent classify calls with mixed adapters equal sequential ones, while adapters load and unload", async () => {
    const out = await inPage(
      async (m, aw, texts) => {
        // Compared as JSON strings: equal results must be equal down to key order.
        const canon = (v) => JSON.stringify(v);
        const setups = ["seq_bn", "lora_qv", "prefix", "ia3", "Stack(lora_qv,seq_bn)", "Parallel(seq_bn,seq_bn_b)"];
        const seq = [];
        for (const s of setups) seq.push(canon(await m.classify(texts, { adapters: s })));
        const jobs = [];
        for (let k = 0; k < 100; k++) {
          const s = setups[k % setups.length];
          jobs.push(m.classify(texts, { adapters: s }).then((r) => ({ s, same: canon(r) === seq[k % setups.length] }), (e) => ({ s, code: e.code })));
          if (k % 10 === 5) {
            const victim = k % 20 === 5 ? "ia3" : "par_bn"; // one the calls use, one they do not
            jobs.push(m.loadAdapter(victim).then(() => m.unloadAdapter(victim)).then(() => null, (e) => ({ s: "churn " + victim, code: e.code })));
          }
        }
        return (await Promise.all(jobs)).filter(Boolean);
      },
      texts,
    );
    assert.ok(Array.isArray(out) && out.length >= 100, JSON.stringify(out).slice(0, 500));
    for (const r of out) {
      if (r.code !== undefined) {
        // Only a call whose adapter was unloaded under it may fail, and only cleanly.
        assert.ok(["setup", "not_found"].includes(r.code) && (r.s === "ia3" || r.s.startsWith("churn")), JSON.stringify(r));
      } else {
        assert.ok(r.same, `${r.s}: result differs from the sequential one`);
      }
    }
  });
});
