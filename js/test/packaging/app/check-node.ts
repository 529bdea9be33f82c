// Type-checked by tsc in a Node-only project (no DOM lib, skipLibCheck false): tsconfig.node.json.
import { AdapterwasmError, AutoModelWithHeads, FsStore, Parallel, pipeline, type ProgressInfo } from "adapterwasm";
import { AdapterSetup, Stack, WorkerModelPool, WorkerModelWithHeads } from "adapterwasm/worker";

export async function main(base: string): Promise<string> {
  const onProgress = (p: ProgressInfo): void => {
    if (p.status === "progress") console.log(p.file, p.loaded, p.total);
    else if (p.status === "progress_total") console.log(p.loaded, p.total);
  };
  // A plain function returning a Response is a fetch.
  const model = await AutoModelWithHeads.fromPretrained(base, { cache: new FsStore("/tmp/x"), onProgress, fetch: (url: string) => fetch(url) });
  const [r] = await model.classify("I love this movie", { adapters: "sentiment" });
  const label: string = r.label; // one classification head: a Prediction, label a string
  const score: number = r.score;
  const [p] = await model.classify("x", { adapters: Parallel("a", "b") });
  const heads: string[] = Object.keys(p.heads);
  const err = new AdapterwasmError("network", "down");
  const setup: AdapterSetup = Stack("a", "b");
  const w = await WorkerModelWithHeads.fromPretrained(base);
  w.onProgress = onProgress;
  const pool = await WorkerModelPool.fromPretrained(base, { instances: 2, threads: 1 });
  const [pooled] = await pool.classify(["a", "b"], { adapters: "sentiment" });
  const pooledLabel: string = pooled.label;
  const instances: number = pool.instances + (await pool.memory()).length;
  const classifier = await pipeline("text-classification", { model: base, adapter: "sentiment" });
  const [best] = await classifier("I love it");
  const extractor = await pipeline("feature-extraction", base);
  const t = await extractor(["a"], { normalize: true });
  return [label, score, heads, err.code, String(setup), best.label, t.dims[1], pooledLabel, instances].join();
}
