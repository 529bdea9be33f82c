// Type-checked by tsc in a browser project (DOM lib, moduleResolution bundler): tsconfig.dom.json.
import { AutoModelWithHeads, BatchSplit, type TaggingResult } from "adapterwasm";
// @ts-expect-error FsStore is Node's only: the browser types do not offer it
import { FsStore } from "adapterwasm";
import { WorkerModelWithHeads } from "adapterwasm/worker";
import wasm from "adapterwasm/adapterwasm.wasm";

export async function main(base: string): Promise<string> {
  const module: WebAssembly.Module = await WebAssembly.compileStreaming(fetch(wasm));
  const model = await AutoModelWithHeads.fromPretrained(base, { wasm: module });
  const [b] = await model.classify(["a"], { adapters: BatchSplit("a", "b", { batchSizes: [1] }) });
  const head: string = b.head;
  const [t] = await model.classify<TaggingResult>("x", { adapters: "ner" });
  const w = await WorkerModelWithHeads.fromPretrained(base, { wasm, worker: new Worker(new URL("./w.js", import.meta.url), { type: "module" }) });
  return [head, t.words.length, w.simd, String(FsStore)].join();
}
