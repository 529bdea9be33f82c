// AutoModelWithHeads: a base model with AdapterHub adapters and their heads, in the Go module.
// This file only moves bytes and keeps books (downloads, cache, adapter LRU); the model itself,
// adapter loading, setups and classification are Go (wasm/engine).
import { AdapterwasmError } from "./errors.js";
import { checkSetup } from "./composition.js";
import { defaultFetch, fetchFile, Stats, Unverified, throwIfAborted } from "./fetch.js";
import { ADAPTER_GROUPS, BASE_GROUPS, asHubId, fetchRepo, hubEndpoint, isHubId } from "./hub.js";
import { adapterFileGroups, baseFiles, dirUrl, isDirUrl, loadIndex } from "./registry.js";
import { fetchAHIndex, isRunnable, listHub } from "./listing.js";
import { MODEL_FILE, conversionOf, convertInWasm, hubKey, readConverted, storeConverted, urlKey } from "./convert.js";
import { LoadProgress } from "./progress.js";
import { loadRuntime } from "./runtime.js";
import { defaultStore } from "./store.js";

const DEFAULT_ADAPTER_BUDGET = 64 << 20; // bytes of adapter weights kept loaded
const MAX_ADAPTER_BYTES = 256 << 20; // engine.MaxAdapterBytes, for a module too old to say

let storeFactory = defaultStore;
export function setDefaultStoreFactory(f) {
  storeFactory = f;
}

function resolveStore(cache) {
  if (cache === false || cache === null) return null;
  if (cache === undefined || cache === true) return storeFactory();
  if (typeof cache === "string") return storeFactory(cache);
  return cache; // a store object
}

function asTexts(input, what) {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((t) => typeof t === "string")) return input;
  throw new AdapterwasmError("invalid_argument", `${what}: want a string or an array of strings`);
}

