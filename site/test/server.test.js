// site/server.js on its own (no browser): compression by Accept-Encoding, bodies that decode to
// the file byte for byte, weights sent as they are, the request log's bytes/size/encoding, and the
// Content-Security-Policy (the hub's origins, --connect).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, gunzipSync } from "node:zlib";

import { HUB_ORIGINS, pickEncoding, startSiteServer } from "../server.js";

// siteRoot makes a served directory for one test, removed after the file's tests.
const roots = [];
after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const siteRoot = () => (roots.push(mkdtempSync(join(tmpdir(), "site-server-"))), roots.at(-1));

function get(url, headers = {}) {
  return new Promise((ok, fail) => {
    request(url, { headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on("error", fail)
      .end();
  });
}

test("pickEncoding follows Accept-Encoding: br before gzip, q=0 refuses", () => {
  const cases = [["gzip, deflate, br", "br"], ["gzip", "gzip"], ["br;q=0, gzip", "gzip"], ["br;q=0,gzip;q=0", null], ["identity", null], ["", null], [undefined, null], ["*", "br"], ["*, br;q=0", "gzip"]];
  for (const [h, want] of cases) assert.equal(pickEncoding(h), want, JSON.stringify(h));
});

test("text and Wasm are compressed and decode to the file; weights are sent as they are", async () => {
  const root = siteRoot();
  const wasm = Buffer.alloc(200_000);
  for (let i = 0; i < wasm.length; i++) wasm[i] = (i * 7) % 13; // compressible, like code
  const bin = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 24));
  writeFileSync(join(root, "m.wasm"), wasm);
  writeFileSync(join(root, "a.json"), JSON.stringify({ x: "y".repeat(5000) }));
  writeFileSync(join(root, "w.bin"), bin);
  const srv = await startSiteServer({ root });
  try {
    const br = await get(`${srv.url}/m.wasm`, { "accept-encoding": "gzip, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.equal(br.headers["content-type"], "application/wasm");
    assert.equal(br.headers.vary, "Accept-Encoding");
    assert.ok(br.body.length < wasm.length / 10, `${br.body.length} bytes on the wire`);
    assert.deepEqual(brotliDecompressSync(br.body), wasm);
    const entry = srv.log.at(-1);
    assert.deepEqual([entry.bytes, entry.size, entry.encoding], [br.body.length, wasm.length, "br"]);

    const gz = await get(`${srv.url}/a.json`, { "accept-encoding": "gzip" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(JSON.parse(gunzipSync(gz.body)).x.length, 5000);

    const plain = await get(`${srv.url}/m.wasm`);
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.deepEqual(plain.body, wasm);

    const w = await get(`${srv.url}/w.bin`, { "accept-encoding": "gzip, br" });
    assert.equal(w.headers["content-encoding"], undefined, "weights are not compressed");
    assert.equal(Number(w.headers["content-length"]), bin.length);
    assert.deepEqual(w.body, bin);

    // A changed file is compressed again, not served from the old entry.
    const wasm2 = Buffer.concat([wasm, Buffer.from("more")]);
    await new Promise((r) => setTimeout(r, 20)); // a new mtime, so a new ETag
    writeFileSync(join(root, "m.wasm"), wasm2);
    assert.deepEqual(brotliDecompressSync((await get(`${srv.url}/m.wasm`, { "accept-encoding": "br" })).body), wasm2);

    // Revalidation still answers 304 with the same ETag.
    const again = await get(`${srv.url}/a.json`, { "accept-encoding": "gzip", "if-none-match": gz.headers.etag });
    assert.equal(again.status, 304);
  } finally {
    await srv.close();
  }
});

// The Content-Security-Policy: scripts, workers and styles from the origin only; fetches from it
// and the hub's origins (the "Hub listing", hublist.js), plus those given by connect / --connect;
// a value that is no origin is refused.
test("CSP: connect-src is the origin, the hub's origins and --connect's; nothing else widens", async () => {
  const root = siteRoot();
  writeFileSync(join(root, "index.html"), "<!doctype html>");
  const directives = (h) => Object.fromEntries(h.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  const srv = await startSiteServer({ root, connect: ["http://127.0.0.1:8081"] });
  try {
    const d = directives((await get(`${srv.url}/index.html`)).headers["content-security-policy"]);
    assert.deepEqual(d["connect-src"], ["'self'", ...HUB_ORIGINS, "http://127.0.0.1:8081"]);
    assert.deepEqual(HUB_ORIGINS, ["https://huggingface.co", "https://*.huggingface.co", "https://*.hf.co", "https://raw.githubusercontent.com"]);
    for (const k of ["default-src", "worker-src", "style-src"]) assert.deepEqual(d[k], ["'self'"], k);
    assert.deepEqual(d["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
  } finally {
    await srv.close();
  }
  for (const bad of ["127.0.0.1:8081", "http://h/path", "javascript:alert(1)", "* 'unsafe-eval'"]) {
    await assert.rejects(startSiteServer({ root, connect: [bad] }), /want an origin/, bad);
  }
  const cli = spawnSync(process.execPath, [fileURLToPath(new URL("../server.js", import.meta.url)), "--root", root, "--connect", "http://x/y"], { encoding: "utf8" });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /--connect http:\/\/x\/y: want an origin/);
});
