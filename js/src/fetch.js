// Downloading a file once: look in the store, verify what is there, else fetch with progress,
// verify (size, sha256) and only then store. A cut, short or corrupt download is never stored,
// and a store entry that no longer matches its sha256 is dropped and fetched again. A file with
// no sha256 to check (an adapter directory, a base without manifest) is stored only once Go has
// accepted it, and dropped from the store when its load fails (Unverified).
import { AdapterwasmError } from "./errors.js";

// defaultFetch is the fetch used when options give none: globalThis.fetch, looked up at each
// call; Node's entry adds file: URLs (node-local.js).
let fetchHook = null;
export const defaultFetch = (url, init) => (fetchHook ?? globalThis.fetch)(url, init);
export function setDefaultFetch(f) {
  fetchHook = f;
}

// sha256Hex hashes bytes with WebCrypto (browsers, Workers, Node 20).
export async function sha256Hex(bytes) {
  const d = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
  let s = "";
  for (const b of d) s += b.toString(16).padStart(2, "0");
  return s;
}

// Stats counts bytes by where they came from; a model keeps one.
export class Stats {
  constructor() {
    this.bytesFetched = 0; // bytes read from the network
    this.bytesFromCache = 0; // bytes read from the store
    this.files = []; // { url, bytes, fromCache }
  }
  add(url, n, fromCache) {
    if (fromCache) this.bytesFromCache += n;
    else this.bytesFetched += n;
    this.files.push({ url, bytes: n, fromCache });
  }
}

// Unverified holds the files of one load that no sha256 vouches for. Length alone proves nothing
// (a proxy's cut copy, a flipped bit), so they are not stored as they arrive: commit() stores
// them once Go has loaded them, drop() removes them, and the cache entries they were read from,
// when the load fails in any way, so that the next load fetches them afresh.
export class Unverified {
  constructor(store) {
    this.store = store;
    this.fetched = []; // [url, bytes] downloaded, not stored yet
    this.hits = []; // urls read from the store
  }
  async commit() {
    for (const [url, bytes] of this.fetched) {
      try {
        await this.store?.put(url, bytes);
      } catch {
        // A full cache (quota) must not fail the load: the bytes are good, they just are not kept.
      }
    }
    this.fetched = [];
  }
  async drop() {
    for (const url of this.hits) await this.store?.delete(url).catch(() => {});
    this.fetched = this.hits = [];
  }
  // around runs load (the Go call that parses the files) and commits or drops.
  async around(load) {
    let v;
    try {
      v = await load();
    } catch (e) {
      await this.drop();
      throw e;
    }
    await this.commit();
    return v;
  }
}

// MAX_DOWNLOAD_BYTES bounds any one file (a base model's included; Wasm memory ends at 4 GiB and
// the bytes are copied into it); loads pass lower bounds (an adapter's files: Go's
// engine.MaxAdapterBytes). A size declared above the bound (manifest, index, Content-Length) is
// refused before anything is fetched or allocated; a body that grows past it is abandoned.
export const MAX_DOWNLOAD_BYTES = 2 ** 31;

// MAX_JSON_BYTES bounds manifest.json and index.json, after any Content-Encoding is undone (a
// small gzip body can inflate to gigabytes).
export const MAX_JSON_BYTES = 8 << 20;

// DEFAULT_TIMEOUT_MS: a request fails when the server sends nothing (no response, no next chunk
// of the body) for this long.
export const DEFAULT_TIMEOUT_MS = 30_000;

// FIRST_ALLOCATION bounds the buffer allocated on a size's word alone: past it the buffer grows
// as bytes arrive, so a lying size costs at most this much.
const FIRST_ALLOCATION = 64 << 20;

async function checkEntry(hit, { sha256, size, maxBytes }) {
  if (hit.bytes.byteLength > maxBytes) return false;
  if (size !== undefined && hit.bytes.byteLength !== size) return false;
  if (sha256) return (await sha256Hex(hit.bytes)) === sha256;
  return true;
}

