// node --test: a Hugging Face base is converted in the Wasm module on its first load (convert.js,
// wasm/engine Convert) and only the converted file is cached: the real all-MiniLM-L6-v2 from a
// mock hub (helpers/hub.js) and from a local path. The converted file is `adapterwasm convert`'s,
// byte for byte; the progress says downloading, converting, ready; a new process loads it again
// without fetching the weights and answers exactly as the prepared q8 file; a new commit or a
// changed file converts again; a file that fails is never cached. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";

import { isErrOf, tempDirs } from "./helpers/assert.js";
import { startHub } from "./helpers/hub.js";
import { startServer } from "./helpers/server.js";
import { cliRun, HAVE_MINILM, MINILM, MINILM_ADAPTERS, requireBuild, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, FsStore, MemoryStore } = await import("../src/node.js");
const { hubKey } = await import("../src/convert.js");

const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const TEXTS = ["I love this movie", "Win a free cruise now, click here", "The parliament passed the budget"];
const isErr = isErrOf(AdapterwasmError);
const tmp = tempDirs("adapterwasm-convert-");

// The statuses of a load in order, a file's repeated progress events once.
const sequence = (events) => events.map((e) => (e.file && e.status !== "converting" && e.status !== "converted" ? `${e.status}:${e.file}` : e.status)).filter((s, i, a) => s !== a[i - 1] && s !== "progress_total");

// inChild loads base in a new process (a fresh Go instance, nothing in memory) with the cache
// directory and returns what it answered and fetched.
const SCRIPT = `
const [base, opts, adapter] = JSON.parse(process.argv[1]);
const { AutoModelWithHeads } = await import(${JSON.stringify(new URL("../src/node.js", import.meta.url).href)});
const t0 = performance.now();
const statuses = [];
const m = await AutoModelWithHeads.fromPretrained(base, { ...opts, onProgress: (e) => statuses.push(e.status) });
const loadMs = performance.now() - t0;
const embed = Array.from((await m.embed(${JSON.stringify(TEXTS)}))[1]);
const name = await m.loadAdapter(adapter);
const classify = await m.classify(${JSON.stringify(TEXTS)}, { adapters: name });
console.log(JSON.stringify({ loadMs, embed, classify, statuses, conversion: m.conversion, fetched: m.stats.bytesFetched, fromCache: m.stats.bytesFromCache, memory: (await m.memory()).wasmMemoryBytes, name: m.config.name }));
m.dispose(); // and the process ends by itself (see helpers/threads-child.js: not process.exit)
`;
const inChild = async (base, opts, adapter) => JSON.parse((await promisify(execFile)(process.execPath, ["--input-type=module", "-e", SCRIPT, JSON.stringify([base, opts, adapter])], { maxBuffer: 1 << 26, timeout: 180_000 })).stdout);
const run = (cmd, args) => promisify(execFile)(cmd, args, { maxBuffer: 1 << 26, timeout: 300_000 });

