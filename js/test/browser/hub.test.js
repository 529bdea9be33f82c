// Chromium: hub ids against the mock hub (helpers/hub.js) on other origins than the page: the
// endpoint answers small files itself and redirects LFS files to its CDN (302, another origin),
// exposing X-Repo-Commit through CORS as huggingface.co does. By id equals by URL; a token reaches
// the endpoint only (the browser drops Authorization on the cross-origin redirect); with the hub
// stopped, after a reload, the base and adapter load again by id from the Cache API.
// Needs /usr/bin/chromium, `npm ci` in js/, ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startHub } from "../helpers/hub.js";
import { launchChromium, runOnBlank } from "./page.js";
import { startServer } from "../helpers/server.js";
import { requireBuild, ROOT, TINY } from "../helpers/fixtures.js";

requireBuild();
const TEXTS = ["I love this movie", "terrible, boring film"];

let srv, hub, page, commit, closeBrowser;
const logs = [];

const run = (f, arg) => runOnBlank(page, `${srv.url}/blank.html`, f, arg);

before(async () => {
  srv = await startServer({
    mounts: { "/pkg/": { dir: join(ROOT, "js"), cacheControl: "public, max-age=3600" }, "/hf/": { dir: join(TINY, "model") }, "/adapters/": { dir: join(TINY, "adapters") } },
    pages: { "/blank.html": "<!doctype html><meta charset=utf-8><title>hub</title>" },
  });
  hub = await startHub();
  commit = hub.addDir("org/tiny-bert", join(TINY, "model"));
  hub.addDir("AdapterHub/tiny-seq_bn", join(TINY, "adapters", "seq_bn"));
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-hub-", { logs }));
});

after(async () => {
  await closeBrowser?.();
  await srv?.close();
  await hub?.close().catch(() => {});
});

const byId = async (aw, { endpoint, texts, token }) => {
  const m = await aw.AutoModelWithHeads.fromPretrained("org/tiny-bert", { endpoint, token });
  const name = await m.loadAdapter("AdapterHub/tiny-seq_bn", { source: "hf" });
  const out = { revision: m.revision, fromCache: m.hub.fromCache, name, adapterCommit: m.adapterInfo(name).hub.commit, result: await m.classify(texts, { adapters: name }), fetched: m.stats.bytesFetched };
  m.dispose();
  return out;
};

test("by id from another origin equals by URL; pinned at the commit; the token stays on the endpoint", async () => {
  const want = await run(
    async (aw, { base, adapter, texts }) => {
      const m = await aw.AutoModelWithHeads.fromPretrained(base, { cache: false });
      const r = await m.classify(texts, { adapters: await m.loadAdapter(adapter) });
      m.dispose();
      return r;
    },
    { base: `${srv.url}/hf/`, adapter: `${srv.url}/adapters/seq_bn/`, texts: TEXTS },
  );
  assert.ok(Array.isArray(want), JSON.stringify(want));
  const got = await run(byId, { endpoint: hub.endpoint, texts: TEXTS });
  assert.equal(got.revision, commit, `${JSON.stringify(got)}\n${logs.join("\n")}`);
  assert.equal(got.fromCache, false);
  assert.deepEqual(got.result, want);
  assert.ok(hub.requests("cdn").length > 0, "the LFS files came from the CDN");
  // A gated copy with a token: the endpoint sees it, the CDN (another origin, reached by redirect) does not.
  hub.addDir("org/gated", join(TINY, "adapters", "seq_bn"));
  hub.repos.get("org/gated").gated = true;
  hub.token = "hf_secret";
  const n = hub.log.length;
  const gated = await run(
    async (aw, { endpoint, texts }) => {
      const m = await aw.AutoModelWithHeads.fromPretrained("org/tiny-bert", { endpoint, token: "hf_secret" });
      const r = await m.classify(texts, { adapters: await m.loadAdapter("org/gated", { source: "hf", name: "g" }) });
      const denied = await m.loadAdapter("org/gated", { source: "hf", name: "h", token: "" }).catch((e) => e.code);
      m.dispose();
      return { r, denied };
    },
    { endpoint: hub.endpoint, texts: TEXTS },
  );
  hub.token = "";
  assert.deepEqual(gated.r, want, JSON.stringify(gated));
  assert.equal(gated.denied, "unauthorized");
  const seen = hub.log.slice(n);
  assert.ok(seen.some((r) => r.host === "endpoint" && r.auth === "Bearer hf_secret"));
  assert.ok(seen.some((r) => r.host === "cdn"));
  assert.ok(seen.filter((r) => r.host === "cdn").every((r) => r.auth === ""), "the CDN saw the token");
});

test("offline: with the hub stopped, after a reload, the base and adapter load by id from the Cache API", async () => {
  const online = await run(byId, { endpoint: hub.endpoint, texts: TEXTS });
  assert.ok(online.result, JSON.stringify(online));
  const endpoint = hub.endpoint;
  await hub.close();
  const offline = await run(byId, { endpoint, texts: TEXTS });
  assert.equal(offline.fromCache, true, JSON.stringify(offline));
  assert.equal(offline.revision, commit);
  assert.equal(offline.fetched, 0);
  assert.deepEqual(offline.result, online.result);
  const never = await run((aw, endpoint) => aw.AutoModelWithHeads.fromPretrained("org/never", { endpoint }), endpoint);
  assert.equal(never.error, "network");
  assert.match(never.message, /not in the cache/);
});
