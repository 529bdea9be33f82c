// node --test: a server that once lies about a file nothing vouches for (no sha256: an adapter
// directory URL, a base without manifest) must not poison the cache. The file is cached only
// after Go has accepted it, so a cut copy (a short body with a Content-Length that matches it), a
// cut download or a flipped bit is refused and never kept: the next load, by a new model or a new
// process reading the same cache directory, succeeds. A bad entry already in the cache is
// dropped when the load it feeds fails. A base without manifest is converted in the Wasm module
// and only the converted file is cached (convert.js): for it, the entry watched is that file's.
// Build first: ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { startServer } from "./helpers/server.js";
import { requireBuild, ROOT, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, FsStore } = await import("../src/node.js");

let srv;
const dirs = [];
before(async () => {
  srv = await startServer({
    mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true }, "/hf/": { dir: join(TINY, "model") }, "/adapters/": { dir: join(TINY, "adapters") } },
  });
});
after(async () => {
  await srv.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const cacheDir = () => {
  const d = mkdtempSync(join(tmpdir(), "adapterwasm-poison-"));
  dirs.push(d);
  return d;
};
const TEXT = "I love this movie";

// cachedKey is the cache key of what a lie about path must not poison: the file itself, or for a
// base without manifest its converted file (keyed by the weights' ETag: the test server's is the
// sha256 prefix of the body).
function cachedKey(what, path) {
  if (!what.base) return `${srv.url}${path}`;
  const etag = `"${createHash("sha256").update(readFileSync(join(TINY, "model", "model.safetensors"))).digest("hex").slice(0, 16)}"`;
  return `${srv.url}${what.base}model.safetensors?adapterwasm-converted=q8&source=${encodeURIComponent(etag)}`;
}

// load loads what a case needs with the cache in dir, in this process, and answers what the next
// process must answer too: the embedding's first values, or the adapter's label and logits.
async function load(what, dir) {
  if (what.base) {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}${what.base}`, { cache: dir });
    try {
      return { embed: Array.from((await m.embed(TEXT))[0].slice(0, 8)), baseVerified: m.baseVerified };
    } finally {
      m.dispose();
    }
  }
  const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: dir });
  try {
    const name = await m.loadAdapter(`${srv.url}${what.adapter}`);
    const [r] = await m.classify(TEXT, { adapters: name });
    return { label: r.label, logits: r.logits };
  } finally {
    m.dispose();
  }
}

// loadInChild does the same in a new Node process, and says how many bytes of the file it read
// from the cache and from the network.
async function loadInChild(what, dir, path) {
  const script = `
    const { AutoModelWithHeads } = await import(${JSON.stringify(join(ROOT, "js/src/node.js"))});
    const [what, dir, url] = JSON.parse(process.argv[1]);
    const TEXT = ${JSON.stringify(TEXT)};
    let out, m;
    if (what.base) {
      m = await AutoModelWithHeads.fromPretrained(url + what.base, { cache: dir });
      out = { embed: Array.from((await m.embed(TEXT))[0].slice(0, 8)), baseVerified: m.baseVerified };
    } else {
      m = await AutoModelWithHeads.fromPretrained(url + "/tiny/", { cache: dir });
      const [r] = await m.classify(TEXT, { adapters: await m.loadAdapter(url + what.adapter) });
      out = { label: r.label, logits: r.logits };
    }
    out.files = m.stats.files;
    console.log(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, JSON.stringify([what, dir, srv.url])], { timeout: 180_000 });
  const out = JSON.parse(stdout);
  const file = out.files.filter((f) => f.url === cachedKey(what, path));
  delete out.files;
  return { out, file };
}

const CASES = [
  // [what is loaded, the file that lies, how, the codes a lie may be refused with]
  [{ base: "/hf/" }, "/hf/model.safetensors", "short", ["format"]],
  [{ base: "/hf/" }, "/hf/model.safetensors", "truncate", ["network"]],
  [{ base: "/hf/" }, "/hf/config.json", "short", ["format"]],
  [{ adapter: "/adapters/seq_bn/" }, "/adapters/seq_bn/pytorch_adapter.bin", "short", ["format"]],
  [{ adapter: "/adapters/seq_bn/" }, "/adapters/seq_bn/pytorch_adapter.bin", "corrupt", ["format"]],
  [{ adapter: "/adapters/lora_qv/" }, "/adapters/lora_qv/head_config.json", "short", ["format"]],
];

for (const [what, path, fault, codes] of CASES) {
  test(`${fault} ${path}: refused, never cached; the next load (new model, new process, same cache) succeeds`, async () => {
    const dir = cacheDir();
    const url = cachedKey(what, path);
    srv.faults.set(path, fault);
    try {
      await assert.rejects(load(what, dir), (e) => {
        assert.ok(e instanceof AdapterwasmError && codes.includes(e.code), `${e.name} ${e.code}: ${e.message}`);
        return true;
      });
    } finally {
      srv.faults.delete(path);
    }
    assert.equal(await new FsStore(dir).get(url), undefined, "the lie was cached");
    const want = await load(what, dir);
    if (what.base) assert.equal(want.baseVerified, false);
    const cached = await new FsStore(dir).get(url);
    assert.ok(cached, "the good copy is cached once Go accepted it");
    const { out, file } = await loadInChild(what, dir, path);
    assert.deepEqual(out, want);
    assert.deepEqual(file.map((f) => f.fromCache), [true], "the new process read the file from the cache");
  });
}

test("a bad unverified entry already in the cache is dropped when its load fails; the next load fetches it afresh", async () => {
  for (const [what, path] of [[{ base: "/hf/" }, "/hf/model.safetensors"], [{ adapter: "/adapters/seq_bn/" }, "/adapters/seq_bn/pytorch_adapter.bin"]]) {
    const dir = cacheDir();
    const url = cachedKey(what, path);
    const want = await load(what, dir);
    const store = new FsStore(dir);
    const good = (await store.get(url)).bytes;
    await store.put(url, good.slice(0, good.byteLength >> 1)); // as a version that cached by length left it
    if (what.base) {
      // A converted file is kept with its sha256: a bad entry is seen before Go, dropped, and
      // the base converted again.
      assert.deepEqual(await load(what, dir), want);
    } else {
      await assert.rejects(load(what, dir), (e) => e instanceof AdapterwasmError && e.code === "format");
      assert.equal(await store.get(url), undefined, `${path}: the bad entry was kept`);
      assert.deepEqual(await load(what, dir), want);
    }
    assert.deepEqual((await store.get(url)).bytes, good);
  }
});