describe("the real MiniLM converted in the client", { skip: !HAVE_MINILM && "no MiniLM (./build.sh test fetches it)" }, () => {
  let hub, srv, prepared, cliFile;
  const cache = tmp();
  before(async () => {
    hub = await startHub();
    hub.addDir(MODEL_ID, MINILM);
    // The prepared q8 file, as `adapterwasm convert` writes it from the same files (the name a
    // hub id gives), served with its manifest.
    const out = tmp();
    cliRun(["convert", "--in", MINILM, "--out", out, "--name", MODEL_ID]);
    cliFile = readFileSync(join(out, "adapterwasm.safetensors"));
    srv = await startServer({ mounts: { "/prepared/": { dir: out }, "/adapters/": { dir: MINILM_ADAPTERS } } });
  });
  after(async () => {
    await hub?.close();
    await srv?.close();
  });

  test("first visit by id: downloads, converts in Wasm (progress), caches only `adapterwasm convert`'s bytes; typed error on a bad dtype", async () => {
    await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache: tmp(), dtype: "q4" }), isErr("invalid_argument", /dtype "q4": want "q8", "f16" or "f32"/));
    const events = [];
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache, onProgress: (e) => events.push(e) });
    try {
      const seq = sequence(events).filter((s) => !s.endsWith("adapterwasm.wasm"));
      assert.deepEqual(seq.slice(-3), ["converting", "converted", "ready"], seq.join(" "));
      assert.ok(seq.indexOf("download:model.safetensors") < seq.indexOf("converting"), seq.join(" "));
      const conv = events.find((e) => e.status === "converted");
      assert.equal(conv.dtype, "q8");
      assert.equal(conv.sourceBytes, readFileSync(join(MINILM, "model.safetensors")).byteLength);
      assert.equal(conv.bytes, cliFile.byteLength);
      assert.equal(m.conversion.fromCache, false);
      assert.equal(m.config.name, MODEL_ID);
      const hit = await new FsStore(cache).get(hubKey(hub.endpoint, MODEL_ID, m.revision, "q8"));
      assert.ok(Buffer.from(hit.bytes).equals(cliFile), "the cached file is not adapterwasm convert's");
      // The source is not kept: the largest entry is the converted file (FsStore: a file per key).
      const sizes = readdirSync(cache).map((f) => statSync(join(cache, f)).size);
      assert.equal(Math.max(...sizes), cliFile.byteLength, String(sizes));
      console.log(`# MiniLM first visit by id: q8 conversion ${m.conversion.ms} ms; Wasm memory after ${(await m.memory()).wasmMemoryBytes / 2 ** 20} MiB`);
    } finally {
      m.dispose();
    }
  });

  test("second visit, new process: no weights fetched (1 request: config.json for the commit), the cached file loads; answers equal the prepared q8's exactly", async () => {
    const beforeReqs = hub.requests().length;
    const second = await inChild(MODEL_ID, { endpoint: hub.endpoint, cache }, `${srv.url}/adapters/sentiment/`);
    const reqs = hub.requests().slice(beforeReqs).map((r) => r.path);
    assert.deepEqual(reqs, [`/${MODEL_ID}/resolve/main/config.json`]);
    assert.equal(second.conversion.fromCache, true);
    assert.ok(!second.statuses.includes("converting"), second.statuses.join(" "));
    assert.equal(second.fromCache, cliFile.byteLength);
    const prep = await inChild(`${srv.url}/prepared/`, { cache: false }, `${srv.url}/adapters/sentiment/`);
    assert.deepEqual(second.embed, prep.embed);
    assert.deepEqual(second.classify, prep.classify);
    assert.equal(second.name, prep.name);
    // offline: not even the config
    const n = hub.requests().length;
    const off = await inChild(MODEL_ID, { endpoint: hub.endpoint, cache, offline: true }, `${srv.url}/adapters/sentiment/`);
    assert.equal(hub.requests().length, n);
    assert.deepEqual(off.classify, prep.classify);
    console.log(`# MiniLM second visit (new process): converted-in-client ${second.loadMs.toFixed(0)} ms, prepared q8 ${prep.loadMs.toFixed(0)} ms; Wasm memory ${second.memory / 2 ** 20} / ${prep.memory / 2 ** 20} MiB`);
  });

  test("q8Block 64: `adapterwasm convert --block 64`'s bytes, cached under its own key beside the default's; bad blocks are invalid_argument before any request", async () => {
    const n = hub.requests().length;
    for (const [opts, msg] of [
      [{ q8Block: 48 }, /q8Block "48": want 32, 64 or 128/],
      [{ q8Block: "64" }, /q8Block "64": want 32, 64 or 128/],
      [{ q8Block: 64, dtype: "f16" }, /q8Block with dtype f16/],
    ]) {
      await assert.rejects(AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache: tmp(), ...opts }), isErr("invalid_argument", msg));
    }
    assert.equal(hub.requests().length, n, "a request before the options were checked");
    const out = tmp();
    cliRun(["convert", "--in", MINILM, "--out", out, "--name", MODEL_ID, "--block", "64"]);
    const cli64 = readFileSync(join(out, "adapterwasm.safetensors"));
    assert.ok(!cli64.equals(cliFile), "blocks of 64 wrote the default's bytes");
    // npx adapterwasm convert --block 64 (the package's Wasm): the same bytes; a bad block is a usage error
    const BIN = new URL("../bin/adapterwasm.js", import.meta.url).pathname;
    const npxOut = tmp();
    await run(process.execPath, [BIN, "convert", "--in", MINILM, "--out", npxOut, "--name", MODEL_ID, "--block", "64", "--quiet"]);
    assert.ok(readFileSync(join(npxOut, "adapterwasm.safetensors")).equals(cli64), "npx adapterwasm convert --block 64 differs from the Go CLI's");
    await assert.rejects(run(process.execPath, [BIN, "convert", "--in", MINILM, "--out", tmp(), "--block", "48"]), (e) => e.code === 2 && /--block 48: want 32, 64 or 128/.test(e.stderr));
    const c = tmp();
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache: c, q8Block: 64 });
    try {
      assert.equal(m.conversion.fromCache, false);
      const store = new FsStore(c);
      const hit = await store.get(hubKey(hub.endpoint, MODEL_ID, m.revision, "q8b64"));
      assert.ok(Buffer.from(hit.bytes).equals(cli64), "the cached file is not `adapterwasm convert --block 64`'s");
      assert.equal(await store.get(hubKey(hub.endpoint, MODEL_ID, m.revision, "q8")), undefined);
    } finally {
      m.dispose();
    }
    // the default beside it converts anew into its own entry; q8Block 32 (the default) then reads it
    const def = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache: c });
    assert.equal(def.conversion.fromCache, false);
    def.dispose();
    const again = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache: c, q8Block: 32 });
    assert.equal(again.conversion.fromCache, true);
    again.dispose();
    assert.ok(Buffer.from((await new FsStore(c).get(hubKey(hub.endpoint, MODEL_ID, m.revision, "q8"))).bytes).equals(cliFile));
  });

  test("a new commit converts again; f16 is another entry", async () => {
    const commit2 = hub.addDir(MODEL_ID, MINILM); // the same files under a new commit
    const events = [];
    const m = await AutoModelWithHeads.fromPretrained(MODEL_ID, { endpoint: hub.endpoint, cache, onProgress: (e) => events.push(e.status) });
    assert.equal(m.revision, commit2);
    assert.ok(events.includes("converting"));
    m.dispose();
  });
});

