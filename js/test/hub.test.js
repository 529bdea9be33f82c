// node --test: hub ids (hub.js) against a mock hub on 127.0.0.1 (helpers/hub.js: an endpoint that
// redirects LFS files to a second host, its CDN, with the hub's headers and error codes) serving
// the real all-MiniLM-L6-v2 (f32, Hugging Face layout) and the real demo adapters. By id equals by
// URL; the commit is pinned; the token reaches the endpoint only; typed errors; and with the
// servers stopped, what was loaded loads again from the cache (FsStore). Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startHub } from "./helpers/hub.js";
import { startServer } from "./helpers/server.js";
import { HAVE_MINILM, MINILM, MINILM_ADAPTERS, requireBuild } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError } = await import("../src/node.js");
const { asHubId, isHubId } = await import("../src/hub.js");

const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const TEXTS = ["I love this movie", "Win a free cruise now, click here", "The parliament passed the budget"];
const isErr = (code, re) => (e) => {
  assert.ok(e instanceof AdapterwasmError, `not an AdapterwasmError: ${e}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

const dirs = [];
const tmp = (p = "adapterwasm-hub-") => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("isHubId: the forms of hub.IsID; an existing path is no id (Node)", () => {
  for (const id of ["bert-base-uncased", MODEL_ID, "AdapterHub/bert-base-uncased-pf-imdb", "a.b_c-d/e"]) assert.ok(isHubId(id), id);
  for (const s of ["", "a/b/c", "../x", "a/..b", "-x", "x/", "/x", "https://h/x", "a b", "x".repeat(97)]) assert.ok(!isHubId(s), s);
  const cwd = process.cwd();
  const d = tmp();
  mkdirSync(join(d, "owner", "model"), { recursive: true });
  process.chdir(d);
  try {
    assert.equal(asHubId("owner/model"), null);
    assert.equal(asHubId("owner/other"), "owner/other");
  } finally {
    process.chdir(cwd);
  }
});

describe("by id from a mock hub", { skip: !HAVE_MINILM && "no MiniLM (./build.sh test fetches it)" }, () => {
  let hub, srv, commit, byUrl;
  const adapterIds = { sentiment: "AdapterHub/minilm-sentiment", spam: "AdapterHub/minilm-spam" };
  before(async () => {
    hub = await startHub();
    // model.safetensors only: the hub's MiniLM has no manifest; extra files are served but not read.
    commit = hub.addDir(MODEL_ID, MINILM);
    for (const [n, id] of Object.entries(adapterIds)) hub.addDir(id, join(MINILM_ADAPTERS, n));
    srv = await startServer({ mounts: { "/minilm/": { dir: MINILM }, "/adapters/": { dir: MINILM_ADAPTERS } } });
    // The reference: the same files by directory URL, no cache.
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/minilm/`, { cache: false });
    try {
      byUrl = { embed: Array.from((await m.embed(TEXTS[0]))[0]), classify: {} };
      for (const n of Object.keys(adapterIds)) {
        const name = await m.loadAdapter(`${srv.url}/adapters/${n}/`);
        byUrl.classify[n] = await m.classify(TEXTS, { adapters: name });
      }
    } finally {
      m.dispose();
    }
  });
  after(async () => {
    await hub?.close();
    await srv?.close();
  });

  const cache = tmp();
  test("fromPretrained(id) and loadAdapter(id, {source: 'hf'}) equal the same files by URL, pinned at the commit", async () => {
    const before = hub.requests().length;
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache });
    try {
      assert.equal(m.revision, commit);
      assert.deepEqual(m.hub, { id: MODEL_ID, revision: "main", commit, endpoint: hub.endpoint, fromCache: false });
      assert.deepEqual(Array.from((await m.embed(TEXTS[0]))[0]), byUrl.embed);
      const name = await m.loadAdapter(adapterIds.sentiment, { source: "hf" });
      assert.equal(name, "sentiment"); // the name its adapter_config.json was saved under
      assert.deepEqual(await m.classify(TEXTS, { adapters: name }), byUrl.classify.sentiment);
      const info = m.adapterInfo(name);
      assert.equal(info.hub.id, adapterIds.sentiment);
      assert.match(info.hub.commit, /^[0-9a-f]{40}$/);
      assert.equal(await m.loadAdapter(adapterIds.sentiment, { source: "hf" }), name, "loaded once");
      // Only the first file of each repository is asked for at "main"; the rest at the commit.
      // The LFS file went to the CDN, with no token in sight.
      const reqs = hub.requests().slice(before);
      const atMain = reqs.filter((r) => r.path.includes("/resolve/main/")).map((r) => r.path);
      assert.deepEqual(atMain, [`/${MODEL_ID}/resolve/main/config.json`, `/${adapterIds.sentiment}/resolve/main/adapter_config.json`]);
      assert.ok(reqs.some((r) => r.path === `/${MODEL_ID}/resolve/${commit}/model.safetensors`));
      assert.ok(reqs.some((r) => r.host === "cdn"));
    } finally {
      m.dispose();
    }
  });

  test("a token goes to the endpoint's host only, never to the CDN it redirects to; gated without it: unauthorized", async () => {
    hub.addDir("org/gated-spam", join(MINILM_ADAPTERS, "spam"));
    hub.repos.get("org/gated-spam").gated = true;
    hub.token = "hf_secret";
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache, token: "hf_secret" });
    try {
      const before = hub.requests().length;
      const name = await m.loadAdapter("org/gated-spam", { source: "hf" });
      assert.deepEqual(await m.classify(TEXTS, { adapters: name }), byUrl.classify.spam);
      const reqs = hub.requests().slice(before);
      assert.ok(reqs.filter((r) => r.host === "endpoint").every((r) => r.auth === "Bearer hf_secret"));
      const cdn = reqs.filter((r) => r.host === "cdn");
      assert.ok(cdn.length > 0);
      assert.ok(cdn.every((r) => r.auth === ""), "the CDN saw the token");
      await assert.rejects(m.loadAdapter("org/gated-spam", { source: "hf", name: "x", token: "hf_wrong" }), isErr("unauthorized", /org\/gated-spam@main: adapter_config\.json: access denied .*\(HTTP 403\)/));
    } finally {
      m.dispose();
      hub.token = "";
    }
    const n = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache });
    try {
      await assert.rejects(n.loadAdapter("org/gated-spam", { source: "hf", name: "y" }), isErr("unauthorized", /\(HTTP 401\)/));
    } finally {
      n.dispose();
    }
  });

  test("typed errors: missing repo, revision, file; rate limited; bad ids and sources", async () => {
    const opts = { endpoint: hub.endpoint, cache: false };
    await assert.rejects(AutoModelWithHeads.fromPretrained("nobody/nothing", opts), isErr("not_found", /nobody\/nothing@main: config\.json: no such repository .*\(HTTP 401\)/));
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { ...opts, revision: "v9" }), isErr("not_found", /no such revision \(HTTP 404\)/));
    hub.addFiles("org/no-weights", { "config.json": readFileSync(join(MINILM, "config.json")), "tokenizer.json": readFileSync(join(MINILM, "tokenizer.json")) });
    await assert.rejects(AutoModelWithHeads.fromPretrained("org/no-weights", opts), isErr("missing_file", /model\.safetensors or pytorch_model\.bin: no such file/));
    hub.rateLimit = 7;
    try {
      await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, opts), (e) => isErr("rate_limited", /retry after 7 s \(HTTP 429\)/)(e) && e.retryAfter === 7);
    } finally {
      hub.rateLimit = 0;
    }
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { ...opts, revision: "../x" }), isErr("invalid_argument", /bad revision/));
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { ...opts, endpoint: "ftp://x" }), isErr("invalid_argument", /endpoint/));
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache });
    try {
      await assert.rejects(m.loadAdapter("a/b/c", { source: "hf" }), isErr("invalid_argument", /not a hub id/));
      await assert.rejects(m.loadAdapter("sentiment/imdb@ukp", { source: "ah" }), isErr("unsupported", /AdapterHub\//));
      await assert.rejects(m.loadAdapter(MODEL_ID, { source: "hf" }), isErr("missing_file", /adapter_config\.json/));
    } finally {
      m.dispose();
    }
  });

  test("HF_ENDPOINT names the endpoint when options do not; an old commit stays loadable after main moves", async () => {
    const old = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = hub.endpoint;
    try {
      const first = hub.repos.get(adapterIds.spam).refs.main;
      hub.addDir(adapterIds.spam, join(MINILM_ADAPTERS, "topic")); // main now holds another adapter
      const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { cache });
      try {
        assert.equal(m.hub.endpoint, hub.endpoint);
        const spam = await m.loadAdapter(adapterIds.spam, { source: "hf", revision: first });
        assert.equal(m.adapterInfo(spam).hub.commit, first);
        assert.deepEqual(await m.classify(TEXTS, { adapters: spam }), byUrl.classify.spam);
        const topic = await m.loadAdapter(adapterIds.spam, { source: "hf" });
        assert.notEqual(m.adapterInfo(topic).hub.commit, first);
        assert.equal(topic, "topic");
      } finally {
        m.dispose();
      }
    } finally {
      if (old === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = old;
    }
  });

  test("the worker client (Node thread) takes ids too: the base, then an adapter with {source: 'hf'}", async () => {
    const { WorkerModelWithHeads } = await import("../src/node-worker-client.js");
    const m = await WorkerModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache });
    try {
      assert.equal(m.revision, commit);
      assert.equal(m.hub.id, MODEL_ID);
      const name = await m.loadAdapter(adapterIds.sentiment, { source: "hf" });
      assert.deepEqual(await m.classify(TEXTS, { adapters: name }), byUrl.classify.sentiment);
    } finally {
      m.dispose();
    }
  });

  test("offline: with the servers stopped, the model and adapters loaded before load again from the cache", async () => {
    const endpoint = hub.endpoint;
    await hub.close();
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint, cache });
    try {
      assert.equal(m.revision, commit);
      assert.equal(m.hub.fromCache, true);
      assert.equal(m.stats.bytesFetched, 0);
      assert.deepEqual(Array.from((await m.embed(TEXTS[0]))[0]), byUrl.embed);
      const name = await m.loadAdapter(adapterIds.sentiment, { source: "hf" });
      assert.deepEqual(await m.classify(TEXTS, { adapters: name }), byUrl.classify.sentiment);
      await assert.rejects(m.loadAdapter("org/never-loaded", { source: "hf" }), isErr("network", /org\/never-loaded@main is not in the cache/));
    } finally {
      m.dispose();
    }
    // A fresh cache has nothing to offer.
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint, cache: tmp() }), isErr("network", /not in the cache/));
  });
});
