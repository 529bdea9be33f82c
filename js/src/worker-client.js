// WorkerModelWithHeads: AutoModelWithHeads's API, with the model in a module Web Worker so that
// loading and inference never block the page. Same methods, same results, same errors
// (AdapterwasmError with its code).
import { checkSetup } from "./composition.js";
import { AdapterwasmError, fromPlain } from "./errors.js";
import { isHubId } from "./hub.js";
import { absUrl, isDirUrl } from "./registry.js";
import { poolClass } from "./worker-pool.js";

export class WorkerModelWithHeads {
  // fromPretrained starts a worker (or uses options.worker) and loads the base model in it.
  // options: those of AutoModelWithHeads.fromPretrained, except that cache is true/false or a
  // Cache API name, and wasm a URL string; plus worker (a Worker to use). onProgress stays: it
  // gets the progress events (progress.js) of the base and of every adapter loaded later
  // (model.onProgress = f replaces it).
  static async fromPretrained(baseUrl, options = {}) {
    const { worker, onProgress, signal, ...rest } = options;
    // A hub id goes as it is (the worker resolves it: hub.js); a URL is made absolute here.
    const abs = typeof baseUrl === "string" && !isDirUrl(baseUrl) && isHubId(baseUrl) ? baseUrl : absUrl(baseUrl).href;
    for (const k of ["index", "wasm"]) if (typeof rest[k] === "string" || rest[k] instanceof URL) rest[k] = absUrl(rest[k]).href;
    const client = new this(worker ?? this._startWorker(), worker ? null : this._workerUrl());
    client.onProgress = onProgress ?? null;
    let info;
    try {
      info = await client._rpc("fromPretrained", [abs, { ...rest, progress: true }], signal);
    } catch (e) {
      if (!worker) client.dispose(); // a worker it started: end it
      throw e;
    }
    client.config = info.config;
    client.baseVerified = info.baseVerified;
    client.simd = info.simd;
    client.relaxedSimd = info.relaxedSimd ?? false;
    client.kernels = info.kernels;
    client.threads = info.threads;
    client.threadsNote = info.threadsNote;
    client.stats = info.stats;
    client.revision = info.revision;
    client.hub = info.hub;
    client.conversion = info.conversion ?? null;
    return client;
  }

  // _startWorker starts the worker the model runs in (node-worker-client.js: a worker thread).
  // Keep the expression as it is: Vite and webpack bundle the script of exactly this pattern.
  static _startWorker() {
    return new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  }

