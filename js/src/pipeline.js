// pipeline: the package in one line, for code written against Transformers.js's pipeline().
// The AdapterHub-style API (AutoModelWithHeads) stays the primary one; this only wraps it.
//
//   const classifier = await pipeline("text-classification", { model: BASE_URL, adapter: "sentiment", index: INDEX_URL });
//   await classifier("I love it");                      // [{ label: "positive", score: 0.98 }]
//   await classifier(["a", "b"], { topK: 2 });           // [[{label, score}, {label, score}], [...]]
//   const extractor = await pipeline("feature-extraction", { model: BASE_URL });
//   const t = await extractor(["a", "b"], { pooling: "mean", normalize: true }); // { data, dims: [2, 384], tolist() }
//
// Results are shaped as Transformers.js's: one text and topK 1 gives [{label, score}], texts give
// one entry per text (an array of topK entries when topK > 1); topK null gives every label.
import { AdapterwasmError } from "./errors.js";
import { AutoModelWithHeads } from "./model.js";
import { isDirUrl } from "./registry.js";

const TASKS = {
  "text-classification": textClassification,
  "sentiment-analysis": textClassification,
  "feature-extraction": featureExtraction,
};

// pipeline(task, options) or pipeline(task, model, options), as Transformers.js. options:
// fromPretrained's (index, cache, dtype, wasm, …; progress_callback is onProgress), plus model
// (the base model's directory URL or hub id) and, for text-classification, adapter: an adapter
// name from the index, a directory URL, a hub id with source: "hf", or a setup (Stack("a", "b"),
// …) with one classification head.
export async function pipeline(task, model, options = {}) {
  if (model && typeof model === "object" && !(model instanceof URL)) [model, options] = [model.model, model];
  const make = TASKS[task];
  if (!make) throw new AdapterwasmError("invalid_argument", `pipeline: task ${JSON.stringify(String(task).slice(0, 40))} is not one of ${Object.keys(TASKS).join(", ")}`);
  if (!model) throw new AdapterwasmError("invalid_argument", "pipeline: { model } is required: the base model's directory URL");
  const { model: _m, adapter, source, progress_callback, ...rest } = options;
  const m = await AutoModelWithHeads.fromPretrained(model, { ...rest, onProgress: rest.onProgress ?? progress_callback });
  try {
    const run = await make(m, adapter, source);
    return Object.assign(run, { task, model: m, dispose: () => m.dispose() });
  } catch (e) {
    m.dispose();
    throw e;
  }
}

async function textClassification(model, adapter, source) {
  if (!adapter) throw new AdapterwasmError("invalid_argument", "pipeline(\"text-classification\"): { adapter } is required: an adapter name, a directory URL or a setup");
  // With { source: "hf" } the adapter is a hub id (loadAdapter's), loaded under its saved name.
  const setup = typeof adapter === "string" && (isDirUrl(adapter) || source !== undefined) ? await model.loadAdapter(adapter, { source }) : adapter;
  await model.setActiveAdapters(setup);
  return async (texts, opts = {}) => {
    const topK = opts.topK !== undefined ? opts.topK : opts.top_k !== undefined ? opts.top_k : 1;
    const results = await model.classify(texts);
    const out = results.map((r) => {
      if (!r.scores) throw new AdapterwasmError("unsupported", "pipeline(\"text-classification\"): this setup does not give one classification per text (tagging or Parallel heads): use model.classify");
      const ranked = Object.entries(r.scores)
        .map(([label, score]) => ({ label, score }))
        .sort((a, b) => b.score - a.score);
      return topK === null ? ranked : ranked.slice(0, topK);
    });
    return Array.isArray(texts) ? (topK === 1 ? out.map((x) => x[0]) : out) : out[0];
  };
}

async function featureExtraction(model) {
  return async (texts, opts = {}) => {
    const pooling = opts.pooling ?? "mean";
    if (pooling !== "mean" && pooling !== "cls") throw new AdapterwasmError("unsupported", `pipeline("feature-extraction"): pooling ${JSON.stringify(String(pooling).slice(0, 20))}: want "mean" or "cls" (token embeddings are not offered)`);
    const vecs = await model.embed(texts, { pooling, normalize: !!opts.normalize });
    const dim = vecs[0]?.length ?? model.config.hiddenSize;
    const data = new Float32Array(vecs.length * dim);
    vecs.forEach((v, i) => data.set(v, i * dim));
    return { type: "float32", data, dims: [vecs.length, dim], tolist: () => vecs.map((v) => Array.from(v)) };
  };
}
