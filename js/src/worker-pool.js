// WorkerModelPool: several copies of one model, each a WorkerModelWithHeads (its own worker, Go
// instance and memory, one kernel thread unless options.threads says otherwise), behind one
// model's API. A batch is split between them by length and run at once, the results put back in
// the order of the texts; a single text goes to the least busy. Each text's answer is the one a
// single model gives for it (every answer is independent of the rest of its batch), so the pool
// changes the throughput, never a result. For batches of 8 and more on 2 cores two instances beat
// one instance's kernel threads (README: Performance), at twice the model's memory; where memory
// cannot be shared (no cross-origin isolation) they are the only way to use more than one core.
import { checkSetup } from "./composition.js";
import { AdapterwasmError } from "./errors.js";

// MAX_INSTANCES bounds options.instances (each instance holds the whole model).
export const MAX_INSTANCES = 16;

// poolClass returns the pool class over Client, a WorkerModelWithHeads class (the Web Worker one,
// or Node's worker-thread one).
export function poolClass(Client) {
  return class WorkerModelPool {
    // fromPretrained loads the base in options.instances (default 2) workers: the first alone (it
    // fills the cache, when there is one, that the others then read), then the others at once.
    // options: WorkerModelWithHeads.fromPretrained's, except worker (each instance starts its own);
    // threads defaults to 1. onProgress gets the first instance's progress.
    static async fromPretrained(baseUrl, options = {}) {
      const { instances = 2, onProgress, worker, ...rest } = options;
      if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) {
        throw new AdapterwasmError("invalid_argument", `instances: want an integer from 1 to ${MAX_INSTANCES}, got ${instances}`);
      }
      if (worker !== undefined) throw new AdapterwasmError("invalid_argument", "worker: a pool starts a worker per instance");
      const opts = { threads: 1, ...rest };
      const first = await Client.fromPretrained(baseUrl, { ...opts, onProgress });
      const others = await Promise.allSettled(Array.from({ length: instances - 1 }, () => Client.fromPretrained(baseUrl, opts)));
      const failed = others.find((r) => r.status === "rejected");
      if (failed) {
        first.dispose();
        for (const r of others) if (r.status === "fulfilled") r.value.dispose();
        throw failed.reason;
      }
      return new this([first, ...others.map((r) => r.value)]);
    }

    constructor(models) {
      this.models = models;
      const m = models[0];
      for (const k of ["config", "baseVerified", "revision", "hub", "conversion", "simd", "relaxedSimd", "kernels", "threads", "threadsNote"]) this[k] = m[k];
      this._active = null;
      this.activeHead = null;
    }

    // instances is how many copies of the model the pool runs.
    get instances() {
      return this.models.length;
    }

    get onProgress() {
      return this.models[0]?.onProgress ?? null;
    }
    set onProgress(f) {
      if (this.models[0]) this.models[0].onProgress = f;
    }

    get activeAdapters() {
      return this._active;
    }
    set activeAdapters(setup) {
      checkSetup(setup);
      this._active = setup;
      for (const m of this.models) m.activeAdapters = setup;
    }

    async setActiveAdapters(setup) {
      this.activeAdapters = setup;
      await this._all((m) => {
        m.activeHead = this.activeHead;
        return m.setActiveAdapters(setup);
      });
    }

    // loadAdapter loads the adapter into every instance: the first, then the others at once (from
    // the cache the first filled, when there is one); it resolves with its name.
    async loadAdapter(nameOrUrl, options = {}) {
      const [first, ...others] = this._live();
      const name = await first.loadAdapter(nameOrUrl, options);
      const names = await Promise.all(others.map((m) => m.loadAdapter(nameOrUrl, options)));
      for (const n of names) if (n !== name) throw new AdapterwasmError("internal", `loadAdapter: instances named the adapter ${name} and ${n}`);
      return name;
    }

    async unloadAdapter(name) {
      await this._all((m) => m.unloadAdapter(name));
    }

    // classify splits a batch between the instances (not when the setup is a BatchSplit, whose
    // batch sizes are the whole batch's, or taskIds is not one per text: one instance then runs
    // it, and says what is wrong with it).
    async classify(input, options = {}) {
      const adapters = options.adapters ?? this._active ?? undefined;
      const head = options.head ?? this.activeHead ?? undefined;
      const { task_ids, ...rest } = options;
      const taskIds = options.taskIds ?? task_ids;
      const opts = { ...rest, adapters, head, taskIds };
      const perText = taskIds === undefined || (Array.isArray(input) && (Array.isArray(taskIds) || ArrayBuffer.isView(taskIds)) && taskIds.length === input.length);
      if (!perText || /\bBatchSplit\(/.test(String(adapters))) return this._one().classify(input, opts);
      return this._split(input, (m, texts, idx) => m.classify(texts, taskIds === undefined ? opts : { ...opts, taskIds: idx.map((i) => taskIds[i]) }), (m) => m.classify(input, opts));
    }

    async embed(input, options = {}) {
      return this._split(input, (m, texts) => m.embed(texts, options), (m) => m.embed(input, options));
    }

    async tokenize(input, options = {}) {
      return this._one().tokenize(input, options);
    }

    // memory is each instance's, in an array.
    async memory() {
      return this._all((m) => m.memory());
    }

    dispose() {
      for (const m of this.models) m.dispose();
    }

    // _split runs a batch (an array of two texts or more) on the instances, each a share of about
    // equal total length, in the texts' order within each share, and returns the results in the
    // order of input; anything else runs on one instance (whole).
    async _split(input, part, whole) {
      const models = this._live();
      if (!Array.isArray(input) || input.length < 2 || models.length < 2 || !input.every((t) => typeof t === "string")) return whole(this._one());
      const shares = models.map(() => ({ idx: [], len: 0 }));
      // longest first, each to the share with the least text so far
      const order = input.map((t, i) => i).sort((a, b) => input[b].length - input[a].length || a - b);
      for (const i of order) {
        const s = shares.reduce((x, y) => (y.len < x.len ? y : x));
        s.idx.push(i);
        s.len += input[i].length + 16;
      }
      const used = shares.map((s, k) => ({ m: models[k], idx: s.idx.sort((a, b) => a - b) })).filter((s) => s.idx.length);
      const parts = await Promise.all(used.map(({ m, idx }) => part(m, idx.map((i) => input[i]), idx)));
      const out = new Array(input.length);
      used.forEach(({ idx }, k) => idx.forEach((i, j) => (out[i] = parts[k][j])));
      return out;
    }

    // _one is the instance with the fewest calls in flight.
    _one() {
      return this._live().reduce((x, y) => (y._pending.size < x._pending.size ? y : x));
    }

    // _live is the instances still working: a copy whose worker failed (code exited) is left out,
    // so the pool goes on with the others; with none left, calls reject as that copy's did.
    _live() {
      const live = this.models.filter((m) => m._w && !m._failed);
      if (live.length) return live;
      throw this.models.find((m) => m._w && m._failed)?._failed ?? new AdapterwasmError("closed", "model was disposed");
    }

    _all(f) {
      return Promise.all(this._live().map(f));
    }
  };
}