// fetchFile returns the bytes of url, or null when optional and the server answers 404.
//   sha256, size   what the manifest/index promises (verified when given)
//   maxBytes       refuse the file beyond this size (default MAX_DOWNLOAD_BYTES), code overCode
//                  (default "invalid_argument")
//   store          a store (store.js) or null
//   onProgress     ({ file, url, loaded, total, fromCache }) per chunk
//   stats          a Stats to count bytes into
//   unverified     an Unverified that keeps a file without sha256 until Go accepts it (without
//                  one such a file is never stored)
//   signal, timeout  the caller's AbortSignal; ms without data before the request fails
//   onResponse     (res) with the response's headers, before the body is read
//   httpError      (res) -> the error to throw for a non-2xx answer (with entryMissing: an
//                  optional file that is absent, null instead)
export async function fetchFile(url, opts = {}) {
  const { sha256, size, onProgress, stats, unverified } = opts;
  const store = String(url).startsWith("file:") ? null : opts.store; // a local file is not copied into the cache
  const maxBytes = Math.min(opts.maxBytes ?? MAX_DOWNLOAD_BYTES, MAX_DOWNLOAD_BYTES);
  const file = decodeURIComponent(new URL(url).pathname.split("/").pop());
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0 && size <= maxBytes)) {
    throw new AdapterwasmError(opts.overCode ?? "invalid_argument", `${url}: declared size ${size}; at most ${maxBytes} bytes`);
  }
  if (store) {
    let hit;
    try {
      hit = await store.get(url);
    } catch {
      hit = undefined; // an unreadable entry is a miss
    }
    if (hit) {
      if (await checkEntry(hit, { sha256, size, maxBytes })) {
        const n = hit.bytes.byteLength;
        onProgress?.({ file, url, loaded: n, total: n, fromCache: true });
        stats?.add(url, n, true);
        if (!sha256) unverified?.hits.push(url);
        return hit.bytes;
      }
      await store.delete(url).catch(() => {}); // corrupt, stale or too big: drop it and fetch again
    }
  }

  // An optional file the server said it lacks (404) is remembered as absent (stored with the
  // load's other unverified files, once Go accepted it), so that a load without network knows.
  const absentKey = `${url}${url.includes("?") ? "&" : "?"}adapterwasm-absent`;
  let bytes;
  try {
    bytes = await download(url, { ...opts, maxBytes, onChunk: (loaded, total) => onProgress?.({ file, url, loaded, total, fromCache: false }) });
  } catch (e) {
    if (opts.optional && store && e?.code === "network" && e.status === undefined && !opts.signal?.aborted && (await store.get(absentKey).catch(() => undefined))) return null;
    throw e;
  }
  if (bytes === null) {
    if (store) unverified?.fetched.push([absentKey, new Uint8Array([49])]);
    return null;
  }
  stats?.add(url, bytes.byteLength, false);
  if (size !== undefined && bytes.byteLength !== size) {
    throw new AdapterwasmError("integrity", `${url}: ${bytes.byteLength} bytes, the manifest says ${size}`);
  }
  if (sha256) {
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new AdapterwasmError("integrity", `${url}: sha256 ${got}, the manifest says ${sha256}`);
  }
  // Store only what is verified against a sha256 now; the rest once Go has accepted it.
  if (store && sha256) {
    try {
      await store.put(url, bytes, sha256);
    } catch {
      // A full cache (quota) must not fail the load: the bytes are good, they just are not kept.
    }
  } else if (store) {
    unverified?.fetched.push([url, bytes]);
  }
  return bytes;
}

// fetchJSON fetches and parses a JSON document of at most MAX_JSON_BYTES (or opts.maxBytes: the
// hub's listings); null when optional and the server answers 404.
// With opts.keep (a store), each answer is kept (a 404 of an optional document as null) and, when
// the server cannot be reached (no HTTP answer at all), the kept copy answers instead: manifests,
// indexes and listings of what loaded before, for offline loads. Files listed there are verified
// as always, so a stale copy cannot pass a wrong file.
export async function fetchJSON(url, opts = {}) {
  const key = `${url}`;
  const keep = String(url).startsWith("file:") ? null : opts.keep;
  let bytes;
  let kept = false;
  try {
    bytes = await download(key, { ...opts, maxBytes: opts.maxBytes ?? MAX_JSON_BYTES, overCode: "format" });
  } catch (e) {
    const hit = keep && e?.code === "network" && e.status === undefined && !opts.signal?.aborted ? await keep.get(key).catch(() => undefined) : undefined;
    if (!hit) throw e;
    bytes = hit.bytes;
    kept = true;
  }
  if (bytes === null) {
    if (keep) await keep.put(key, new TextEncoder().encode("null")).catch(() => {});
    return null;
  }
  let v;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    if (kept) await keep.delete(key).catch(() => {});
    throw new AdapterwasmError("format", `${url}: not JSON: ${e.message}`);
  }
  if (keep && !kept) await keep.put(key, bytes).catch(() => {}); // a full cache must not fail the call
  return v;
}

