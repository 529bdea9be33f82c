// The demo's static server (`./build.sh serve`): serves a directory (dist/site) unchanged, so that
// the sha256s in manifest.json and index.json still match what arrives, with the right MIME types
// (application/wasm for streaming compilation), ETag revalidation, and a Content-Security-Policy
// that allows this origin only, and for fetches the hub's (HUB_ORIGINS: the "Hub listing" the
// visitor may switch to; nothing else leaves the origin).
//
// Text and the Wasm module are compressed (brotli, else gzip, by Accept-Encoding) as a static host
// would: the 5.4 MB module travels as ~1.3 MB. Weights (.safetensors, .bin) go as they are.
// The browser decodes before the page sees a byte, so the sha256s still match.
//
// For tests it keeps a request log ({ method, path, status, bytes, size, encoding }: bytes on the
// wire, the file's bytes, the Content-Encoding) and can fail chosen URL prefixes:
// `--fail /adapters/spam/=500` on the command line, or server.faults.set(prefix, status).
//
//   node site/server.js --root dist/site [--port 8080] [--host 127.0.0.1] [--fail PREFIX[=STATUS]]... [--connect ORIGIN]... [--log]
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { brotliCompress, constants as zlibConstants, gzip } from "node:zlib";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".safetensors": "application/octet-stream",
  ".bin": "application/octet-stream",
};

// COMPRESS lists the types worth compressing; weights (int8, float) barely shrink.
const COMPRESS = new Set([".html", ".js", ".mjs", ".css", ".json", ".wasm", ".svg", ".txt", ".md"]);
const ENCODERS = {
  // Quality 5: 0.8 s for the 5.4 MB module (once per build; kept in memory), 1.28 MB; 11 would
  // give 1.09 MB in ~37 s.
  br: (b) => promisify(brotliCompress)(b, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
  gzip: (b) => promisify(gzip)(b, { level: 6 }),
};

// pickEncoding returns "br", "gzip" or null from an Accept-Encoding header (q=0 refuses).
export function pickEncoding(header = "") {
  const ok = new Map();
  for (const part of String(header).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    ok.set(name, q ? Number(q.slice(2)) > 0 : true);
  }
  for (const enc of ["br", "gzip"]) if (ok.get(enc) ?? ok.get("*")) return enc;
  return null;
}

// HUB_ORIGINS: what the page's "Hub listing" (hublist.js) and its worker may fetch besides this
// origin, and only once the visitor switches to it: the Hugging Face hub (listing and files), the
// CDN hosts it redirects weights to (cdn-lfs.huggingface.co, cdn-lfs*.hf.co, cas-bridge.xethub.hf.co),
// and AdapterHub's archived index on GitHub. --connect ORIGIN adds one (a mirror, a test hub).
export const HUB_ORIGINS = ["https://huggingface.co", "https://*.huggingface.co", "https://*.hf.co", "https://raw.githubusercontent.com"];

// csp: scripts, workers, styles from this origin only ('wasm-unsafe-eval' lets the page and its
// worker compile WebAssembly); fetches from this origin and the hub's (connect).
export function csp(connect = HUB_ORIGINS) {
  return `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src ${["'self'", ...connect].join(" ")}; style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;
}

// origin checks a --connect value: a scheme and host (a CSP source expression, wildcards as CSP's).
function origin(s) {
  if (!/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d+)?$/.test(s)) throw new Error(`--connect ${s}: want an origin such as https://hub.example.org or http://127.0.0.1:8081`);
  return s;
}

// startSiteServer serves root. It resolves to { url, server, log, faults, close }.
//   faults   Map: URL path prefix -> HTTP status to answer instead (e.g. 500, 404)
//   onLog    called with each finished log entry
//   connect  origins the page may fetch from besides its own, added to HUB_ORIGINS
export async function startSiteServer({ root, port = 0, host = "127.0.0.1", faults = new Map(), onLog, connect = [] } = {}) {
  root = resolve(root);
  const CSP = csp([...HUB_ORIGINS, ...connect.map(origin)]);
  const log = [];
  const compressed = new Map(); // `${encoding} ${file}` -> { etag, body: Promise<Buffer> }: a changed file replaces its entry
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    });
  });

  async function handle(req, res) {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      path = req.url;
    }
    const entry = { method: req.method, path, status: 0, bytes: 0, size: 0, encoding: null };
    log.push(entry);
    const done = (status, bytes = 0, size = bytes) => {
      entry.status = status;
      entry.bytes = bytes;
      entry.size = size;
      onLog?.(entry);
    };
    const plain = (status, text) => {
      const body = Buffer.from(text);
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": body.byteLength, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
      done(status, req.method === "HEAD" ? 0 : body.byteLength);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "method not allowed");
    for (const [prefix, status] of faults) {
      if (path.startsWith(prefix)) return plain(Number(status) || 500, `injected failure for ${prefix}`);
    }
    let file = join(root, path);
    if (file !== root && !file.startsWith(root + sep)) return plain(403, "forbidden");
    let st = await stat(file).catch(() => null);
    if (st?.isDirectory()) {
      if (!path.endsWith("/")) {
        res.writeHead(301, { location: path + "/" });
        res.end();
        return done(301);
      }
      file = join(file, "index.html");
      st = await stat(file).catch(() => null);
    }
    if (!st?.isFile()) return plain(404, "not found");

    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = {
      "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      // Revalidate every time: cheap (304) for unchanged files, and a rebuilt site is never stale.
      // The base model and adapters are kept by the page itself (Cache API), not by HTTP caching.
      "cache-control": "no-cache",
      etag,
      "x-content-type-options": "nosniff",
      "content-security-policy": CSP,
      "cross-origin-resource-policy": "same-origin",
    };
    const compressible = COMPRESS.has(extname(file).toLowerCase());
    if (compressible) headers.vary = "Accept-Encoding";
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return done(304);
    }
    const enc = compressible ? pickEncoding(req.headers["accept-encoding"]) : null;
    if (enc) {
      const key = `${enc} ${file}`;
      if (compressed.get(key)?.etag !== etag) compressed.set(key, { etag, body: readFile(file).then(ENCODERS[enc]) });
      let body;
      try {
        body = await compressed.get(key).body;
      } catch (e) {
        compressed.delete(key);
        throw e;
      }
      entry.encoding = enc;
      headers["content-encoding"] = enc;
      headers["content-length"] = body.byteLength;
      res.writeHead(200, headers);
      res.end(req.method === "HEAD" ? undefined : body);
      return done(200, req.method === "HEAD" ? 0 : body.byteLength, req.method === "HEAD" ? 0 : st.size);
    }
    headers["content-length"] = st.size;
    res.writeHead(200, headers);
    if (req.method === "HEAD") {
      res.end();
      return done(200);
    }
    let sent = 0;
    const stream = createReadStream(file);
    stream.on("data", (c) => (sent += c.byteLength));
    stream.on("error", () => res.destroy());
    res.on("close", () => done(200, sent));
    stream.pipe(res);
  }

  server.keepAliveTimeout = 60_000;
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, ok);
  });
  const addr = server.address();
  return {
    url: `http://${addr.address}:${addr.port}`,
    server,
    log,
    faults,
    // bytesUnder sums the body bytes sent for paths under prefix (on the wire: compressed).
    bytesUnder: (prefix) => log.filter((e) => e.path.startsWith(prefix)).reduce((n, e) => n + e.bytes, 0),
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections?.();
        server.close(ok);
      }),
  };
}