describe("conversion's failures and keys (the tiny model)", () => {
  let srv, url;
  const dir = tmp();
  before(async () => {
    cpSync(join(TINY, "model"), dir, { recursive: true });
    rmSync(join(dir, "manifest.json"), { force: true });
    rmSync(join(dir, "adapterwasm.safetensors"), { force: true });
    // Served under its own directory name: the name the CLI gives a model without _name_or_path.
    srv = await startServer({ mounts: { [`/${basename(dir)}/`]: { dir } } });
    url = `${srv.url}/${basename(dir)}/`;
  });
  after(() => srv?.close());

  test("a URL base: converted once, then from the cache with no weights fetched; a changed file (its ETag) converts again; f16 and f32 are their own entries and equal the CLI's", async () => {
    const store = new MemoryStore();
    const load = async (o = {}) => {
      const st = [];
      const m = await AutoModelWithHeads.fromPretrained(url, { cache: store, onProgress: (e) => st.push(e.status), ...o });
      const r = { st, conversion: m.conversion, fetched: m.stats.bytesFetched, embed: Array.from((await m.embed("hello world"))[0]) };
      m.dispose();
      return r;
    };
    const a = await load();
    assert.ok(a.st.includes("converting"));
    const n = srv.log.length;
    const b = await load();
    assert.ok(!b.st.includes("converting"), b.st.join(" "));
    assert.equal(b.fetched, 0);
    assert.deepEqual(srv.log.slice(n).map((e) => `${e.method} ${e.path}`), [`GET /${basename(dir)}/manifest.json`, `HEAD /${basename(dir)}/model.safetensors`]);
    assert.deepEqual(b.embed, a.embed);
    // The CLI's bytes for each dtype (the name: the directory's, as for the CLI's --in hf).
    for (const dtype of ["f16", "f32", "q8"]) {
      const out = tmp();
      cliRun(["convert", "--in", dir, "--out", out, "--dtype", dtype]);
      const m = await AutoModelWithHeads.fromPretrained(url, { cache: store, dtype });
      m.dispose();
      const key = [...store.map.keys()].find((k) => k.includes(`adapterwasm-converted=${dtype}&`));
      assert.ok(Buffer.from(store.map.get(key).bytes).equals(readFileSync(join(out, "adapterwasm.safetensors"))), dtype);
    }
    // A changed weights file: a new ETag, so a new conversion.
    const w = readFileSync(join(dir, "model.safetensors"));
    const i = w.length - 8;
    w.writeFloatLE(w.readFloatLE(i) + 0.5, i);
    writeFileSync(join(dir, "model.safetensors"), w);
    const c = await load();
    assert.ok(c.st.includes("converting"), c.st.join(" "));
    assert.notEqual(c.conversion.sha256, a.conversion.sha256);
  });

  test("the library's instance has no file system: buildIndex (the npm command's) is unsupported there", async () => {
    const m = await AutoModelWithHeads.fromPretrained(url, { cache: new MemoryStore() });
    try {
      await assert.rejects(m._rt.call(m._rt.api, "buildIndex", ".", [TINY]), isErr("unsupported", /no file system/));
    } finally {
      m.dispose();
    }
  });

  test("weights that do not parse: a typed error, nothing cached; the honest file then converts", async () => {
    const bad = tmp();
    cpSync(dir, bad, { recursive: true });
    const good = readFileSync(join(bad, "model.safetensors"));
    writeFileSync(join(bad, "model.safetensors"), good.subarray(0, good.length - 100));
    const s2 = await startServer({ mounts: { "/hf/": { dir: bad } } });
    try {
      const store = new MemoryStore();
      await assert.rejects(AutoModelWithHeads.fromPretrained(`${s2.url}/hf/`, { cache: store }), isErr("format", /model\.safetensors/));
      assert.deepEqual([...store.map.keys()].filter((k) => k.includes("converted")), []);
      copyFileSync(join(dir, "model.safetensors"), join(bad, "model.safetensors"));
      (await AutoModelWithHeads.fromPretrained(`${s2.url}/hf/`, { cache: store })).dispose();
      assert.equal([...store.map.keys()].filter((k) => k.includes("converted=q8&")).length, 1);
    } finally {
      await s2.close();
    }
  });
});
