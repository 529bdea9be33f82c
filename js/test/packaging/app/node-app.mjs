// A Node script using the installed package: argv base index adapter cacheDir. Prints one JSON line.
import { AutoModelWithHeads, FsStore, listAdapters, pipeline } from "adapterwasm";
import { AdapterSetup, Stack, WorkerModelPool, WorkerModelWithHeads } from "adapterwasm/worker";

const [base, index, adapter, cache] = process.argv.slice(2);
const statuses = [];
const model = await AutoModelWithHeads.fromPretrained(base, { index, cache, onProgress: (p) => statuses.push(p.status) });
const [result] = await model.classify("I love this movie", { adapters: adapter });
const listed = await listAdapters({ index, modelName: model.config.name });
const classifier = await pipeline("text-classification", { model: base, adapter, index, cache });
const top = await classifier("I love this movie");
const extractor = await pipeline("feature-extraction", base, { cache });
const tensor = await extractor(["a", "b"], { normalize: true });
const w = await WorkerModelWithHeads.fromPretrained(base, { index, cache });
const [inWorker] = await w.classify("I love this movie", { adapters: adapter });
w.dispose();
const pool = await WorkerModelPool.fromPretrained(base, { index, cache, instances: 2 });
const inPool = await pool.classify(["I love this movie", "I love this movie"], { adapters: adapter });
pool.dispose();
console.log(
  JSON.stringify({
    result,
    inWorker,
    inPool,
    name: model.config.name,
    listed: listed.map((e) => e.name),
    top,
    dims: tensor.dims,
    statuses: [...new Set(statuses)],
    stats: { bytesFetched: model.stats.bytesFetched, bytesFromCache: model.stats.bytesFromCache },
    fsStore: typeof FsStore,
    setup: Stack("a", "b") instanceof AdapterSetup,
    globals: ["fs", "path", "Go"].filter((k) => k in globalThis),
  }),
);