export class AutoModelWithHeads {
  // fromPretrained fetches (once) and loads a base model.
  //   baseUrl   directory URL of the base model: manifest.json + its files, or the Hugging Face
  //             layout (config.json, tokenizer.json, model.safetensors); or a hub id ("name",
  //             "owner/name": not a URL, and in Node no existing path) fetched from
  //             {endpoint}/{id}/resolve/{revision}/ (hub.js; options revision, endpoint, token)
  //   options   { onProgress, cache, index, adapterBudgetBytes, wasm, kernels, gcPercent,
  //               memoryLimitBytes, fetch, dtype, q8Block, signal, timeout } (wasm, kernels and the GC
  //               settings only count for the first model of a realm: they start its Go
  //               instance; signal aborts this load's downloads; timeout, ms without data before
  //               a request fails, is also the model's for its adapter downloads)
  static async fromPretrained(baseUrl, options = {}) {
    const how = conversionOf(options.dtype, options.q8Block); // bad options fail before any request
    const fetchImpl = options.fetch ?? defaultFetch;
    const store = resolveStore(options.cache);
    const stats = new Stats();
    const hubId = typeof baseUrl === "string" && !isDirUrl(baseUrl) ? asHubId(baseUrl) : null;
    const base = hubId ? null : dirUrl(baseUrl);
    const progress = new LoadProgress(hubId ?? base.href, "model", options.onProgress);
    const net = { fetch: fetchImpl, signal: options.signal, timeout: options.timeout };
    let files = {};
    const unverified = new Unverified(store);
    let plan = { verified: false };
    let hub = null;
    // A Hugging Face base (no manifest) is converted in the Wasm module to dtype (convert.js) and
    // only the converted file is cached; conv says where, and holds it when the cache had it.
    let conv = null; // { dtype, tag, block, key, record, cached, name, fallback }
    const readCached = async () => {
      conv.cached = await readConverted(store, conv.key);
      if (conv.cached) {
        const p = progress.file(conv.key, conv.cached.byteLength);
        p.onChunk({ loaded: conv.cached.byteLength, total: conv.cached.byteLength, fromCache: true });
        p.done(conv.cached);
        stats.add(conv.key, conv.cached.byteLength, true);
      }
      return !!conv.cached;
    };
    const fetchAll = async () => {
      if (hubId) {
        conv = { ...how, name: hubId }; // (a prepared base runs as it was converted)
        const endpoint = hubEndpoint(options.endpoint);
        const atCommit = (commit) => {
          Object.assign(conv, { key: hubKey(endpoint, hubId, commit, conv.tag), revision: commit });
          return readCached();
        };
        hub = await fetchRepo(hubId, BASE_GROUPS, { ...net, endpoint: options.endpoint, revision: options.revision, token: options.token, offline: options.offline, store, stats, unverified, atCommit, onFile: (u) => progress.file(u) });
        Object.assign(files, hub.files);
        delete hub.files;
        delete hub.stopped;
        // The source's files are not kept: the converted file is (the records of the revision are).
        unverified.fetched = unverified.fetched.filter(([k]) => k.includes("?adapterwasm-"));
        return;
      }
      plan = await baseFiles(base, { ...net, keep: store });
      if (!plan.verified) {
        conv = { ...how, fallback: decodeURIComponent(base.pathname.split("/").filter(Boolean).pop() ?? "") };
        const k = await urlKey(base, conv.tag, { ...net, store });
        Object.assign(conv, { key: k.key, record: k.record });
        if (await readCached()) return;
        const groups = BASE_GROUPS.map((g) => (k.weights && g.names.includes(k.weights) ? { ...g, names: [k.weights] } : g));
        for (const g of groups) {
          let got = null;
          for (const [i, name] of g.names.entries()) {
            const url = new URL(name, base).href;
            const p = progress.file(url);
            // The last name of a required group is fetched as required: a 404 is code network, as ever.
            const bytes = await fetchFile(url, { ...net, stats, optional: g.optional || i < g.names.length - 1, onProgress: p.onChunk });
            p.done(bytes);
            if (bytes) {
              files[name] = bytes;
              got = name;
              break;
            }
          }
        }
        return;
      }
      if (options.dtype && plan.manifest?.dtype && options.dtype !== plan.manifest.dtype) {
        throw new AdapterwasmError("invalid_argument", `${base}: the model there is ${plan.manifest.dtype}, not ${options.dtype}`);
      }
      await Promise.all(
        plan.files.map((f) => progress.file(f.url, f.size)).map(async (p, i) => {
          const f = plan.files[i];
          const bytes = await fetchFile(f.url, { ...net, sha256: f.sha256, size: f.size, store, stats, optional: f.optional, onProgress: p.onChunk, unverified });
          p.done(bytes);
          if (bytes) files[f.name] = bytes;
        }),
      );
    };
    const [rt] = await Promise.all([loadRuntime(options.wasm, options.kernels, { gcPercent: options.gcPercent, memoryLimitBytes: options.memoryLimitBytes }, progress, options.threads, options.relaxedSimd, options.relaxedKernels), fetchAll()]);
    throwIfAborted(options.signal, hubId ?? base.href);
    let converted = null;
    if (conv?.cached) {
      files = { [MODEL_FILE]: conv.cached };
    } else if (conv) {
      converted = await convertInWasm(rt, files, conv.dtype, conv, progress);
      files = { [MODEL_FILE]: converted.file }; // the source's bytes are let go
      throwIfAborted(options.signal, hubId ?? base.href);
    }
    const [handle, info] = await unverified.around(async () => {
      const h = await rt.call(rt.api, "createModel", files);
      return [h, await rt.call(h, "info")];
    });
    // Kept only now that Go has built a model from it: a file that does not load is never cached.
    if (converted) await storeConverted(store, conv.key, converted, conv.record);
    const conversion = conv ? { dtype: conv.dtype, fromCache: !!conv.cached, ms: converted?.ms ?? 0, bytes: (conv.cached ?? converted.file).byteLength, sha256: converted?.sha256 } : null;
    const { signal, revision, ...kept } = options; // the signal and revision were this load's
    const model = new AutoModelWithHeads(rt, handle, info, { ...kept, fetch: fetchImpl, store, stats, verified: plan.verified, baseUrl: base?.href, hub, conversion });
    progress.ready();
    return model;
  }

  constructor(rt, handle, info, options) {
    this._rt = rt;
    this._h = handle;
    this.config = info;
    this._opt = options;
    this.stats = options.stats; // { bytesFetched, bytesFromCache, files }
    this.baseVerified = options.verified; // whether the base came with sha256s to check
    this.hub = options.hub ?? null; // a base loaded by hub id: { id, revision, commit, endpoint, fromCache }
    this.revision = options.hub?.commit ?? null; // the commit it was loaded at
    // a Hugging Face base converted in the Wasm module: { dtype, fromCache, ms, bytes, sha256 }
    this.conversion = options.conversion ?? null;
    this._active = null;
    this.activeHead = null; // a head name to use instead of the setup's own (Python's active_head)
    this._adapters = new Map(); // name -> { bytes, pins, used, info }
    this._loading = new Map(); // name -> Promise<name>
    this._calls = new Set(); // calls in flight that use adapters: { names: Promise<string[]>, list, done }
    this._unloading = new Map(); // name -> Promise<void> of unloadAdapter(name) under way
    this._budget = options.adapterBudgetBytes ?? DEFAULT_ADAPTER_BUDGET;
    this._clock = 0;
    this._disposed = false;
  }

