// Byte stores for downloaded files. A store maps a key (the file's URL) to bytes and the sha256
// they were verified against; only complete, verified downloads are ever put.
//
//   get(key)           -> { bytes: Uint8Array, sha256?: string } | undefined
//   put(key, bytes, sha256?)
//   delete(key)
//
// CacheApiStore (browsers, Web Workers, Cloudflare Workers) and MemoryStore are here;
// FsStore (Node) is in store-node.js so that browser bundles never see node: imports.

const SHA_HEADER = "x-adapterwasm-sha256";

// CacheApiStore keeps files in the Cache API under their URL.
export class CacheApiStore {
  constructor(name = "adapterwasm-v1") {
    this.name = name;
    this._cache = null;
  }

  async _open() {
    this._cache ??= await globalThis.caches.open(this.name);
    return this._cache;
  }

  async get(key) {
    const res = await (await this._open()).match(key);
    if (!res) return undefined;
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { bytes, sha256: res.headers.get(SHA_HEADER) ?? undefined };
  }

  async put(key, bytes, sha256) {
    const headers = { "content-type": "application/octet-stream", "content-length": String(bytes.byteLength) };
    if (sha256) headers[SHA_HEADER] = sha256;
    await (await this._open()).put(key, new Response(bytes, { headers }));
  }

  async delete(key) {
    await (await this._open()).delete(key);
  }
}

// MemoryStore keeps files in a Map: for tests, and where nothing persists anyway.
export class MemoryStore {
  constructor() {
    this.map = new Map();
  }
  async get(key) {
    return this.map.get(key);
  }
  async put(key, bytes, sha256) {
    this.map.set(key, { bytes, sha256 });
  }
  async delete(key) {
    this.map.delete(key);
  }
}

// defaultStore is the Cache API where there is one, else nothing (no caching).
export function defaultStore() {
  return typeof globalThis.caches?.open === "function" ? new CacheApiStore() : null;
}
