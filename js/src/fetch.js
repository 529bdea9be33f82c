// Downloading a file once: look in the store, verify what is there, else fetch with progress,
// verify (size, sha256) and only then store. A cut, short or corrupt download is never stored,
// and a store entry that no longer matches its sha256 is dropped and fetched again. A file with
// no sha256 to check (an adapter directory, a base without manifest) is stored only once Go has
// accepted it, and dropped from the store when its load fails (Unverified).
import { AdapterwasmError } from "./errors.js";

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

async function checkEntry(hit, { sha256, size }) {
  if (size !== undefined && hit.bytes.byteLength !== size) return false;
  if (sha256) return (await sha256Hex(hit.bytes)) === sha256;
  return true;
}

// fetchFile returns the bytes of url, or null when optional and the server answers 404.
//   sha256, size   what the manifest/index promises (verified when given)
//   store          a store (store.js) or null
//   onProgress     ({ file, url, loaded, total, fromCache }) per chunk
//   stats          a Stats to count bytes into
//   unverified     an Unverified that keeps a file without sha256 until Go accepts it (without
//                  one such a file is never stored)
export async function fetchFile(url, opts = {}) {
  const { sha256, size, store, onProgress, stats, optional = false, signal, unverified } = opts;
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const file = decodeURIComponent(new URL(url).pathname.split("/").pop());
  if (store) {
    let hit;
    try {
      hit = await store.get(url);
    } catch {
      hit = undefined; // an unreadable entry is a miss
    }
    if (hit) {
      if (await checkEntry(hit, { sha256, size })) {
        const n = hit.bytes.byteLength;
        onProgress?.({ file, url, loaded: n, total: n, fromCache: true });
        stats?.add(url, n, true);
        if (!sha256) unverified?.hits.push(url);
        return hit.bytes;
      }
      await store.delete(url).catch(() => {}); // corrupt or stale: drop it and fetch again
    }
  }

  const res = await fetchRetry(fetchImpl, url, signal);
  if (!res.ok) {
    if (optional && res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return null;
    }
    throw new AdapterwasmError("network", `${url}: HTTP ${res.status}`);
  }
  // Content-Length is the body's size only when the response is not content-encoded.
  const encoded = !!res.headers.get("content-encoding");
  const declared = encoded ? undefined : Number(res.headers.get("content-length") || NaN);
  const total = size ?? (Number.isFinite(declared) ? declared : undefined);

  const bytes = await readBody(res, total, (loaded) => onProgress?.({ file, url, loaded, total, fromCache: false }), url, size !== undefined ? "integrity" : "network");
  stats?.add(url, bytes.byteLength, false);
  if (Number.isFinite(declared) && bytes.byteLength !== declared) {
    throw new AdapterwasmError("network", `${url}: download cut short: ${bytes.byteLength} of ${declared} bytes`);
  }
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

// MAX_DOWNLOAD_BYTES bounds a download whose size nobody promised (a Hugging Face directory
// without manifest, a server without Content-Length): past it the download is abandoned.
export const MAX_DOWNLOAD_BYTES = 2 ** 31;

// readBody reads a response body into one buffer: straight into a buffer of the expected size
// when it is known (no second copy), else by concatenating chunks. A body longer than total (or
// MAX_DOWNLOAD_BYTES) is cut off and refused with code overCode, not read on without end.
async function readBody(res, total, progress, url, overCode) {
  if (!res.body) {
    const b = new Uint8Array(await res.arrayBuffer());
    progress(b.byteLength);
    return b;
  }
  const reader = res.body.getReader();
  let buf = total !== undefined ? new Uint8Array(total) : null;
  const chunks = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.byteLength > (total ?? MAX_DOWNLOAD_BYTES)) {
        await reader.cancel().catch(() => {});
        throw new AdapterwasmError(overCode, `${url}: more than the ${total ?? MAX_DOWNLOAD_BYTES} bytes promised; download abandoned`);
      }
      if (buf && loaded + value.byteLength <= buf.byteLength) {
        buf.set(value, loaded);
      } else {
        if (buf) {
          chunks.push(buf.subarray(0, loaded)); // longer than promised: fall back to chunks
          buf = null;
        }
        chunks.push(value);
      }
      loaded += value.byteLength;
      progress(loaded);
    }
  } catch (e) {
    if (e instanceof AdapterwasmError) throw e;
    throw new AdapterwasmError("network", `${url}: download failed after ${loaded} bytes: ${e.message}`, { cause: e });
  }
  if (buf) return loaded === buf.byteLength ? buf : buf.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
