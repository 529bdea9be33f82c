// node --test: hub ids (hub.js) against a mock hub on 127.0.0.1 (helpers/hub.js: an endpoint that
// redirects LFS files to a second host, its CDN, with the hub's headers and error codes) serving
// the real all-MiniLM-L6-v2 (f32, Hugging Face layout) and the real demo adapters. By id equals by
// URL; the commit is pinned; the token reaches the endpoint only; typed errors; and with the
// servers stopped, what was loaded loads again from the cache (FsStore). Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { isErrOf, tempDirs } from "./helpers/assert.js";
import { startHub } from "./helpers/hub.js";
import { startServer } from "./helpers/server.js";
import { HAVE_MINILM, MINILM, MINILM_ADAPTERS, ROOT, requireBuild } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, listAdapters } = await import("../src/node.js");
const { asHubId, isHubId } = await import("../src/hub.js");
const { listingCache } = await import("../src/listing.js");

const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const TEXTS = ["I love this movie", "Win a free cruise now, click here", "The parliament passed the budget"];
const isErr = isErrOf(AdapterwasmError);
const tmp = tempDirs("adapterwasm-hub-");

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
    // An answer without X-Repo-Commit is refused, not taken as a reason to use the cached copy.
    hub.noCommit = true;
    try {
      await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache }), isErr("network", /no X-Repo-Commit header/));
    } finally {
      hub.noCommit = false;
    }
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
      await assert.rejects(m.loadAdapter("sentiment/imdb@ukp", { source: "xx" }), isErr("invalid_argument", /want "hf", "ah"/));
      await assert.rejects(m.loadAdapter(MODEL_ID, { source: "hf" }), isErr("missing_file", /adapter_config\.json/));
    } finally {
      m.dispose();
    }
  });

  // AdapterHub ids: testdata/hub/ah's index files and cases (tools/reference/make_ah_cases.py: the
  // adapters library's pull_from_hub on those files). MiniLM's cases load the demo adapters the
  // mock hub serves under the repos they resolve to; the bert-base-uncased cases resolve to repos
  // the mock hub lacks, so the load fails naming the repo the library names, or fails as it does.
  test("loadAdapter(id, {source: 'ah'}) resolves AdapterHub ids as the adapters library does, then loads the AdapterHub/… repo", async () => {
    const ah = join(ROOT, "testdata", "hub", "ah");
    const { cases } = JSON.parse(readFileSync(join(ah, "cases.json"), "utf8"));
    for (const model of ["bert-base-uncased", MODEL_ID]) hub.ahFiles[`index/${model}.json`] = readFileSync(join(ah, "index", `${model}.json`));
    hub.addDir("AdapterHub/minilm_sentiment_demo_pfeiffer", join(MINILM_ADAPTERS, "sentiment"));
    hub.addDir("AdapterHub/minilm_spam_demo_pfeiffer", join(MINILM_ADAPTERS, "spam"));
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache, adapterHubUrl: hub.ahURL });
    try {
      let loaded = 0;
      for (const c of cases) {
        const opts = { source: "ah", config: c.adapter_config ?? undefined, strict: c.strict, name: `case${loaded}` };
        if (c.model_name !== MODEL_ID) opts.modelName = c.model_name; // MiniLM's: the base's own id
        const what = `${JSON.stringify(c.identifier)} (${c.model_name}, ${c.adapter_config}, strict ${c.strict})`;
        if (c.repo_id && c.model_name === MODEL_ID) {
          const name = await m.loadAdapter(c.identifier, opts);
          assert.equal(m.adapterInfo(name).hub.id, c.repo_id, what);
          const want = c.repo_id.includes("spam") ? byUrl.classify.spam : byUrl.classify.sentiment;
          assert.deepEqual(await m.classify(TEXTS, { adapters: name }), want, what);
          await m.unloadAdapter(name);
          loaded++;
        } else if (c.repo_id) {
          const re = new RegExp(`hub: ${c.repo_id.replace(/[.]/g, "\\.")}@main: adapter_config\\.json: no such repository`);
          await assert.rejects(m.loadAdapter(c.identifier, opts), isErr("not_found", re), what);
        } else {
          const code = /ultiple/.test(c.message) ? "invalid_argument" : "not_found";
          await assert.rejects(m.loadAdapter(c.identifier, opts), isErr(code, /adapterhub: /), `${what}: the library raises ${c.error}: ${c.message}`);
        }
      }
      assert.equal(loaded, cases.filter((c) => c.repo_id && c.model_name === MODEL_ID).length);
      // The index is read once per base model (kept as listings are), and not for "@org/file".
      const indexReads = hub.requests("ah").filter((r) => r.path.includes("/index/"));
      assert.deepEqual(indexReads.map((r) => r.path).sort(), [`/Adapter-Hub/Hub/master/dist/v2/index/bert-base-uncased.json`, `/Adapter-Hub/Hub/master/dist/v2/index/${MODEL_ID}.json`]);
      await assert.rejects(m.loadAdapter("sentiment/demo", { source: "ah", modelName: "no-index-model" }), isErr("not_found", /AdapterHub index of no-index-model/));
      await assert.rejects(m.loadAdapter("sentiment/demo", { source: "ah", modelName: "../x" }), isErr("invalid_argument", /modelName/));
      await assert.rejects(m.loadAdapter("sentiment/demo", { source: "ah", config: "no_such_config" }), isErr("invalid_argument", /unknown adapter config/));
      await assert.rejects(m.loadAdapter("", { source: "ah" }), isErr("invalid_argument", /AdapterHub identifier/));
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

  test("pipeline() takes a base id and, with source: 'hf', an adapter id", async () => {
    const { pipeline } = await import("../src/node.js");
    const classifier = await pipeline("text-classification", MODEL_ID, { endpoint: hub.endpoint, cache, adapter: adapterIds.sentiment, source: "hf" });
    try {
      assert.deepEqual(await classifier(TEXTS), byUrl.classify.sentiment.map((r) => ({ label: r.label, score: r.score })));
      assert.equal(classifier.model.revision, commit);
    } finally {
      classifier.dispose();
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

  test("Node: local paths (absolute, relative) and file: URLs load directly, and are not copied into the cache (the base's converted file is)", async () => {
    const { pathToFileURL } = await import("node:url");
    const { readdirSync } = await import("node:fs");
    const { relative } = await import("node:path");
    const local = tmp();
    const m = await AutoModelWithHeads.fromPretrained(MINILM, { cache: local });
    try {
      assert.equal(m.revision, null);
      assert.deepEqual(Array.from((await m.embed(TEXTS[0]))[0]), byUrl.embed);
      const a = await m.loadAdapter(join(MINILM_ADAPTERS, "sentiment"));
      assert.deepEqual(await m.classify(TEXTS, { adapters: a }), byUrl.classify.sentiment);
      const b = await m.loadAdapter(pathToFileURL(join(MINILM_ADAPTERS, "spam")).href);
      assert.deepEqual(await m.classify(TEXTS, { adapters: b }), byUrl.classify.spam);
      const c = await m.loadAdapter(`./${relative(process.cwd(), join(MINILM_ADAPTERS, "topic"))}`);
      assert.equal(c, "topic");
      await assert.rejects(m.loadAdapter(pathToFileURL(join(MINILM_ADAPTERS, "nothing-here")).href), isErr("not_found", /no adapter_config\.json/));
      await assert.rejects(m.loadAdapter(join(MINILM_ADAPTERS, "nothing-here")), isErr("invalid_argument")); // no such path: not a URL either
    } finally {
      m.dispose();
    }
    // Only the converted base (its file, sha256 and the key's record): no source file, no adapter.
    const { statSync } = await import("node:fs");
    const sizes = readdirSync(local).map((f) => statSync(join(local, f)).size).sort((a, b) => b - a);
    assert.equal(sizes.length, 3, String(sizes));
    assert.ok(sizes[0] < 30e6, String(sizes));
  });

  test("offline: with the servers stopped, the model and adapters loaded before load again from the cache", async () => {
    const { endpoint, ahURL } = hub;
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
      // An AdapterHub id loaded before (the "ah" test): its index from the store, as in a new
      // process (the listings kept in memory are cleared), and its repo from the cache.
      listingCache.clear();
      const ahName = await m.loadAdapter("sentiment/demo", { source: "ah", adapterHubUrl: ahURL, name: "ah-offline" });
      assert.equal(m.adapterInfo(ahName).hub.id, "AdapterHub/minilm_sentiment_demo_pfeiffer");
      assert.deepEqual(await m.classify(TEXTS, { adapters: ahName }), byUrl.classify.sentiment);
    } finally {
      m.dispose();
    }
    // A fresh cache has nothing to offer.
    const stillUp = await startHub();
    try {
      // HF_HUB_OFFLINE (or options.offline): the cache answers and the hub is never asked.
      stillUp.addDir(MODEL_ID, MINILM);
      (await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: stillUp.endpoint, cache })).dispose();
      const asked = stillUp.requests().length;
      process.env.HF_HUB_OFFLINE = "1";
      const o = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: stillUp.endpoint, cache });
      o.dispose();
      assert.equal(o.hub.fromCache, true);
      assert.equal(stillUp.requests().length, asked);
      (await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: stillUp.endpoint, cache, offline: false })).dispose();
      assert.equal(stillUp.requests().length, asked + 1, "offline: false overrides HF_HUB_OFFLINE (config.json at main)");
      delete process.env.HF_HUB_OFFLINE;
      await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: stillUp.endpoint, cache: tmp(), offline: true }), isErr("network", /offline .*not in the cache/));
      assert.equal(stillUp.requests().length, asked + 1);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
      await stillUp.close();
    }
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint, cache: tmp() }), isErr("network", /not in the cache/));
  });
});