  // activeAdapters is the setup classify runs: an adapter name, a composition block
  // (Stack, Fuse, Parallel, …) or an expression string. Setting it does not load anything:
  // the adapters it names are fetched on the next classify (or await setActiveAdapters).
  get activeAdapters() {
    return this._active;
  }
  set activeAdapters(setup) {
    checkSetup(setup);
    this._active = setup;
    this._activeNames = null;
  }

  // setActiveAdapters sets the setup, loads what it needs and checks it in Go.
  setActiveAdapters(setup) {
    return this._setActive(setup, []);
  }

  // _setActive and _classify take the names the caller saw being unloaded when it made the call
  // (the Web Worker client's, whose unload may have finished in the worker before the call
  // arrives): a call needing one of them is refused as if the unload were still under way.
  async _setActive(setup, unloading) {
    this.activeAdapters = setup;
    if (setup === null) return;
    await this._using(setup, () => this._call("setActive", String(setup), this.activeHead ?? ""), unloading);
  }

  get loadedAdapters() {
    return [...this._adapters.keys()];
  }

  // onProgress receives the progress events (progress.js) of every later load: adapters fetched
  // by loadAdapter or on demand. fromPretrained's option sets it.
  get onProgress() {
    return this._opt.onProgress ?? null;
  }
  set onProgress(f) {
    this._opt.onProgress = f ?? undefined;
  }

  // loadAdapter loads an adapter by name from an index, or from a directory URL; it resolves to
  // the adapter's name: the index entry's, or for a directory the name its adapter_config.json
  // was saved under (options.name loads it under another). Already loaded: resolves at once. A
  // directory whose adapter has the name of one loaded from elsewhere is refused (code
  // invalid_argument): unload that one first, or pass { name }.
  //   options { index, name, modelName, signal, timeout, source, revision, endpoint, token } (signal aborts the downloads; concurrent
  //   loads of one name share them, and its abort)
  // While unloadAdapter(name) is under way, loadAdapter(name) waits for it and then loads afresh.
  //   With { source: "hf" } nameOrUrl is a hub id ("owner/name"), fetched from
  //   {endpoint}/{id}/resolve/{revision}/ (options revision, endpoint, token; the latter two
  //   default to fromPretrained's); resolves to the name its adapter_config.json gives.
  async loadAdapter(nameOrUrl, options = {}) {
    this._check();
    if (options.source !== undefined && options.source !== "hf" && options.source !== "ah") {
      throw new AdapterwasmError("invalid_argument", `loadAdapter: source ${JSON.stringify(String(options.source).slice(0, 40))}: want "hf", "ah" (or none: an index name or a directory URL)`);
    }
    if (options.source === "ah") return this._loadAH(nameOrUrl, options);
    if (options.source === "hf" && !isDirUrl(nameOrUrl)) {
      if (!isHubId(nameOrUrl)) throw new AdapterwasmError("invalid_argument", `loadAdapter(${JSON.stringify(String(nameOrUrl).slice(0, 120))}, { source: "hf" }): not a hub id ("name" or "owner/name")`);
      return this._loadHub(nameOrUrl, options);
    }
    if (isDirUrl(nameOrUrl)) return this._loadDir(dirUrl(nameOrUrl).href, options);
    const name = options.name ?? nameOrUrl;
    await this._unloading.get(name)?.catch(() => {});
    return this._loadAdapter(nameOrUrl, name, false, options);
  }

  // _loadAdapter loads an adapter once (concurrent loads of one name share the download).
  _loadAdapter(nameOrUrl, name, isUrl, options) {
    if (this._adapters.has(name)) return name;
    if (!this._loading.has(name)) {
      const p = this._load(name, isUrl ? nameOrUrl : null, options).finally(() => this._loading.delete(name));
      this._loading.set(name, p);
    }
    return this._loading.get(name);
  }

  // _loadDir loads the adapter in directory dir (an absolute URL ending in "/") once: concurrent
  // loads of one directory share the download, and a directory already loaded resolves to its name.
  // Unloads under way finish first (which name the directory holds is only known from its config).
  async _loadDir(dir, options) {
    await Promise.all([...this._unloading.values()].map((p) => p.catch(() => {})));
    for (const [n, a] of this._adapters) if (a.url === dir && (!options.name || options.name === n)) return n;
    const key = `dir:${dir}:${options.name ?? ""}`;
    if (!this._loading.has(key)) {
      const p = this._load(null, dir, options).finally(() => this._loading.delete(key));
      this._loading.set(key, p);
    }
    return this._loading.get(key);
  }

