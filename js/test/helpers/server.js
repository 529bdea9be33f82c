// A static file server for tests: mounts directories under URL prefixes, logs every request with
// the body bytes it sent, writes manifest.json for mounts that ask for one (sha256 and size of
// each file, as `adapterwasm convert` does), and can fail or cut chosen paths.
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { TINY, tinyIndex } from "./fixtures.js";

const TYPES = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".html": "text/html",
};

async function manifestFor(dir) {
  const files = [];
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if (!(await stat(p)).isFile() || name === "manifest.json" || name.startsWith(".")) continue;
    if (!/\.(json|safetensors|bin|awm)$/.test(name) || name === "README.md") continue;
    const b = await readFile(p);
    files.push({ name, size: b.byteLength, sha256: createHash("sha256").update(b).digest("hex") });
  }
  return { files };
}

// startServer({ mounts: { "/prefix/": { dir, manifest?: bool, cacheControl?: string } }, pages?: { "/path": html | { body, type } } })
// resolves to { url, log, faults, close }. faults is a Map path -> "404" | "500" | "truncate"
// (half the body, then the connection drops) | "short" (half the body, with a Content-Length that
// matches it: a cut copy, as a broken proxy or CDN serves it) | "corrupt" (a flipped byte) |
// "slow" (1.5 s late).
//
// headers are added to every response (COOP/COEP for a cross-origin isolated page: threads.test.js).
export async function startServer({ mounts, pages = {}, headers = {} }) {
  const log = [];
  const faults = new Map();
  const manifests = new Map();
  const server = createServer(async (req, res) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const entry = { path, method: req.method, status: 200, bytes: 0 };
    log.push(entry);
    let cacheControl = "no-store";
    const send = (status, body, type, etag) => {
      entry.status = status;
      const length = body.byteLength ?? Buffer.byteLength(body);
      entry.bytes = req.method === "HEAD" ? 0 : length; // a HEAD answer has no body
      const headers = { "content-type": type ?? "application/octet-stream", "content-length": length, "cache-control": status === 200 ? cacheControl : "no-store" };
      if (etag) headers.etag = etag;
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      const fault = faults.get(path);
      if (fault === "slow") await new Promise((r) => setTimeout(r, 1500));
      if (fault === "404") return send(404, "not found", "text/plain");
      if (fault === "500") return send(500, "boom", "text/plain");
      const page = pages[path];
      if (page !== undefined) {
        if (typeof page === "string") return send(200, Buffer.from(page), "text/html");
        return send(200, Buffer.from(typeof page.body === "string" ? page.body : JSON.stringify(page.body)), page.type ?? "application/json");
      }
      for (const [prefix, m] of Object.entries(mounts)) {
        if (!path.startsWith(prefix)) continue;
        if (m.cacheControl) cacheControl = m.cacheControl;
        const rel = normalize(path.slice(prefix.length));
        if (rel.startsWith("..")) return send(403, "no", "text/plain");
        if (rel === "manifest.json" && m.manifest) {
          if (!manifests.has(m.dir)) manifests.set(m.dir, await manifestFor(m.dir));
          return send(200, Buffer.from(JSON.stringify(manifests.get(m.dir))), "application/json");
        }
        let body;
        try {
          body = await readFile(join(m.dir, rel));
        } catch {
          return send(404, "not found", "text/plain");
        }
        const type = TYPES[extname(rel)];
        if (fault === "corrupt") {
          body = Buffer.from(body);
          body[body.length >> 1] ^= 0xff;
        }
        if (fault === "short") body = body.subarray(0, body.byteLength >> 1);
        if (fault === "truncate") {
          // Promise the whole length, send half, then drop the connection.
          entry.bytes = body.byteLength >> 1;
          res.writeHead(200, { "content-type": type ?? "application/octet-stream", "content-length": body.byteLength, "cache-control": "no-store" });
          res.write(body.subarray(0, entry.bytes));
          setTimeout(() => res.destroy(), 20);
          return;
        }
        return send(200, body, type, `"${createHash("sha256").update(body).digest("hex").slice(0, 16)}"`);
      }
      send(404, "not found", "text/plain");
    } catch (e) {
      send(500, String(e), "text/plain");
    }
  });
  // Long keep-alive: a test that blocks the event loop (execFileSync) must not find its pooled
  // connection closed under it.
  server.keepAliveTimeout = 120_000;
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    faults,
    bytesUnder(prefix) {
      return log.filter((e) => e.path.startsWith(prefix)).reduce((n, e) => n + e.bytes, 0);
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

// startTinyServer is startServer with the tiny model at /tiny/ (with its manifest), its adapters at
// /adapters/ and their index at /adapters/index.json, beside the mounts and pages given.
export function startTinyServer({ mounts = {}, pages = {}, ...rest } = {}) {
  return startServer({
    mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true }, "/adapters/": { dir: join(TINY, "adapters") }, ...mounts },
    pages: { "/adapters/index.json": { body: tinyIndex() }, ...pages },
    ...rest,
  });
}