function parseArgs(argv) {
  const o = { root: null, port: 8080, host: "127.0.0.1", faults: new Map(), log: false, connect: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    if (flag === "--root") o.root = value();
    else if (flag === "--port") o.port = Number(value());
    else if (flag === "--host") o.host = value();
    else if (flag === "--fail") {
      const [prefix, status] = value().split("=");
      o.faults.set(prefix, Number(status) || 500);
    } else if (flag === "--connect") {
      try {
        o.connect.push(origin(value()));
      } catch (e) {
        usage(e.message);
      }
    } else if (flag === "--log") o.log = true;
    else if (flag === "-h" || flag === "--help") usage();
    else usage(`unknown argument ${argv[i]}`);
  }
  if (!o.root) usage("--root is required");
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage(`bad --port ${o.port}`);
  return o;
}

function usage(err) {
  const text = "usage: node site/server.js --root DIR [--port 8080] [--host 127.0.0.1] [--fail PREFIX[=STATUS]]... [--connect ORIGIN]... [--log]";
  if (err) {
    console.error(`server.js: ${err}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = parseArgs(process.argv.slice(2));
  const st = await stat(o.root).catch(() => null);
  if (!st?.isDirectory()) usage(`--root ${o.root}: not a directory`);
  const onLog = o.log ? (e) => console.error(`${e.status} ${e.method} ${e.path} ${e.bytes}`) : undefined;
  let srv;
  try {
    srv = await startSiteServer({ root: o.root, port: o.port, host: o.host, faults: o.faults, onLog, connect: o.connect });
  } catch (e) {
    console.error(`server.js: cannot listen on ${o.host}:${o.port}: ${e.message}`);
    process.exit(1);
  }
  for (const [p, s] of o.faults) console.error(`server.js: failing ${p} with HTTP ${s}`);
  console.log(`adapterwasm demo: serving ${o.root} on ${srv.url}/ (Ctrl-C to stop)`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