  // _loadHub loads the adapter of hub id at options.revision once, as _loadDir a directory.
  async _loadHub(id, options) {
    const revision = options.revision ?? "main";
    await Promise.all([...this._unloading.values()].map((p) => p.catch(() => {})));
    const endpoint = hubEndpoint(options.endpoint ?? this._opt.endpoint);
    for (const [n, a] of this._adapters) if (a.hub?.id === id && a.hub.revision === revision && a.hub.endpoint === endpoint && (!options.name || options.name === n)) return n;
    const key = `hub:${endpoint}/${id}@${revision}:${options.name ?? ""}`;
    if (!this._loading.has(key)) {
      const p = this._load(null, null, options, id).finally(() => this._loading.delete(key));
      this._loading.set(key, p);
    }
    return this._loading.get(key);
  }

  // _loadAH loads an AdapterHub identifier ("task/subtask@org", "@org/file") as the adapters
  // library does (pull_from_hub): the Wasm module resolves it (adapters.ResolveAdapterHub) on the
  // base model's AdapterHub index, `{adapterHubUrl}index/{modelName}.json` (modelName: the option,
  // else the base's hub id, else its name), with options.config (a config string: its hash picks
  // the entry) and options.strict, to the repository "AdapterHub/<file>", which is then loaded from
  // the hub as { source: "hf" } (options revision, endpoint, token). The index is kept as listings
  // are, and in the store, so an id loaded before loads again offline.
  async _loadAH(identifier, options) {
    const shown = JSON.stringify(String(identifier).slice(0, 120));
    if (typeof identifier !== "string" || !identifier.trim() || identifier.length > 512) {
      throw new AdapterwasmError("invalid_argument", `loadAdapter(${shown}, { source: "ah" }): want an AdapterHub identifier such as "sentiment/sst-2@ukp" (at most 512 characters)`);
    }
    const modelName = options.modelName ?? this.hub?.id ?? this.config?.name;
    if (!isHubId(modelName)) {
      throw new AdapterwasmError("invalid_argument", `loadAdapter(${shown}, { source: "ah" }): the AdapterHub index is per base model: pass { modelName } (e.g. "bert-base-uncased"${modelName ? `; this model's name ${JSON.stringify(String(modelName).slice(0, 120))} is not a hub id` : ""})`);
    }
    let index = null;
    if (!/^@\S+\/\S+/.test(identifier.trim())) {
      const net = { fetch: this._opt.fetch, signal: options.signal, timeout: options.timeout ?? this._opt.timeout, keep: this._opt.store ?? null };
      index = await fetchAHIndex(modelName, { adapterHubUrl: options.adapterHubUrl ?? this._opt.adapterHubUrl }, net);
    }
    const id = await this._rt.call(this._rt.api, "resolveAdapterHub", index, identifier, modelName, options.config ?? "", !!options.strict);
    return this._loadHub(id, { ...options, source: "hf" });
  }

  // adapterInfo returns what Go says of a loaded adapter ({ name, kind, bytes, … }) and where it
  // came from: url (a directory) or hub ({ id, revision, commit, endpoint, fromCache }).
  adapterInfo(name) {
    const a = this._adapters.get(name);
    return a ? { ...a.info, url: a.url, hub: a.hub ?? null } : null;
  }

  async _load(name, url, options, hubId = null) {
    const { store, stats, fetch: fetchImpl } = this._opt;
    const progress = new LoadProgress(name ?? url ?? hubId, "adapter", this._opt.onProgress);
    const net = { fetch: fetchImpl, signal: options.signal, timeout: options.timeout ?? this._opt.timeout };
    // Go refuses an adapter whose files pass this (engine.MaxAdapterBytes); sizes are checked
    // against it before anything is fetched, allocated or cached.
    const max = this._rt.api.limits?.maxAdapterBytes ?? MAX_ADAPTER_BYTES;
    const unverified = new Unverified(store);
    const get = async (u, f = {}) => {
      const p = progress.file(u, f.size);
      const bytes = await fetchFile(u, { ...f, ...net, store, stats, onProgress: p.onChunk, unverified });
      p.done(bytes);
      return bytes;
    };
    const files = {};
    let hub = null;
    if (url || hubId) {
      const dir = url ? dirUrl(url) : null;
      if (hubId) {
        const o = { ...net, endpoint: options.endpoint ?? this._opt.endpoint, token: options.token ?? this._opt.token, offline: options.offline ?? this._opt.offline, revision: options.revision, maxBytes: max };
        hub = await fetchRepo(hubId, ADAPTER_GROUPS, { ...o, store, stats, unverified, onFile: (u) => progress.file(u) });
        Object.assign(files, hub.files);
        delete hub.files;
      } else {
        let left = max;
        for (const group of adapterFileGroups()) {
          for (const fname of group.names) {
            const bytes = await get(new URL(fname, dir).href, { optional: true, maxBytes: left });
            if (bytes) {
              files[fname] = bytes;
              left -= bytes.byteLength;
              break;
            }
          }
        }
      }
      const where = dir ?? `${hubId}@${hub.commit}`;
      if (!files["adapter_config.json"] && !files["adapter_fusion_config.json"]) {
        throw new AdapterwasmError("not_found", `${where}: no adapter_config.json or adapter_fusion_config.json`);
      }
      if (files["adapter_config.json"]) {
        // The name it was saved under (save_adapter writes it), not the URL's last segment:
        // two directories called ".../adapter/" hold two adapters.
        name = options.name ?? savedName(files["adapter_config.json"]) ?? (dir ? dir.pathname : hubId).split("/").filter(Boolean).pop();
        const had = this._adapters.get(name);
        if (had || this._loading.has(name)) {
          const from = had?.url ?? (had?.hub ? `${had.hub.id}@${had.hub.commit}` : "");
          throw new AdapterwasmError("invalid_argument", `${where}: an adapter named ${JSON.stringify(name)} is already ${had ? `loaded${from ? ` from ${from}` : ""}` : "loading"}; unload it first, or load this one under another name: loadAdapter(${hubId ? "id" : "url"}, { name })`);
        }
        // Claim the name while it loads: a second directory with it is refused, a call needing it waits.
        const claim = this._install(name, url, files, options, progress, unverified, hub);
        this._loading.set(name, claim);
        const unclaim = () => this._loading.get(name) === claim && this._loading.delete(name);
        claim.then(unclaim, unclaim);
        return claim;
      }
    } else {
      const indexUrl = options.index ?? this._opt.index;
      if (!indexUrl) throw new AdapterwasmError("invalid_argument", `loadAdapter(${JSON.stringify(name)}): no index given; pass { index } or a directory URL`);
      const index = await loadIndex(indexUrl, { ...net, keep: store });
      const entry = index.find(name, options.modelName);
      if (!entry) throw new AdapterwasmError("not_found", `adapter ${JSON.stringify(name)} is not in ${index.url}`);
      name = entry.name; // when asked for by id
      const declared = entry.files.reduce((n, f) => n + (Number(f.size) || 0), 0);
      if (declared > max) throw new AdapterwasmError("invalid_argument", `adapter ${JSON.stringify(name)}: its files are ${declared} bytes (${index.url}); at most ${max}`);
      await Promise.all(
        entry.files.map(async (f) => {
          files[f.name] = await get(new URL(f.name, entry.url).href, { sha256: f.sha256, size: f.size, maxBytes: max });
        }),
      );
    }
    return this._install(name, url, files, options, progress, unverified);
  }

  // _install loads the fetched files into Go under name (url: the directory they came from, or
  // null); unverified (fetch.js) caches those no sha256 vouched for once Go accepts them.
  async _install(name, url, files, options, progress, unverified, hub = null) {
    throwIfAborted(options.signal, name ?? url);
    this._check();
    // A fusion keeps its saved name ("a,b", what Fuse(a,b) looks for) unless one is asked for.
    const isFusion = !!files["adapter_fusion_config.json"];
    const loadAs = options.name ?? (isFusion ? "" : name);
    if (isFusion && this._adapters.has(options.name)) {
      throw new AdapterwasmError("invalid_argument", `a fusion named ${JSON.stringify(options.name)} is already loaded; unload it first`);
    }
    const info = await unverified.around(() => this._call("loadAdapter", loadAs, files));
    const bytes = info.bytes || Object.values(files).reduce((n, b) => n + b.byteLength, 0);
    this._adapters.set(info.name, { bytes, pins: 0, used: ++this._clock, info, url: url ? dirUrl(url).href : null, hub });
    await this._evict(info.name);
    progress.name = info.name;
    progress.ready();
    return info.name;
  }

  // _evict unloads least recently used adapters until the loaded ones fit the budget, sparing
  // those in use, those of the active setup and keep.
  async _evict(keep) {
    const active = new Set(this._activeNames ?? []);
    let total = 0;
    for (const a of this._adapters.values()) total += a.bytes;
    for (const c of this._calls) for (const n of c.list ?? []) active.add(n); // calls about to pin theirs
    const victims = [...this._adapters.entries()]
      .filter(([n, a]) => n !== keep && a.pins === 0 && !active.has(n) && a.info.kind === "adapter")
      .sort((x, y) => x[1].used - y[1].used);
    for (const [n, a] of victims) {
      if (total <= this._budget) break;
      total -= this._forget(n);
      await this._call("unloadAdapter", n);
    }
  }

  // _names asks Go which adapters and fusions a setup needs (the setup parser is Go's).
  async _names(setup) {
    const key = String(setup);
    this._namesCache ??= new Map();
    if (!this._namesCache.has(key)) this._namesCache.set(key, await this._rt.call(this._rt.api, "setupNames", key));
    return this._namesCache.get(key);
  }

  // _acquire loads what setup needs and is not loaded (adapters first, then fusions over them,
  // from the index) and pins it all until the returned release is called, so that eviction never
  // drops an adapter a call is using.
  async _acquire(setup) {
    const { adapters, fusions } = await this._names(setup);
    if (setup === this._active) this._activeNames = [...adapters, ...fusions];
    const load = (n) => this._loadAdapter(n, n, false, {}); // not loadAdapter: it would wait for an unload that waits for this call
    await Promise.all(adapters.filter((n) => !this._adapters.has(n)).map(load));
    await Promise.all(fusions.filter((n) => !this._adapters.has(n) && (this._opt.index || this._loading.has(n))).map(load));
    const held = [...adapters, ...fusions].map((n) => this._adapters.get(n)).filter(Boolean);
    for (const a of held) {
      a.pins++;
      a.used = ++this._clock;
    }
    return () => held.forEach((a) => a.pins--);
  }

  // _forget drops the books of an adapter and of the fusions over it (Go unloads those with it);
  // it returns the bytes freed.
  _forget(name) {
    let freed = 0;
    for (const [n, a] of this._adapters) {
      if (n === name || (a.info.kind === "fusion" && n.split(",").includes(name))) {
        freed += a.bytes;
        this._adapters.delete(n);
      }
    }
    return freed;
  }

  // _using runs f with the adapters setup needs loaded and pinned. The call is registered at
  // once (synchronously), so that an unloadAdapter issued after it waits for it; a call issued
  // while an adapter it needs is being unloaded is refused with code "setup".
  _using(setup, f, alsoUnloading = []) {
    const unloading = [...this._unloading.keys(), ...alsoUnloading]; // unloads begun before this call
    const rec = { names: null, list: null, done: null };
    rec.names = this._names(setup).then(({ adapters, fusions }) => (rec.list = [...adapters, ...fusions]));
    rec.done = (async () => {
      const names = await rec.names;
      const hit = unloading.find((u) => names.some((n) => usesAdapter(n, u)));
      if (hit !== undefined) throw new AdapterwasmError("setup", `adapter ${JSON.stringify(hit)} is being unloaded`);
      const release = await this._acquire(setup);
      try {
        return await f();
      } finally {
        release();
      }
    })();
    this._calls.add(rec);
    const forget = () => this._calls.delete(rec);
    rec.done.then(forget, forget);
    return rec.done;
  }

  // unloadAdapter drops an adapter, its head and the fusions over it (or a fusion by name). Calls
  // issued before it that use the adapter (classify, setActiveAdapters) finish with it; it
  // resolves after them. Calls issued while it is under way that need the adapter reject with
  // code "setup"; once it has resolved the adapter is simply not loaded (a later call fetches it
  // again from the index, as after an eviction). An adapter neither loaded, loading, nor used by
  // a call in flight: code "not_found". Unloading one name twice at once gives the same promise.
  // trainAdapter trains a new adapter and its head on this model's base, in the Wasm module (Go
  // package train: the base frozen, torch.optim.AdamW, the adapters library's initialisation, no
  // dropout), one optimizer step per turn of the event loop: onProgress gets
  // { status: "training", name, epoch, epochs, step, steps, loss, examples, epochDone,
  // devAccuracy, done } after each step, and an AbortSignal (signal) stops it between steps (code
  // "aborted"). examples are [{ text, label }] ({ text, labels: [...] } with head
  // "multilabel_classification"). Options: config ("seq_bn"; any config string the trainer
  // supports), head, labels (id order; default the examples' labels, sorted; at most 1,024 of at
  // most 256 bytes each), epochs (3), lr (1e-4), batchSize (16), maxLength, seed (42), dev
  // (held-out examples: each epoch's last step, epochDone, reports devAccuracy on them).
  // It resolves to the adapter's info once it is loaded under name, usable at once
  // (activeAdapters = name); saveAdapter(name) returns its files.
  async trainAdapter(name, examples, options = {}) {
    this._check();
    if (typeof name !== "string" || name === "") throw new AdapterwasmError("invalid_argument", "trainAdapter: name must be a non-empty string");
    if (!Array.isArray(examples)) throw new AdapterwasmError("invalid_argument", "trainAdapter: examples must be an array of { text, label }");
    if (this._adapters.has(name)) throw new AdapterwasmError("invalid_argument", `trainAdapter: an adapter named ${JSON.stringify(name)} is loaded; unload it first`);
    const { onProgress, signal, config, head, labels, epochs, lr, batchSize, maxLength, seed, dev } = options;
    throwIfAborted(signal, `trainAdapter(${JSON.stringify(name)})`);
    if (dev !== undefined && !Array.isArray(dev)) throw new AdapterwasmError("invalid_argument", "trainAdapter: dev must be an array of { text, label }");
    await this._call("trainBegin", name, JSON.stringify(examples), JSON.stringify({ config, head, labels, epochs, lr, batchSize, maxLength, seed, dev }));
    try {
      for (;;) {
        throwIfAborted(signal, `trainAdapter(${JSON.stringify(name)})`);
        const p = await this._call("trainStep");
        onProgress?.({ status: "training", name, ...p });
        if (p.done) break;
        await new Promise((r) => setTimeout(r, 0));
      }
    } catch (e) {
      await this._call("trainCancel").catch(() => {});
      throw e;
    }
    const info = (await this._call("adapters")).find((a) => a.name === name);
    this._adapters.set(name, { bytes: 0, pins: 0, used: ++this._clock, info, url: null, hub: null });
    return info;
  }

  // saveAdapter returns the files the adapters library's save_adapter + save_head write for an
  // adapter trained by trainAdapter: { "adapter_config.json": Uint8Array, "pytorch_adapter.bin",
  // "head_config.json", "pytorch_model_head.bin" } (format "safetensors": adapter.safetensors and
  // model_head.safetensors). Python's load_adapter(dir) and loadAdapter(url) load them unchanged.
  async saveAdapter(name, { format = "bin" } = {}) {
    this._check();
    return this._call("saveAdapter", String(name), String(format));
  }

  unloadAdapter(name) {
    if (this._disposed) return Promise.reject(new AdapterwasmError("closed", "model was disposed"));
    if (this._unloading.has(name)) return this._unloading.get(name);
    const inFlight = [...this._calls]; // calls issued before this unload
    const known = this._adapters.has(name) || this._loading.has(name);
    const p = (async () => {
      await this._loading.get(name)?.catch(() => {});
      let used = false;
      await Promise.all(
        inFlight.map(async (c) => {
          const names = await c.names.catch(() => []);
          if (!names.some((n) => usesAdapter(n, name))) return;
          used = true;
          await c.done.catch(() => {});
        }),
      );
      if (!this._adapters.has(name)) {
        if (known || used) return; // gone meanwhile (evicted, or a load that failed)
        throw new AdapterwasmError("not_found", `adapter ${JSON.stringify(name)} is not loaded`);
      }
      this._forget(name);
      await this._call("unloadAdapter", name);
    })();
    const done = p.finally(() => this._unloading.delete(name));
    this._unloading.set(name, done);
    return done;
  }

  // classify runs the active setup (or options.adapters, with options.head) on a text or texts.
  // One result per text, shaped as `adapterwasm classify` prints it:
  //   one classification head  { label, score, scores: {label: p}, logits, labels? (multi-label) }
  //   one tagging head         { words: [{word, start, end, label, score}], tokens: [...] }
  //   Parallel(a, b)           { heads: { a: {…}, b: {…} } }
  //   BatchSplit(a, b)         the result of the head that read the text, with head: name
  // options.taskIds (or task_ids, as Python's): MultiTask's task per text, an index or a name.
  classify(input, options = {}) {
    return this._classify(input, options, []);
  }

  async _classify(input, options, unloading) {
    const texts = asTexts(input, "classify");
    const setup = options.adapters ?? this._active;
    if (!setup) throw new AdapterwasmError("setup", "no active adapters: set model.activeAdapters first");
    const head = options.head ?? this.activeHead ?? "";
    const taskIds = options.taskIds ?? options.task_ids;
    return this._using(setup, () => this._call("classify", texts, String(setup), head, taskIds), unloading);
  }

  // embed returns a sentence embedding per text (mean pooling by default, as sentence-transformers).
  //   options { pooling: "mean" | "cls", normalize }
  async embed(input, options = {}) {
    const texts = asTexts(input, "embed");
    const { dim, data } = await this._call("embed", texts, { pooling: options.pooling ?? "mean", normalize: !!options.normalize });
    return texts.map((_, i) => data.subarray(i * dim, (i + 1) * dim));
  }

  // tokenize returns { inputIds, tokens, attentionMask } per text.
  async tokenize(input, options = {}) {
    return this._call("tokenize", asTexts(input, "tokenize"), options.maxLength ?? 0);
  }

  // simd tells whether the Wasm SIMD kernels run the matmuls (false: Go's plain kernels).
  get simd() {
    return this._rt.simd;
  }

  // relaxedSimd tells whether the int8 products take the relaxed-SIMD kernel's 7-bit recipe (the
  // option relaxedSimd): on relaxed-SIMD instructions where the engine has them (Chromium, Node
  // 24), else on a plain-SIMD kernel, or without the kernel module in plain Go, with the same
  // results.
  get relaxedSimd() {
    return this._rt.relaxed;
  }

  // kernels names what runs the products, as Go's kernels.Name and the Worker's /healthz do:
  // "wasm-simd", "wasm-simd+relaxed" (the relaxed recipe on relaxed-SIMD instructions),
  // "wasm-simd+u7" (that recipe on its plain-SIMD twin), "go" (the plain-Go kernels) or "go+u7"
  // (the relaxed recipe in plain Go).
  get kernels() {
    if (!this._rt.simd) return this._rt.relaxed ? "go+u7" : "go";
    if (!this._rt.relaxed) return "wasm-simd";
    return this._rt.relaxedNative ? "wasm-simd+relaxed" : "wasm-simd+u7";
  }

  // threads is how many threads the large matrix products run on (1: this one only); threadsNote
  // says why it is fewer than the threads option asked for (or than the default), else null.
  // Both are the realm's Go instance's, set by the first model loaded in it.
  get threads() {
    return this._rt.threads;
  }

  get threadsNote() {
    return this._rt.threadsNote;
  }

  // memory reports the Wasm linear memory and the Go heap in bytes.
  async memory() {
    const s = await this._rt.call(this._rt.api, "memStats");
    return { wasmMemoryBytes: this._rt.memoryBytes, ...s };
  }

  // dispose frees the model in Go; every later call rejects with code "closed".
  dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._adapters.clear();
    if (!this._rt.exited) this._h.free();
  }

