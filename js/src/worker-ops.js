// The worker side of WorkerModelWithHeads, for any worker: a module Web Worker (worker.js) or a
// Node worker thread (node-worker.js). The model lives there, off the caller's thread.
// Messages: { id, op, args, signal? } in; { id, ok, value } | { id, ok: false, error } | { id, progress } out.
// A call posted with signal: true gets an AbortSignal (options.signal of fromPretrained and
// loadAdapter), aborted by a later { op: "abort", args: [id, reason] }.
// Each op is started synchronously when its message arrives, so calls register with the model in
// the order they were posted (unloadAdapter relies on it).
import { toPlain } from "./errors.js";

// serve returns the handler of incoming messages' data. post(message, transfer) answers;
// AutoModelWithHeads and listAdapters are the realm's (index.js or node.js); cacheOption maps the
// client's cache option to fromPretrained's.
export function serve(post, { AutoModelWithHeads, listAdapters, cacheOption = (c) => c }) {
  let model = null;
  const aborts = new Map(); // id -> AbortController of a call posted with signal: true

  function need() {
    if (!model) throw new Error("no model: call fromPretrained first");
    return model;
  }

  const ops = {
    async fromPretrained(id, baseUrl, opts) {
      const { progress, cache, ...rest } = opts;
      if (model) model.dispose();
      model = await AutoModelWithHeads.fromPretrained(baseUrl, {
        ...rest,
        signal: aborts.get(id)?.signal,
        cache: cacheOption(cache),
        // Every load's events, the base's and later adapters' (the client's onProgress persists).
        onProgress: progress ? (p) => post({ id, progress: p }) : undefined,
      });
      return { config: model.config, baseVerified: model.baseVerified, simd: model.simd, relaxedSimd: model.relaxedSimd, kernels: model.kernels, threads: model.threads, threadsNote: model.threadsNote, stats: { ...model.stats }, revision: model.revision, hub: model.hub, conversion: model.conversion };
    },
    loadAdapter: (id, nameOrUrl, opts) => need().loadAdapter(nameOrUrl, { ...opts, signal: aborts.get(id)?.signal }),
    unloadAdapter: (id, name) => need().unloadAdapter(name),
    trainAdapter: (id, name, examples, opts) => {
      const { progress, ...rest } = opts ?? {};
      return need().trainAdapter(name, examples, { ...rest, signal: aborts.get(id)?.signal, onProgress: progress ? (p) => post({ id, progress: p }) : undefined });
    },
    saveAdapter: (id, name, opts) => need().saveAdapter(name, opts),
    // unloading: the adapters the client was unloading when it sent the call (worker-client.js).
    async setActiveAdapters(id, setup, head, unloading = []) {
      need().activeHead = head ?? null;
      await need()._setActive(setup, unloading);
    },
    classify: (id, input, opts, unloading = []) => need()._classify(input, opts, unloading),
    embed: (id, input, opts) => need().embed(input, opts),
    tokenize: (id, input, opts) => need().tokenize(input, opts),
    memory: () => need().memory(),
    stats: () => ({ ...need().stats, loadedAdapters: need().loadedAdapters }),
    listAdapters: (id, opts) => listAdapters(opts),
    dispose() {
      model?.dispose();
      model = null;
    },
  };

  return async (data) => {
    const { id, op, args, signal } = data;
    if (op === "abort") return aborts.get(args[0])?.abort(new Error(args[1] ?? "aborted"));
    if (signal) aborts.set(id, new AbortController());
    try {
      if (!Object.hasOwn(ops, op)) throw new Error(`unknown op ${op}`);
      const value = await ops[op](id, ...args);
      // Embeddings are views of one buffer: transfer it rather than copy.
      const transfer = op === "embed" && value.length ? [value[0].buffer] : [];
      post({ id, ok: true, value }, transfer);
    } catch (e) {
      post({ id, ok: false, error: toPlain(e) });
    } finally {
      aborts.delete(id);
    }
  };
}