// download fetches url into one buffer: { fetch, signal, timeout, optional, size (promised),
// maxBytes, overCode, onChunk(loaded, total) }. Every size it is told (size, Content-Length) is
// checked against maxBytes before anything is allocated, and the body is abandoned as soon as it
// passes maxBytes or the size promised.
async function download(url, opts) {
  const { size, maxBytes, optional = false, onChunk } = opts;
  const fetchImpl = opts.fetch ?? defaultFetch;
  const overCode = opts.overCode ?? "invalid_argument";
  const watch = watchdog(url, opts.signal, opts.timeout ?? DEFAULT_TIMEOUT_MS);
  try {
    const res = await fetchRetry(fetchImpl, url, watch.signal);
    watch.touch();
    opts.onResponse?.(res);
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      if (opts.httpError) {
        // The caller reads the status (hub.js: the hub's error codes); an optional file it calls
        // missing (entryMissing) is null.
        const e = opts.httpError(res);
        if (optional && e.entryMissing) return null;
        throw e;
      }
      if (optional && res.status === 404) return null;
      throw Object.assign(new AdapterwasmError("network", `${url}: HTTP ${res.status}`), { status: res.status });
    }
    // Content-Length is the body's size only when the response is not content-encoded.
    const encoded = !!res.headers.get("content-encoding");
    const declared = encoded ? undefined : Number(res.headers.get("content-length") || NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new AdapterwasmError(overCode, `${url}: ${declared} bytes (Content-Length); at most ${maxBytes}`);
    }
    const total = size ?? (Number.isFinite(declared) ? declared : undefined);
    const limit = size !== undefined ? { bytes: size, code: "integrity", what: `the ${size} bytes promised` } : { bytes: maxBytes, code: overCode, what: `the limit of ${maxBytes} bytes` };
    const bytes = await readBody(res, total, limit, url, watch, (loaded) => onChunk?.(loaded, total));
    if (Number.isFinite(declared) && bytes.byteLength !== declared) {
      throw new AdapterwasmError("network", `${url}: download cut short: ${bytes.byteLength} of ${declared} bytes`);
    }
    return bytes;
  } catch (e) {
    throw watch.error(e);
  } finally {
    watch.done();
  }
}

// watchdog gives a request its signal: aborted by the caller's signal, or when nothing arrives
// for timeout ms (touch() on every chunk); error(e) says which, as an AdapterwasmError.
function watchdog(url, outer, timeout) {
  const ctl = new AbortController();
  let timer = null;
  let timedOut = false;
  const onAbort = () => ctl.abort(outer.reason);
  if (outer?.aborted) ctl.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  const touch = () => {
    if (!(timeout > 0) || timeout === Infinity) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, timeout);
  };
  touch();
  return {
    signal: ctl.signal,
    touch,
    done() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
    error(e) {
      if (timedOut) return new AdapterwasmError("network", `${url}: no data for ${timeout} ms; request abandoned`, { cause: e });
      if (outer?.aborted) return new AdapterwasmError("aborted", `${url}: aborted${outer.reason?.message ? `: ${outer.reason.message}` : ""}`, { cause: outer.reason });
      if (e instanceof AdapterwasmError) return e;
      return new AdapterwasmError("network", `${url}: ${e?.message ?? e}`, { cause: e });
    },
  };
}

// throwIfAborted rejects with code "aborted" once signal is: the downloads are done, but the load
// it was given for stops before Go.
export function throwIfAborted(signal, what) {
  if (signal?.aborted) throw new AdapterwasmError("aborted", `${what}: aborted${signal.reason?.message ? `: ${signal.reason.message}` : ""}`, { cause: signal.reason });
}

// fetchRetry fetches url, trying once more when the request fails before any response (a pooled
// connection the server had closed, a blip); HTTP errors are not retried.
export async function fetchRetry(fetchImpl, url, signal) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchImpl(String(url), { signal }); // a string: options.fetch may be any (url: string) => Promise<Response>
    } catch (e) {
      if (attempt >= 1 || signal?.aborted) throw new AdapterwasmError("network", `${url}: ${e.message}`, { cause: e });
    }
  }
}

// readBody reads a response body into one buffer, growing it as bytes arrive: the size the
// server or manifest gave (total) is believed only up to FIRST_ALLOCATION at first, so a lie
// costs no more than that; a truthful size ends in a buffer of exactly that size. A body longer
// than limit.bytes is cut off and refused with limit.code, not read on without end.
async function readBody(res, total, limit, url, watch, progress) {
  if (!res.body) {
    const b = new Uint8Array(await res.arrayBuffer());
    if (b.byteLength > limit.bytes) throw new AdapterwasmError(limit.code, `${url}: more than ${limit.what}`);
    progress(b.byteLength);
    return b;
  }
  const reader = res.body.getReader();
  let buf = new Uint8Array(Math.min(total ?? 1 << 20, FIRST_ALLOCATION));
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      watch.touch();
      const need = loaded + value.byteLength;
      if (need > limit.bytes) {
        await reader.cancel().catch(() => {});
        throw new AdapterwasmError(limit.code, `${url}: more than ${limit.what}; download abandoned`);
      }
      if (need > buf.byteLength) {
        // Double, but never past what is promised (total, when the body keeps to it) or allowed.
        let cap = Math.max(need, Math.min(2 * buf.byteLength, limit.bytes));
        if (total !== undefined && need <= total) cap = Math.min(cap, total);
        const grown = new Uint8Array(cap);
        grown.set(buf.subarray(0, loaded));
        buf = grown;
      }
      buf.set(value, loaded);
      loaded = need;
      progress(loaded);
    }
  } catch (e) {
    if (e instanceof AdapterwasmError) throw e;
    throw new AdapterwasmError("network", `${url}: download failed after ${loaded} bytes: ${e.message}`, { cause: e });
  }
  if (loaded === buf.byteLength) return buf;
  return buf.byteLength - loaded > 1 << 20 ? buf.slice(0, loaded) : buf.subarray(0, loaded); // no large slack kept alive
}
