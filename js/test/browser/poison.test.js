// Chromium: a server that once lies about a file nothing vouches for (no sha256: a base without
// manifest, an adapter directory URL) must not poison the Cache API. A cut copy (a short body with
// a matching Content-Length) or a flipped bit is refused and never cached; after a page reload,
// with the same Cache API, the load succeeds and caches the good copy. A bad entry already in the
// cache is dropped when its load fails. Needs /usr/bin/chromium, `npm ci` in js/, ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { startServer } from "../helpers/server.js";
import { requireBuild, ROOT, TINY } from "../helpers/fixtures.js";
import { isCached, launchChromium, PAGE, runInPage } from "./page.js";

requireBuild();

let srv, page, closeBrowser;
const logs = [];

// open loads the page (a base model and one embedding) and returns window.__done.
async function open(base) {
  srv.log.length = 0;
  await page.goto(`${srv.url}/page.html?${new URLSearchParams({ base })}`);
  await page.waitForFunction(() => window.__done, null, { timeout: 120_000, polling: 100 });
  return page.evaluate(() => window.__done);
}

const inPage = (f, arg) => runInPage(page, f, arg);
const cached = (path) => isCached(page, `${srv.url}${path}`);
// clearCache empties the package's Cache API (each test starts from a cold cache).
async function clearCache() {
  await page.goto(`${srv.url}/pkg/package.json`); // on the origin, where its caches are
  await page.evaluate(() => caches.delete("adapterwasm-v1"));
}
const fetched = (path) => srv.log.some((e) => e.path === path && e.bytes > 0);
// A base without manifest is converted in the page and only its converted file is cached, keyed
// by the weights' ETag (the test server's: the body's sha256 prefix) and the dtype.
const ETAG = `"${createHash("sha256").update(readFileSync(join(TINY, "model", "model.safetensors"))).digest("hex").slice(0, 16)}"`;
const CONVERTED = `/hf/model.safetensors?adapterwasm-converted=q8&source=${encodeURIComponent(ETAG)}`;
const baseCached = () => cached(CONVERTED);

before(async () => {
  srv = await startServer({
    mounts: {
      "/pkg/": { dir: join(ROOT, "js"), cacheControl: "public, max-age=3600" },
      "/tiny/": { dir: join(TINY, "model"), manifest: true },
      "/hf/": { dir: join(TINY, "model") },
      "/adapters/": { dir: join(TINY, "adapters") },
    },
    pages: { "/page.html": PAGE },
  });
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-poison-", { logs }));
});

after(async () => {
  await closeBrowser?.();
  await srv?.close();
});

for (const [path, fault] of [["/hf/model.safetensors", "short"], ["/hf/config.json", "short"]]) {
  test(`base without manifest, ${fault} ${path}: refused and not cached; after a reload it loads and is cached`, async () => {
    await clearCache();
    srv.faults.set(path, fault);
    let bad;
    try {
      bad = await open("/hf/");
    } finally {
      srv.faults.delete(path);
    }
    assert.equal(bad.ok, false, "loaded a lie");
    assert.equal(bad.code, "format", JSON.stringify(bad));
    assert.equal(await cached(path), false, "the lie was cached");
    assert.equal(await baseCached(), false, "a conversion of the lie was cached");
    const good = await open("/hf/");
    assert.ok(good.ok, `${good.error}\n${logs.join("\n")}`);
    assert.equal(await cached(path), false, "the source was cached");
    assert.equal(await baseCached(), true);
    srv.log.length = 0;
    const again = await open("/hf/");
    assert.ok(again.ok && !fetched(path), "read from the cache");
    assert.deepEqual(again.first, good.first);
  });
}

for (const [name, file, fault] of [["seq_bn", "pytorch_adapter.bin", "corrupt"], ["lora_qv", "pytorch_adapter.bin", "short"], ["par_bn", "adapter_config.json", "short"]]) {
  test(`adapter directory URL, ${fault} ${name}/${file}: refused and not cached; after a reload it loads and is cached`, async () => {
    const path = `/adapters/${name}/${file}`;
    const dirUrl = `${srv.url}/adapters/${name}/`;
    await clearCache();
    assert.ok((await open("/tiny/")).ok);
    srv.faults.set(path, fault);
    let r;
    try {
      r = await inPage((m, aw, url) => m.loadAdapter(url), dirUrl);
    } finally {
      srv.faults.delete(path);
    }
    assert.equal(r.error, "format", JSON.stringify(r));
    assert.equal(await cached(path), false, "the lie was cached");
    assert.ok((await open("/tiny/")).ok);
    const want = await inPage(async (m, aw, url) => m.classify("I love this movie", { adapters: await m.loadAdapter(url) }), dirUrl);
    assert.ok(want[0]?.label, JSON.stringify(want));
    assert.equal(await cached(path), true);
    assert.ok((await open("/tiny/")).ok);
    const again = await inPage(async (m, aw, url) => m.classify("I love this movie", { adapters: await m.loadAdapter(url) }), dirUrl);
    assert.ok(!fetched(path), "read from the cache");
    assert.deepEqual(again, want);
  });
}

test("a bad Cache API entry is dropped: an unverified adapter file when its load fails (then fetched afresh); a converted base at once, by its sha256 (then converted again)", async () => {
  const put = (url) =>
    page.evaluate(async (url) => {
      const cache = await caches.open("adapterwasm-v1");
      const bytes = new Uint8Array(await (await cache.match(url)).arrayBuffer());
      await cache.put(url, new Response(bytes.slice(0, bytes.length >> 1))); // as a version that cached by length left it
    }, url);
  const path = "/adapters/seq_bn/pytorch_adapter.bin";
  const load = async () => {
    assert.ok((await open("/tiny/")).ok);
    return inPage(async (m, aw, url) => m.classify("I love this movie", { adapters: await m.loadAdapter(url) }), `${srv.url}/adapters/seq_bn/`);
  };
  await clearCache();
  const want = await load();
  await put(`${srv.url}${path}`);
  const bad = await load();
  assert.equal(bad.error, "format", JSON.stringify(bad));
  assert.equal(await cached(path), false, "the bad entry was kept");
  srv.log.length = 0;
  assert.deepEqual(await load(), want);
  assert.ok(fetched(path));
  assert.equal(await cached(path), true);

  assert.ok((await open("/hf/")).ok);
  const first = (await open("/hf/")).first;
  await put(`${srv.url}${CONVERTED}`);
  srv.log.length = 0;
  const again = await open("/hf/");
  assert.ok(again.ok && fetched("/hf/model.safetensors"), JSON.stringify(again).slice(0, 300));
  assert.deepEqual(again.first, first);
  assert.equal(await baseCached(), true);
});
