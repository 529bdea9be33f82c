// node --test: sizes and silences from the network are not trusted (issue 14 part 4). JSON
// documents are bounded after decompression; every declared size (manifest, index, Content-Length)
// is checked against its limit before anything is fetched, allocated or cached; buffers grow as
// bytes arrive, so a lying size costs little; an adapter's files are bounded by Go's
// engine.MaxAdapterBytes before download; a server that never answers fails the load after the
// timeout, and an AbortSignal aborts it. Build first: ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { requireBuild, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError, MemoryStore, listAdapters } = await import("../src/node.js");
const { WorkerModelWithHeads } = await import("../src/node-worker-client.js");

const tiny = (f) => readFileSync(join(TINY, "model", f));
const sha = (b) => createHash("sha256").update(b).digest("hex");
const ADAPTER = join(TINY, "adapters/seq_bn");
const MAX_ADAPTER = 256 << 20; // engine.MaxAdapterBytes
// A manifest.json that inflates from ~16 KB of gzip to 16 MiB (past the 8 MiB bound on JSON).
const BOMB = gzipSync(Buffer.concat([Buffer.from('{"files":[{"name":"config.json"}],"pad":"'), Buffer.alloc(16 << 20, 97), Buffer.from('"}')]), { level: 9 });

// The liar: every path under it says something untrue or nothing at all. sent[path] counts the
// body bytes it wrote.
let srv;
const sent = {};
before(async () => {
  const files = (name, sizeOf) => ["config.json", "tokenizer.json", "model.safetensors"].map((n) => ({ name: n, size: sizeOf(n), sha256: sha(tiny(n)) }));
  const server = createServer((req, res) => {
    const p = new URL(req.url, "http://x").pathname;
    const send = (body, headers = {}) => {
      sent[p] = (sent[p] ?? 0) + body.length;
      res.writeHead(200, { "content-length": body.length, ...headers });
      res.end(body);
    };
    // Writes n zero bytes, with a Content-Length unless chunked, as fast as the client reads.
    const stream = (n, chunked) => {
      res.writeHead(200, chunked ? {} : { "content-length": n });
      const chunk = Buffer.alloc(1 << 20);
      sent[p] = 0;
      const pump = () => {
        while (sent[p] < n && !res.destroyed) {
          sent[p] += chunk.length;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        if (sent[p] >= n) res.end();
      };
      pump();
    };
    if (p === "/bomb/manifest.json") return send(BOMB, { "content-type": "application/json", "content-encoding": "gzip" });
    if (p === "/bomb/index.json") return send(BOMB, { "content-type": "application/json", "content-encoding": "gzip" });
    if (p === "/hugecl/config.json") return res.socket.end("HTTP/1.1 200 OK\r\ncontent-length: 10000000000000000\r\n\r\n{}");
    if (p === "/liesize/manifest.json") return send(Buffer.from(JSON.stringify({ files: files("", (n) => (n === "model.safetensors" ? 1.5 * 2 ** 30 : tiny(n).length)) })));
    if (p === "/hugesize/manifest.json") return send(Buffer.from(JSON.stringify({ files: files("", (n) => (n === "model.safetensors" ? 1e16 : tiny(n).length)) })));
    if (/^\/(liesize|hugesize|tiny)\/[a-z_.]+$/.test(p)) {
      const name = p.split("/").pop();
      try {
        return send(tiny(name));
      } catch {
        res.writeHead(404);
        return res.end();
      }
    }
    // Adapter directories whose weights are 300 MiB: with a Content-Length, and chunked.
    const big = /^\/(bigcl|bigchunked)\/(.*)$/.exec(p);
    if (big) {
      if (big[2] === "adapter_config.json") return send(readFileSync(join(ADAPTER, "adapter_config.json")));
      if (big[2] === "pytorch_adapter.bin") return stream(300 << 20, big[1] === "bigchunked");
      res.writeHead(404);
      return res.end();
    }
    if (p === "/bigindex/index.json") {
      const f = (name, size) => ({ name, size, sha256: "0".repeat(64) });
      return send(Buffer.from(JSON.stringify({ adapters: [{ name: "big", url: "big/", files: [f("adapter_config.json", 900), f("pytorch_adapter.bin", 300 << 20)] }] })));
    }
    if (p.startsWith("/bigindex/big/")) return send(Buffer.alloc(10));
    if (p.startsWith("/silent/")) return; // never answers
    if (p.startsWith("/stall/")) {
      res.writeHead(200, { "content-length": 1000 });
      return res.write(Buffer.alloc(10)); // then nothing, connection open
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  srv = { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
});
after(() => srv.close());

const isErr = (code, re) => (e) => {
  assert.ok(e instanceof AdapterwasmError && e.code === code, `${e?.name} ${e?.code}: ${e?.message}`);
  if (re) assert.match(e.message, re);
  return true;
};

describe("bounded JSON", () => {
  test("a gzip manifest.json that inflates past 8 MiB is abandoned (code format)", async () => {
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/bomb/`, { cache: false }), isErr("format", /manifest\.json: more than the limit of 8388608 bytes/));
  });
  test("a gzip index.json that inflates past 8 MiB is abandoned (code format)", async () => {
    await assert.rejects(listAdapters({ index: `${srv.url}/bomb/index.json` }), isErr("format", /index\.json: more than the limit of 8388608 bytes/));
  });
});

describe("declared sizes", () => {
  test("Content-Length 10^16 is refused before anything is allocated (code invalid_argument)", async () => {
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/hugecl/`, { cache: false }), isErr("invalid_argument", /config\.json: 10000000000000000 bytes \(Content-Length\); at most 2147483648/));
  });

  test("a manifest size of 10^16 is refused before the file is fetched", async () => {
    sent["/hugesize/model.safetensors"] = 0;
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/hugesize/`, { cache: false }), isErr("invalid_argument", /model\.safetensors: declared size 10000000000000000; at most 2147483648/));
    assert.equal(sent["/hugesize/model.safetensors"], 0);
  });

  test("a manifest that says 1.5 GiB for a 3.9 MB file costs no 1.5 GiB buffer; the file is refused (integrity)", async () => {
    let most = 0;
    const onProgress = () => (most = Math.max(most, process.memoryUsage().arrayBuffers));
    const before = process.memoryUsage().arrayBuffers;
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/liesize/`, { cache: false, onProgress }), isErr("integrity", /model\.safetensors: 3992200 bytes, the manifest says 1610612736/));
    console.log(`# ArrayBuffers during the download: ${((most - before) / 2 ** 20).toFixed(1)} MiB more than before`);
    assert.ok(most - before < 128 << 20, `${most - before} bytes of ArrayBuffers`);
  });

  test("a truthful Content-Length still reads into one buffer of exactly its size", async () => {
    // (A base without manifest is converted and its source not kept: read the file as a load does.)
    const { fetchFile } = await import("../src/fetch.js");
    const bytes = await fetchFile(`${srv.url}/tiny/model.safetensors`, {});
    assert.equal(bytes.byteLength, tiny("model.safetensors").length);
    assert.equal(bytes.buffer.byteLength, bytes.byteLength, "a buffer with slack");
  });
});

describe("adapter files bounded by engine.MaxAdapterBytes before download", () => {
  let m;
  before(async () => (m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false })));
  after(() => m.dispose());

  test("the module tells the loader its limit", () => {
    assert.equal(m._rt.api.limits.maxAdapterBytes, MAX_ADAPTER);
  });

  test("a 300 MiB adapter file with its Content-Length is refused before its body is read; Wasm memory does not grow", async () => {
    const store = new MemoryStore();
    const m2 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: store });
    const mem = (await m2.memory()).wasmMemoryBytes;
    const t0 = performance.now();
    await assert.rejects(m2.loadAdapter(`${srv.url}/bigcl/`), isErr("invalid_argument", /pytorch_adapter\.bin: 314572800 bytes \(Content-Length\); at most 2684/));
    console.log(`# refused in ${(performance.now() - t0).toFixed(0)} ms; the server wrote ${(sent["/bigcl/pytorch_adapter.bin"] / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(sent["/bigcl/pytorch_adapter.bin"] < 64 << 20, `server wrote ${sent["/bigcl/pytorch_adapter.bin"]} bytes`);
    assert.equal((await m2.memory()).wasmMemoryBytes, mem);
    assert.deepEqual([...store.map.keys()].filter((k) => k.includes("/bigcl/")), [], "an adapter file was cached");
    m2.dispose();
  });

  test("a chunked 300 MiB adapter file is abandoned once it passes the limit", async () => {
    await assert.rejects(m.loadAdapter(`${srv.url}/bigchunked/`), isErr("invalid_argument", /pytorch_adapter\.bin: more than the limit of 2684\d+ bytes; download abandoned/));
    assert.ok(sent["/bigchunked/pytorch_adapter.bin"] < MAX_ADAPTER + (64 << 20), `server wrote ${sent["/bigchunked/pytorch_adapter.bin"]} bytes`);
  });

  test("an index entry whose files add up past the limit is refused before any is fetched", async () => {
    await assert.rejects(m.loadAdapter("big", { index: `${srv.url}/bigindex/index.json` }), isErr("invalid_argument", /adapter "big": its files are 314573700 bytes .*; at most 268435456/));
    assert.equal(sent["/bigindex/big/pytorch_adapter.bin"], undefined);
  });
});

describe("timeouts and AbortSignal", () => {
  test("a server that never answers fails fromPretrained after the timeout (code network)", async () => {
    const t0 = performance.now();
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/silent/`, { cache: false, timeout: 300 }), isErr("network", /manifest\.json: no data for 300 ms; request abandoned/));
    assert.ok(performance.now() - t0 < 5000);
  });

  test("a body that stops mid-way fails after the timeout", async () => {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, timeout: 300 });
    await assert.rejects(m.loadAdapter(`${srv.url}/stall/`), isErr("network", /adapter_config\.json: no data for 300 ms/));
    // loadAdapter's own timeout overrides the model's.
    const t0 = performance.now();
    await assert.rejects(m.loadAdapter(`${srv.url}/silent/`, { timeout: 100 }), isErr("network", /no data for 100 ms/));
    assert.ok(performance.now() - t0 < 2000);
    m.dispose();
  });

  test("an AbortSignal aborts loadAdapter, fromPretrained and listAdapters (code aborted)", async () => {
    const m = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("user went away")), 100);
    await assert.rejects(m.loadAdapter(`${srv.url}/silent/`, { signal: ctl.signal }), isErr("aborted", /aborted: user went away/));
    await assert.rejects(m.loadAdapter(`${srv.url}/silent/`, { signal: AbortSignal.abort() }), isErr("aborted"));
    await assert.rejects(AutoModelWithHeads.fromPretrained(`${srv.url}/silent/`, { cache: false, signal: AbortSignal.timeout(100) }), isErr("aborted"));
    await assert.rejects(listAdapters({ index: `${srv.url}/silent/index.json`, signal: AbortSignal.timeout(100) }), isErr("aborted"));
    m.dispose();
  });

  test("the worker thread client: timeout and signal reach the worker", async () => {
    const w = await WorkerModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false, timeout: 300 });
    try {
      await assert.rejects(w.loadAdapter(`${srv.url}/silent/`), isErr("network", /no data for 300 ms/));
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error("user went away")), 100);
      await assert.rejects(w.loadAdapter(`${srv.url}/silent/`, { signal: ctl.signal, timeout: 0 }), isErr("aborted", /user went away/));
      assert.ok((await w.embed("still works"))[0].length > 0);
    } finally {
      w.dispose();
    }
    await assert.rejects(WorkerModelWithHeads.fromPretrained(`${srv.url}/silent/`, { cache: false, signal: AbortSignal.timeout(100) }), isErr("aborted"));
  });
});
