// The Web Worker side of WorkerModelWithHeads (worker-client.js): the model lives here, off the
// page's main thread. Messages: { id, op, args } in; { id, ok, value } | { id, ok: false, error }
// | { id, progress } out.
import { AutoModelWithHeads, listAdapters } from "./index.js";
import { CacheApiStore } from "./store.js";
import { toPlain } from "./errors.js";

let model = null;

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
      cache: typeof cache === "string" ? new CacheApiStore(cache) : cache,
      onProgress: progress ? (p) => self.postMessage({ id, progress: p }) : undefined,
    });
    return { config: model.config, baseVerified: model.baseVerified, simd: model.simd, stats: { ...model.stats } };
  },
  loadAdapter: (id, nameOrUrl, opts) => need().loadAdapter(nameOrUrl, opts),
  unloadAdapter: (id, name) => need().unloadAdapter(name),
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

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  try {
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown op ${op}`);
    const value = await ops[op](id, ...args);
    // Embeddings are views of one buffer: transfer it rather than copy.
    const transfer = op === "embed" && value.length ? [value[0].buffer] : [];
    self.postMessage({ id, ok: true, value }, transfer);
  } catch (e) {
    self.postMessage({ id, ok: false, error: toPlain(e) });
  }
};