// Listings: the shapes of the hub's model API (paged by Link, two filters) and AdapterHub's all.json
// as Go's hub.Lister reads them (hub/list.go), merged as list_adapters merges them.
describe("listAdapters from the hub and AdapterHub", () => {
  let hub, srv;
  const tiny = (id) => ({ [`${id}.json`]: Buffer.from("{}") });
  before(async () => {
    hub = await startHub();
    const add = (id, tags, config, extra = {}) => {
      hub.addFiles(id, tiny(id.replace("/", "_")));
      hub.repos.get(id).info = { tags, config, ...extra };
    };
    add("AdapterHub/bert-base-uncased-pf-imdb", ["adapter-transformers"], { adapter_transformers: { model_name: "bert-base-uncased" } }, { pipeline_tag: "text-classification" });
    add("AdapterHub/roberta-base-pf-sst2", ["adapter-transformers"], { adapter_transformers: { model_name: "roberta-base" } });
    add("org/new-lib-adapter", ["adapters"], { adapters: { model_name: "bert-base-uncased" } });
    add("org/both-tags", ["adapters", "adapter-transformers"], { adapters: { model_name: "bert-base-uncased" } });
    add("org/no-config", ["adapters"], null);
    add("sentence-transformers/all-MiniLM-L6-v2", ["sentence-transformers"], { architectures: ["BertModel"] });
    hub.ahList = [
      { source: "ah", adapter_id: "sentiment/imdb@ukp", model_name: "bert-base-uncased", task: "sentiment", subtask: "imdb", username: "ukp", adapter_config: { mh_adapter: false, output_adapter: true, reduction_factor: 16 }, sha1_checksum: "ab12" },
      { adapter_id: "ner/conll@ukp", model_name: "roberta-base", task: "ner", subtask: "conll", username: "ukp", adapter_config: { architecture: "lora", r: 8 } },
    ];
    const entry = (id, model_name, model_type) => ({ name: id, id, model_name, model_type, files: [{ name: "adapter_config.json", size: 10 }] });
    srv = await startServer({
      mounts: {},
      pages: {
        "/index.json": { body: { adapters: [{ name: "sentiment", id: "sentiment", model_name: "sentence-transformers/all-MiniLM-L6-v2", task: "sentiment", files: [{ name: "adapter_config.json", size: 10 }] }] } },
        "/archs.json": { body: { adapters: [entry("minilm", "sentence-transformers/all-MiniLM-L6-v2", "bert"), entry("bart", "facebook/bart-base", "bart"), entry("xlmr", "FacebookAI/xlm-roberta-base"), entry("odd", "org/encoder")] } },
      },
    });
  });
  after(async () => {
    await hub?.close();
    await srv?.close();
  });
  const opts = () => ({ endpoint: hub.endpoint, adapterHubUrl: hub.ahURL });

  test("hf: both libraries' filters, every page (Link), an id once, the model name from either config", async () => {
    const before = hub.requests("endpoint").length;
    const got = await listAdapters({ ...opts(), source: "hf" });
    assert.deepEqual(
      got.map((a) => [a.id, a.modelName, a.source]),
      [
        ["org/both-tags", "bert-base-uncased", "hf"],
        ["org/new-lib-adapter", "bert-base-uncased", "hf"],
        ["org/no-config", "", "hf"],
        ["AdapterHub/bert-base-uncased-pf-imdb", "bert-base-uncased", "hf"],
        ["AdapterHub/roberta-base-pf-sst2", "roberta-base", "hf"],
      ],
    );
    const imdb = got.find((a) => a.id === "AdapterHub/bert-base-uncased-pf-imdb");
    assert.equal(imdb.username, "AdapterHub");
    assert.equal(imdb.pipelineTag, "text-classification");
    assert.equal(imdb.sha1Checksum, hub.repos.get(imdb.id).refs.main);
    const reqs = hub.requests("endpoint").slice(before);
    assert.ok(reqs.length >= 4, `paged: ${reqs.length} requests`); // 3 + 2 entries at 2 a page
    // Cached: the same listing again asks nothing.
    await listAdapters({ ...opts(), source: "hf" });
    assert.equal(hub.requests("endpoint").length, before + reqs.length);
  });

  test("ah: all.json with the method from the config; default: ah then hf; modelName exactly", async () => {
    const ah = await listAdapters({ ...opts(), source: "ah" });
    assert.deepEqual(
      ah.map((a) => [a.source, a.id, a.modelName, a.task, a.subtask, a.username, a.method]),
      [
        ["ah", "sentiment/imdb@ukp", "bert-base-uncased", "sentiment", "imdb", "ukp", "bottleneck"],
        ["ah", "ner/conll@ukp", "roberta-base", "ner", "conll", "ukp", "lora"],
      ],
    );
    assert.equal(ah[0].sha1Checksum, "ab12");
    assert.equal(ah[0].adapterConfig.reduction_factor, 16);
    const all = await listAdapters({ ...opts() });
    assert.deepEqual(all.map((a) => a.source), ["ah", "ah", "hf", "hf", "hf", "hf", "hf"]);
    const bert = await listAdapters({ ...opts(), modelName: "bert-base-uncased" });
    assert.deepEqual(bert.map((a) => a.id), ["sentiment/imdb@ukp", "org/both-tags", "org/new-lib-adapter", "AdapterHub/bert-base-uncased-pf-imdb"]);
    assert.deepEqual(await listAdapters({ ...opts(), modelName: "bert-base" }), []);
  });

  test("an index alone by default; \"all\" puts its entries first; \"index\" needs one", async () => {
    const index = `${srv.url}/index.json`;
    const only = await listAdapters({ ...opts(), index });
    assert.deepEqual(only.map((a) => [a.source, a.id, a.name]), [["index", "sentiment", "sentiment"]]);
    const all = await listAdapters({ ...opts(), index, source: "all" });
    assert.deepEqual(all.map((a) => a.source), ["index", "ah", "ah", "hf", "hf", "hf", "hf", "hf"]);
    await assert.rejects(listAdapters({ source: "index" }), isErr("invalid_argument", /needs \{ index \}/));
    await assert.rejects(listAdapters({ source: "xx" }), isErr("invalid_argument", /want "hf", "ah", "index" or "all"/));
  });

  test("runnable: only architectures the runtime runs, by an index entry's model_type, else by the model name", async () => {
    const { modelTypeOfName, RUNNABLE_MODEL_TYPES } = await import("../src/listing.js");
    assert.deepEqual(RUNNABLE_MODEL_TYPES, ["bert", "roberta", "xlm-roberta", "distilbert"]);
    for (const [name, t] of [["bert-base-uncased", "bert"], ["FacebookAI/roberta-base", "roberta"], ["distilroberta-base", "roberta"], ["xlm-roberta-large", "xlm-roberta"], ["distilbert-base-uncased", "distilbert"], ["albert-base-v2", ""], ["bertweet-base", ""], ["gpt2", ""], [undefined, ""]]) {
      assert.equal(modelTypeOfName(name), t, name);
    }
    const index = `${srv.url}/archs.json`;
    const all = await listAdapters({ ...opts(), index, source: "all" });
    assert.equal(all.length, 11);
    assert.equal(all[0].modelType, "bert");
    const got = await listAdapters({ ...opts(), index, source: "all", runnable: true });
    assert.deepEqual(
      got.map((a) => a.id),
      ["minilm", "xlmr", "sentiment/imdb@ukp", "ner/conll@ukp", "org/both-tags", "org/new-lib-adapter", "AdapterHub/bert-base-uncased-pf-imdb", "AdapterHub/roberta-base-pf-sst2"],
    );
    const roberta = await listAdapters({ ...opts(), source: "ah", runnable: true, modelName: "roberta-base" });
    assert.deepEqual(roberta.map((a) => a.id), ["ner/conll@ukp"]);
  });

  test("errors: rate limited, not JSON lists; with the source down a cached listing serves, a stale one too", async () => {
    const { listingCache } = await import("../src/listing.js");
    const other = await startHub();
    try {
      other.rateLimit = 3;
      await assert.rejects(listAdapters({ endpoint: other.endpoint, source: "hf" }), isErr("rate_limited", /hf listing: rate limited, retry after 3 s \(HTTP 429\)/));
      other.rateLimit = 0;
      other.ahList = { not: "a list" };
      await assert.rejects(listAdapters({ adapterHubUrl: other.ahURL, source: "ah" }), isErr("format", /not a JSON list of adapters/));
    } finally {
      await other.close();
    }
    const { parseModels, parseAllJSON } = await import("../src/listing.js");
    for (const body of [{}, [1], [{ id: 5 }], [{ id: "a", config: "x" }], [{ id: "a", config: { adapters: { model_name: [] } } }]]) {
      assert.throws(() => parseModels(body), isErr("format", /not a JSON list of models/), JSON.stringify(body));
    }
    assert.throws(() => parseAllJSON([{ adapter_id: {} }]), isErr("format"));
    assert.deepEqual(parseModels([{ modelId: "x/y" }, { sha: "no id" }]).map((a) => a.id), ["x/y"]);
    // The listings fetched above serve with the servers stopped: fresh ones from memory, and once
    // their 10 minutes are over, as the older copy when the source cannot be reached.
    await hub.close();
    assert.equal((await listAdapters({ ...opts(), source: "ah" })).length, 2);
    for (const v of listingCache.values()) v.at = 0;
    assert.equal((await listAdapters({ ...opts() })).length, 7);
    listingCache.clear();
    await assert.rejects(listAdapters({ ...opts(), source: "ah" }), isErr("network"));
  });
});