  _check() {
    if (this._disposed) throw new AdapterwasmError("closed", "model was disposed");
  }

  _call(method, ...args) {
    this._check();
    return this._rt.call(this._h, method, ...args);
  }
}

// savedName is the "name" field of an adapter_config.json (adapters' save_adapter writes it), or
// undefined when it has none or is not JSON (Go's loader then says what is wrong with the file).
function savedName(bytes) {
  try {
    const n = JSON.parse(new TextDecoder().decode(bytes))?.name;
    return typeof n === "string" && n !== "" ? n : undefined;
  } catch {
    return undefined;
  }
}

// usesAdapter tells whether loaded name n goes when adapter (or fusion) name is unloaded: n itself,
// or a fusion over it (fusions are named "a,b").
function usesAdapter(n, name) {
  return n === name || n.split(",").includes(name);
}

// listAdapters lists adapters, as adapters' list_adapters(source, model_name) (listing.js):
//   source "hf"     the hub's model API ({endpoint}/api/models, both libraries' filters)
//          "ah"     AdapterHub's archived all.json (adapterHubUrl)
//          "index"  the static index.json given as index
//          "all"    index (if given), then "ah", then "hf"
//          none     index alone when one is given (a static site needs no hub), else "ah" + "hf"
// cache: as fromPretrained's, but none by default: with one, each listing answer is kept and
// answers when its source cannot be reached (a new process offline).
// modelName keeps the adapters trained for that model (hub entries: exactly; index entries
// without one fit every model, as before). Hub entries: { source, id, modelName, task, subtask,
// username, method, sha1Checksum, pipelineTag, adapterConfig } where known; index entries their
// own fields plus source "index" and id.
export async function listAdapters({ source, index, modelName, runnable = false, endpoint, token, adapterHubUrl, cache = false, fetch: fetchImpl, signal, timeout } = {}) {
  if (![undefined, "hf", "ah", "index", "all"].includes(source)) {
    throw new AdapterwasmError("invalid_argument", `listAdapters: source ${JSON.stringify(String(source).slice(0, 40))}: want "hf", "ah", "index" or "all"`);
  }
  if (source === "index" && !index) throw new AdapterwasmError("invalid_argument", `listAdapters: source "index" needs { index }`);
  // cache (none by default): a store or directory that keeps the listings for offline use.
  const net = { fetch: fetchImpl ?? defaultFetch, signal, timeout, keep: resolveStore(cache) };
  let out = [];
  if (index && (source === undefined || source === "index" || source === "all")) {
    const idx = await loadIndex(index, net);
    out = idx.entries.filter((e) => !modelName || !e.modelName || e.modelName === modelName).map((e) => ({ id: e.id ?? e.name, ...e, source: "index" }));
  }
  if (source === "hf" || source === "ah" || source === "all" || (source === undefined && !index)) {
    out = out.concat(await listHub({ source: source === "all" ? undefined : source, modelName, endpoint, token, adapterHubUrl }, net));
  }
  // runnable: only adapters for architectures this runtime runs (list --runnable)
  return runnable ? out.filter(isRunnable) : out;
}