  // _workerUrl names the script _startWorker runs, for error messages; not by new URL(…,
  // import.meta.url), which bundlers would take for a second reference to emit.
  static _workerUrl() {
    return String(import.meta.url).replace(/[^/?#]*([?#].*)?$/, "worker.js");
  }

  constructor(worker, scriptUrl = null) {
    this._w = worker;
    this.onProgress = null;
    this._next = 1;
    this._pending = new Map();
    this._unloading = new Map(); // name -> Promise of unloadAdapter(name) under way
    this._active = null;
    this.activeHead = null;
    const onMessage = (data) => {
      const { id, ok, value, error, progress } = data;
      if (progress) {
        const own = this._pending.get(id)?.onProgress; // a call's own handler (trainAdapter)
        return own ? own(progress) : this.onProgress?.(progress);
      }
      const p = this._pending.get(id);
      if (!p) return;
      this._pending.delete(id);
      ok ? p.resolve(value) : p.reject(fromPlain(error));
    };
    // A worker that fails (an uncaught error, a thread that exits) fails every call in flight and
    // every later one with code "exited"; a new fromPretrained starts a new worker.
    const onFailure = (message) => {
      // A browser says nothing about a script that could not be fetched or parsed (an ErrorEvent
      // without message): say which script, and what to pass instead.
      const what = message || `the worker script${scriptUrl ? ` ${scriptUrl}` : ""} did not load or threw at start (not emitted by the bundler, a 404, or a syntax error); pass options.worker: a module Worker running adapterwasm/worker-script (README: Bundling)`;
      this._failed ??= new AdapterwasmError("exited", `worker failed: ${what}; load the model again`);
      for (const p of this._pending.values()) p.reject(this._failed);
      this._pending.clear();
    };
    if (typeof worker.on === "function" && !("onmessage" in worker)) {
      // A Node worker thread (an EventEmitter).
      worker.on("message", onMessage);
      worker.on("error", (e) => onFailure(e?.message));
      worker.on("exit", (code) => onFailure(`the worker thread exited (code ${code})`));
    } else {
      worker.onmessage = (ev) => onMessage(ev.data);
      worker.onerror = (ev) => onFailure(ev.message);
    }
  }

  // _rpc posts a call. An AbortSignal cannot cross postMessage: its abort is posted as a message
  // of its own, { op: "abort", args: [id] }, which aborts the call's downloads in the worker.
  _rpc(op, args, signal, onProgress) {
    if (!this._w) return Promise.reject(new AdapterwasmError("closed", "model was disposed"));
    if (this._failed) return Promise.reject(this._failed);
    const id = this._next++;
    const p = new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, onProgress });
      this._w.postMessage({ id, op, args, signal: !!signal });
    });
    if (signal) {
      const abort = () => this._w?.postMessage({ id: 0, op: "abort", args: [id, signal.reason?.message] });
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
      const off = () => signal.removeEventListener("abort", abort);
      p.then(off, off);
    }
    return p;
  }

  get activeAdapters() {
    return this._active;
  }
  set activeAdapters(setup) {
    checkSetup(setup);
    this._active = setup;
  }

  async setActiveAdapters(setup) {
    this.activeAdapters = setup;
    await this._rpc("setActiveAdapters", [setup === null ? null : String(setup), this.activeHead, [...this._unloading.keys()]]);
  }

  async loadAdapter(nameOrUrl, options = {}) {
    const u = isDirUrl(nameOrUrl) ? absUrl(nameOrUrl).href : nameOrUrl;
    const { signal, ...opts } = options;
    if (opts.index) opts.index = absUrl(opts.index).href;
    return this._rpc("loadAdapter", [u, opts], signal);
  }

  // trainAdapter and saveAdapter are AutoModelWithHeads's, run in the worker (onProgress is called
  // here with each step's progress; the signal's abort is posted to the worker).
  trainAdapter(name, examples, options = {}) {
    const { signal, onProgress, ...opts } = options;
    return this._rpc("trainAdapter", [name, examples, { ...opts, progress: !!onProgress }], signal, onProgress);
  }

  saveAdapter(name, options = {}) {
    return this._rpc("saveAdapter", [name, options]);
  }

  // unloadAdapter has AutoModelWithHeads's semantics: messages reach the worker in the order they
  // were posted and each call registers there before the next message is read, so the calls posted
  // before it finish with the adapter and it resolves after them. Calls posted while it is under
  // way here carry the names being unloaded (the unload may be over in the worker by the time they
  // arrive) and reject with code "setup" if they need one.
  unloadAdapter(name) {
    if (!this._unloading.has(name)) {
      const p = this._rpc("unloadAdapter", [name]);
      const forget = () => this._unloading.delete(name);
      p.then(forget, forget);
      this._unloading.set(name, p);
    }
    return this._unloading.get(name);
  }

  classify(input, options = {}) {
    const setup = options.adapters ?? this._active;
    const head = options.head ?? this.activeHead ?? undefined;
    const taskIds = options.taskIds ?? options.task_ids;
    return this._rpc("classify", [input, { adapters: setup == null ? undefined : String(setup), head, taskIds }, [...this._unloading.keys()]]);
  }

  embed(input, options = {}) {
    return this._rpc("embed", [input, options]);
  }

  tokenize(input, options = {}) {
    return this._rpc("tokenize", [input, options]);
  }

  memory() {
    return this._rpc("memory", []);
  }

  async refreshStats() {
    this.stats = await this._rpc("stats", []);
    return this.stats;
  }

  // dispose frees the model and ends the worker.
  dispose() {
    if (!this._w) return;
    this._w.postMessage({ id: 0, op: "dispose", args: [] });
    this._w.terminate();
    this._w = null;
    const err = new AdapterwasmError("closed", "model was disposed");
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
  }
}

// WorkerModelPool: n WorkerModelWithHeads behind one model's API, a batch split between them
// (worker-pool.js).
export const WorkerModelPool = poolClass(WorkerModelWithHeads);

export { Stack, Fuse, Parallel, Split, BatchSplit, Average, MultiTask, AdapterSetup } from "./composition.js";
export { AdapterwasmError } from "./errors.js";
