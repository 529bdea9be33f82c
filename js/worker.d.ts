// Types of adapterwasm/worker: AutoModelWithHeads's API with the model in a module Web Worker, or
// (under Node, src/node-worker-client.js) in a worker thread.
import type { AdapterInfo, TrainAdapterOptions, TrainExample, FromPretrainedOptions, LoadAdapterOptions, ModelInfo, ProgressInfo, Setup, Stats, TextModel } from "./index.js";
export { AdapterwasmError, AdapterSetup, Stack, Fuse, Parallel, Split, BatchSplit, Average, MultiTask } from "./index.js";

export interface WorkerOptions extends Omit<FromPretrainedOptions, "cache" | "wasm" | "kernels" | "fetch"> {
  /** true/undefined: the Cache API (Node: ~/.cache/adapterwasm); false: none; a string: a Cache
   *  API cache name (Node: a cache directory). */
  cache?: boolean | string;
  /** URL of the Wasm module (bundlers that do not emit it: the URL they give adapterwasm/adapterwasm.wasm). */
  wasm?: string | URL;
  /** A Worker running adapterwasm/worker-script (default: a new module worker); in Node a
   *  worker_threads Worker running adapterwasm/node-worker-script (default: a new one). */
  worker?: WebWorkerLike | NodeWorkerLike;
}

/** What the client needs of a Web Worker (a DOM Worker is one). */
export interface WebWorkerLike {
  postMessage(message: any, transfer?: any): void;
  terminate(): void;
  onmessage: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
}

/** What the Node client needs of a worker_threads Worker. */
export interface NodeWorkerLike {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: "message" | "error" | "exit", listener: (arg: any) => void): unknown;
  terminate(): unknown;
  ref?(): void;
  unref?(): void;
}

export interface WorkerModelWithHeads extends ModelInfo, TextModel {}

export class WorkerModelWithHeads {
  static fromPretrained(baseUrl: string | URL, options?: WorkerOptions): Promise<WorkerModelWithHeads>;
  /** Threads the worker's large matrix products run on (its kernel workers are nested workers). */
  readonly threads: number;
  /** As of fromPretrained; refreshStats() updates it. */
  stats: Stats & { loadedAdapters?: string[] };
  /** Progress events of every load in the worker (the base, then adapters); fromPretrained's onProgress sets it. */
  onProgress: ((p: ProgressInfo) => void) | null;
  setActiveAdapters(setup: Setup | null): Promise<void>;
  /** options.signal's abort is posted to the worker, which aborts the downloads. */
  loadAdapter(nameOrUrl: string, options?: LoadAdapterOptions): Promise<string>;
  /** As AutoModelWithHeads.unloadAdapter: calls sent before it finish with the adapter (messages
   *  reach the worker in order), calls sent while it is under way reject with code "setup". */
  unloadAdapter(name: string): Promise<void>;
  /** Train a new adapter and its head on the base (frozen) in the Wasm module, one AdamW step per
   *  event-loop turn; resolves once it is loaded under name, usable at once. */
  trainAdapter(name: string, examples: TrainExample[], options?: TrainAdapterOptions): Promise<AdapterInfo>;
  /** The files save_adapter + save_head write for an adapter trained by trainAdapter, by file name. */
  saveAdapter(name: string, options?: { format?: "bin" | "safetensors" }): Promise<Record<string, Uint8Array>>;
  memory(): Promise<{ wasmMemoryBytes: number; heapAlloc: number; heapSys: number; sys: number }>;
  refreshStats(): Promise<Stats & { loadedAdapters: string[] }>;
  dispose(): void;
}

export interface PoolOptions extends Omit<WorkerOptions, "worker"> {
  /** How many copies of the model (default 2; 1–16). Each has its own worker, Go instance and
   *  memory; threads defaults to 1 in each. */
  instances?: number;
}

/** Several copies of one model (each a WorkerModelWithHeads) behind one model's API: a batch of
 *  texts is split between them by length and run at once, the results in the order of the texts;
 *  a single text goes to the least busy. Every answer is the one a single model gives (answers do
 *  not depend on the rest of the batch). For throughput over batches; threads cut one call's
 *  latency instead (README: Performance). trainAdapter and saveAdapter are not offered: train on a
 *  WorkerModelWithHeads and load what saveAdapter wrote. classify splits a batch unless the setup
 *  is a BatchSplit (its sizes are the whole batch's) or taskIds is not one per text: one instance
 *  runs it then. */
export interface WorkerModelPool extends ModelInfo, TextModel {}

export class WorkerModelPool {
  static fromPretrained(baseUrl: string | URL, options?: PoolOptions): Promise<WorkerModelPool>;
  /** How many copies of the model run. */
  readonly instances: number;
  readonly models: readonly WorkerModelWithHeads[];
  /** Kernel threads in each instance. */
  readonly threads: number;
  /** The first instance's progress events (its base, then adapters: the others read them from the cache). */
  onProgress: ((p: ProgressInfo) => void) | null;
  setActiveAdapters(setup: Setup | null): Promise<void>;
  /** Loads the adapter into every instance (the first, then the others at once). */
  loadAdapter(nameOrUrl: string, options?: LoadAdapterOptions): Promise<string>;
  unloadAdapter(name: string): Promise<void>;
  /** Each instance's memory, in an array. */
  memory(): Promise<{ wasmMemoryBytes: number; heapAlloc: number; heapSys: number; sys: number }[]>;
  dispose(): void;
}
