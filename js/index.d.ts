// Types of the adapterwasm package (src/index.js; node.d.ts adds Node's FsStore). They need
// neither the DOM lib nor @types/node beyond what both declare (URL, Response, AbortSignal).

/** What runs a model's products (`kernels`). */
export type Kernels = "wasm-simd" | "wasm-simd+relaxed" | "wasm-simd+u7" | "go" | "go+u7";

/** Error codes: the Go module's (wasm/engine/errors.go) and the package's own. */
export type ErrorCode =
  | "invalid_argument"
  | "format"
  | "unsupported"
  | "missing_file"
  | "not_found"
  | "setup"
  | "closed"
  | "internal"
  | "network"
  | "integrity"
  | "aborted"
  | "exited"
  | "unauthorized"
  | "rate_limited";

/** Every error the package throws or rejects with. */
export class AdapterwasmError extends Error {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  readonly name: "AdapterwasmError";
  readonly code: ErrorCode;
  /** Go stack of a recovered panic (code "internal"). */
  goStack?: string;
  /** The HTTP status of a hub id's failed request (codes not_found, missing_file, unauthorized, rate_limited). */
  status?: number;
  /** Seconds the hub asked to wait (code "rate_limited"), when it said. */
  retryAfter?: number;
}

export type SetupType = "Stack" | "Fuse" | "Parallel" | "Split" | "BatchSplit" | "Average" | "MultiTask";
/** A composition block (adapters/composition.py); String(block) is its setup expression. */
export class AdapterSetup<T extends SetupType = SetupType> {
  constructor(type: T, children: Setup[], params?: Record<string, number[]>);
  readonly type: T;
  readonly children: ReadonlyArray<string | AdapterSetup>;
  toString(): string;
}
export type Setup = string | AdapterSetup;
export function Stack(...children: Setup[]): AdapterSetup<"Stack">;
export function Fuse(...children: Setup[]): AdapterSetup<"Fuse">;
export function Parallel(...children: Setup[]): AdapterSetup<"Parallel">;
export function Split(...args: [...Setup[], { splits: number[] }]): AdapterSetup<"Split">;
export function BatchSplit(...args: [...Setup[], { batchSizes: number[] }]): AdapterSetup<"BatchSplit">;
export function Average(...args: [...Setup[]] | [...Setup[], { weights: number[] }]): AdapterSetup<"Average">;
/** Each text runs through the child its task id names (classify's `taskIds`, Python's `task_ids`):
 *  MTL-LoRA task adapters, or any adapters the library's MultiTask takes. */
export function MultiTask(...children: Setup[]): AdapterSetup<"MultiTask">;
/** A text's task under MultiTask: a child's index (0-based) or an adapter name among the children. */
export type TaskId = number | string;

/** Where downloaded files are kept; only complete, verified downloads are put. */
export interface Store {
  get(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined>;
  put(key: string, bytes: Uint8Array, sha256?: string): Promise<void>;
  delete(key: string): Promise<void>;
}
/** The Cache API (browsers, Web Workers, Cloudflare Workers); the default there. */
export class CacheApiStore implements Store {
  constructor(name?: string);
  get(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined>;
  put(key: string, bytes: Uint8Array, sha256?: string): Promise<void>;
  delete(key: string): Promise<void>;
}
/** A Map: nothing persists. */
export class MemoryStore implements Store {
  get(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined>;
  put(key: string, bytes: Uint8Array, sha256?: string): Promise<void>;
  delete(key: string): Promise<void>;
}
/** One file of a load: the base model's files and the Wasm module, or an adapter's files. */
export interface FileProgress {
  /** "initiate": about to be read; "download": its download starts (not for a cache hit);
   *  "progress": per chunk, once for a cache hit; "done": read and verified. */
  status: "initiate" | "download" | "progress" | "done";
  /** The base model's directory URL, or the adapter's name. */
  name: string;
  file: string;
  url: string;
  /** bytes so far */
  loaded: number;
  /** bytes in all (undefined while the server has not said) */
  total?: number;
  /** percent ("progress" and "done"; undefined while total is) */
  progress?: number;
  fromCache: boolean;
}
/** Sums over every file of the load so far, after each file event. */
export interface TotalProgress {
  status: "progress_total";
  name: string;
  loaded: number;
  total?: number;
  progress?: number;
  /** files announced so far */
  files: number;
}
/** The model or adapter is loaded. */
export interface ReadyProgress {
  status: "ready";
  name: string;
  kind: "model" | "adapter";
}
/** A Hugging Face base's weights being converted in the Wasm module (its first load only). */
export interface ConvertProgress {
  /** "converting": started; "converted": done (bytes, ms), the file is kept in the cache once loaded. */
  status: "converting" | "converted";
  name: string;
  /** the weights file converted: model.safetensors or pytorch_model.bin */
  file: string;
  dtype: "q8" | "f16" | "f32";
  sourceBytes: number;
  /** the converted file's size ("converted") */
  bytes?: number;
  /** ms the conversion took ("converted") */
  ms?: number;
}
/** Progress events, shaped as Transformers.js's progress_callback ones. */
export type ProgressInfo = FileProgress | TotalProgress | ConvertProgress | ReadyProgress;
/** How a Hugging Face base was made ready: converted now, or its converted file read from the cache. */
export interface ConversionInfo {
  dtype: "q8" | "f16" | "f32";
  fromCache: boolean;
  /** ms the conversion took (0 from the cache) */
  ms: number;
  /** the converted file's size */
  bytes: number;
  /** its sha256 (when converted now) */
  sha256?: string;
}
/** @deprecated the file events of ProgressInfo */
export type Progress = FileProgress;

/** What fetch the package needs: any function taking a URL string and returning a Response. */
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

/** A compiled WebAssembly.Module (typed as `object` where no lib declares WebAssembly). */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : object;

export interface FromPretrainedOptions {
  /** Progress events of this load (the Wasm runtime's module, the base model's files, then
   *  "ready") and of every adapter the model loads later (model.onProgress replaces it). */
  onProgress?: (p: ProgressInfo) => void;
  /** true/undefined: the Cache API (browsers) or ~/.cache/adapterwasm (Node); false: none;
   *  a string: a cache directory (Node); or a Store. */
  cache?: boolean | string | Store;
  /** Adapter index (index.json of `adapterwasm index`) that loadAdapter(name) looks names up in. */
  index?: string;
  /** Bytes of adapter weights kept loaded before the least recently used are unloaded (64 MiB). */
  adapterBudgetBytes?: number;
  /** A Hugging Face base (hub id, or files without manifest) is converted to this in the Wasm
   *  module on its first load and the converted file cached (default "q8"); a prepared base whose
   *  manifest says another dtype is refused. */
  dtype?: "q8" | "f16" | "f32";
  /** With dtype "q8" (the default), for a Hugging Face base converted in the client: weights per
   *  scale in the linears (`adapterwasm convert --block`), 32 by default; 64 or 128 make products
   *  7% / 11% faster at a larger error (README, Performance). Cached under its own key. A prepared
   *  base runs as it was converted. */
  q8Block?: 32 | 64 | 128;
  /** The Wasm module: a WebAssembly.Module (Cloudflare Workers bundle it), bytes, a Response or
   *  a URL. Default: dist/adapterwasm.wasm beside the package. Only the first model of a realm
   *  (page, worker, process, isolate) starts the Go instance: later ones share it. */
  wasm?: WasmModule | ArrayBuffer | ArrayBufferView | Response | URL | string;
  /** The compiled Wasm SIMD kernel module (kernels.wasm), for hosts that cannot compile Wasm from
   *  bytes (Cloudflare Workers bundle it). Default: compiled from dist/kernels.js; where that
   *  cannot be done, Go's plain kernels run (see `simd`). First model of a realm only. */
  kernels?: WasmModule;
  /** The compiled relaxed-SIMD kernel module (kernels_relaxed.wasm) to go with `kernels`, for
   *  hosts that bundle modules: used with `relaxedSimd: true` (Cloudflare Workers' package entry
   *  bundles it; without it the recipe runs on the plain-SIMD kernel, same answers). First model of a realm only. */
  relaxedKernels?: WasmModule;
  /** Go's GOGC for the instance (-1: off). Default: Go's 100; 50 in Cloudflare Workers. First model of a realm only. */
  gcPercent?: number;
  /** Go's soft memory limit (GOMEMLIMIT) in bytes. Default: none; 96 MiB in Cloudflare Workers
   *  (128 MB per isolate). First model of a realm only. */
  memoryLimitBytes?: number;
  /** Threads the large matrix products are split over (1-16; results are bit-identical at every
   *  count). Default: half the cores, rounded up, at most 4 (onnxruntime-web's). Needs SharedArrayBuffer: in a browser a
   *  cross-origin isolated page (COOP same-origin + COEP require-corp); one thread in Cloudflare
   *  Workers and wherever it cannot be had (`threads`, `threadsNote` say so). First model of a realm only. */
  threads?: number;
  /** Whether q8 products take the relaxed-SIMD kernel's recipe: 7-bit activations per block of
   *  32, multiplied with `i16x8.relaxed_dot_i8x16_i7x16_s` where the engine has relaxed SIMD
   *  (Chromium, Node 24; Node 20 only with --experimental-wasm-relaxed-simd), faster there, and
   *  elsewhere by a plain-SIMD kernel (or plain Go) with the same results; slightly further from f32 than the
   *  default 16-bit activations (README: Performance). Either way the answers do not depend on
   *  the engine (the CLI's --relaxed-simd gives them too). Default false; unset, ADAPTERWASM_RELAXED=on (globalThis or the environment)
   *  opts in. First model of a realm only. */
  relaxedSimd?: boolean;
  /** fetch to use (default globalThis.fetch), e.g. `(url) => env.ASSETS.fetch(url)`. */
  fetch?: FetchLike;
  /** Aborts this load's downloads: it rejects with code "aborted". */
  signal?: AbortSignal;
  /** A request fails (code "network") when the server sends nothing (no response, no next chunk)
   *  for this many ms; also the model's for its adapter downloads. Default 30000; 0: none. */
  timeout?: number;
  /** A hub id's branch, tag or commit (default "main"). */
  revision?: string;
  /** The hub: default HF_ENDPOINT (Node), else https://huggingface.co; also the model's for hub adapters. */
  endpoint?: string;
  /** Sent as "Authorization: Bearer" to the endpoint's origin only (default HF_TOKEN in Node); also the model's for hub adapters. */
  token?: string;
  /** Hub ids load from the cache without any request (default HF_HUB_OFFLINE in Node); also the model's for hub adapters. */
  offline?: boolean;
}

/** Where a load by hub id came from. */
export interface HubSource {
  id: string;
  /** As asked for ("main", a tag, a commit). */
  revision: string;
  /** The commit loaded (X-Repo-Commit). */
  commit: string;
  endpoint: string;
  /** Loaded from the cache because the endpoint could not be reached. */
  fromCache: boolean;
}

export interface LoadAdapterOptions {
  index?: string;
  name?: string;
  modelName?: string;
  /** Aborts the downloads (code "aborted"); concurrent loads of one name share them. */
  signal?: AbortSignal;
  /** ms without data before a request fails (default: the model's, 30000). */
  timeout?: number;
  /** "hf": nameOrUrl is a hub id ("owner/name") fetched from {endpoint}/{id}/resolve/{revision}/.
   *  "ah": an AdapterHub id ("task/subtask@org", "@org/file"), resolved on the base model's
   *  AdapterHub index (modelName: default the base's hub id or name) as the adapters library's
   *  pull_from_hub does, then loaded as its "AdapterHub/…" hub id. */
  source?: "hf" | "ah";
  /** "ah": a config string ("pfeiffer", "lora[r=4]") whose hash picks the index entry. */
  config?: string;
  /** "ah": only an entry of exactly that config. */
  strict?: boolean;
  /** "ah": the AdapterHub index base URL (default https://raw.githubusercontent.com/Adapter-Hub/Hub/master/dist/v2/). */
  adapterHubUrl?: string;
  revision?: string;
  endpoint?: string;
  token?: string;
  offline?: boolean;
}

export interface ModelConfig {
  /** The model's name as adapters' model_name gives it (the manifest's source, from
   *  `adapterwasm convert --name`; else config.json's _name_or_path). */
  name: string;
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  /** Texts are cut to this many tokens. */
  maxLength: number;
}

/** One classification head's answer for one text. */
export interface Prediction {
  label: string;
  score: number;
  scores: Record<string, number>;
  logits: number[];
  /** Multi-label heads: every label with p ≥ 0.5. */
  labels?: string[];
  /** What the model read of the text (a text's result; not under Parallel's heads). */
  input?: InputStats;
}
export interface WordPrediction {
  word: string;
  start: number;
  end: number;
  label: string;
  score: number;
}
/** One tagging head's answer for one text. */
export interface TaggingResult {
  words: WordPrediction[];
  tokens: { token: string; word: number; label: string; score: number }[];
  input?: InputStats;
}
/** Parallel(a, b): one result per head, by head name, and what the model read of the text. */
export interface ParallelResult {
  heads: Record<string, Prediction | TaggingResult>;
  input?: InputStats;
}
/** BatchSplit(a, b): the result of the head that read the text, and its name. */
export type BatchSplitResult = (Prediction | TaggingResult) & { head: string };
/** One text's result, shaped as `adapterwasm classify` prints it: a Prediction for a setup with
 *  one classification head (the default type of classify), else one of the others. */
export type ClassifyResult = Prediction | TaggingResult | ParallelResult | BatchSplitResult;
export interface ClassifyOptions {
  adapters?: Setup;
  head?: string;
  /** One task per text for a MultiTask setup, as Python's `task_ids` (also accepted as `task_ids`);
   *  ignored without one. Wrong counts and non-integers reject with code invalid_argument, ids or
   *  names that are not the block's children with code setup. */
  taskIds?: ReadonlyArray<TaskId> | Int32Array | Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array;
  task_ids?: ClassifyOptions["taskIds"];
}
/** How much of a text the model could read: neither a cut nor a vocabulary miss shows in the scores. */
export interface InputStats {
  /** The text's length in tokens before truncation, [CLS] and [SEP] included; the model reads at most `config.maxLength`.
   *  Counted up to 65,536 text tokens: a longer text reports 65,538. */
  tokens: number;
  /** The text was longer than `config.maxLength` tokens: its end was not read. */
  truncated: boolean;
  /** Share (0–1) of the tokens read, special tokens left out, that are [UNK]: characters the vocabulary cannot spell (emoji, most non-Latin scripts). */
  unknownShare: number;
}

export interface AdapterInfo {
  name: string;
  kind: "adapter" | "fusion";
  method?: string;
  modelName?: string;
  head?: string;
  headType?: string;
  labels?: string[];
  bytes: number;
}

export interface IndexEntry {
  id?: string;
  name: string;
  kind?: "adapter" | "fusion";
  modelName?: string;
  /** The base's model_type the adapter's config records (index.json "model_type"). */
  modelType?: string;
  method?: string;
  task?: string;
  labels?: string[];
  /** Bytes of all its files. */
  size: number;
  /** Directory URL of its files. */
  url: string;
  files: { name: string; size?: number; sha256?: string }[];
  [key: string]: unknown;
}

export interface Stats {
  bytesFetched: number;
  bytesFromCache: number;
  files: { url: string; bytes: number; fromCache: boolean }[];
}

/** What a loaded model is, the same in AutoModelWithHeads and in adapterwasm/worker's
 *  WorkerModelWithHeads and WorkerModelPool (each class merges it and adds its own). */
export interface ModelInfo {
  readonly config: ModelConfig;
  /** The commit a base loaded by hub id was loaded at; else null. */
  readonly revision: string | null;
  readonly hub: HubSource | null;
  /** A Hugging Face base converted in the Wasm module (now or on an earlier load); null for a prepared base. */
  readonly conversion: ConversionInfo | null;
  /** Whether the base came with a manifest whose sha256s were checked. */
  readonly baseVerified: boolean;
  /** Whether the Wasm SIMD kernels run the matmuls (false: Go's plain kernels, ~10x slower). */
  readonly simd: boolean;
  /** Whether q8 products take the relaxed-SIMD kernel's 7-bit recipe (see the option
   *  relaxedSimd), on relaxed-SIMD instructions or, where the engine lacks them, on plain SIMD
   *  (without the SIMD kernels, in plain Go). */
  readonly relaxedSimd: boolean;
  /** What runs the products: "wasm-simd", "wasm-simd+relaxed" (the relaxed recipe on relaxed-SIMD
   *  instructions), "wasm-simd+u7" (that recipe on plain SIMD, same answers), "go" (the plain-Go
   *  kernels: the SIMD kernels' answers) or "go+u7" (the relaxed recipe in plain Go, same answers). */
  readonly kernels: Kernels;
  /** Why `threads` is fewer than asked for (or than the default), else null. */
  readonly threadsNote: string | null;
  /** The setup classify runs; its adapters are fetched on the next call that needs them. */
  activeAdapters: Setup | null;
  /** A head to use instead of the setup's own (Python's active_head). */
  activeHead: string | null;
}

/** The calls that take texts, the same in AutoModelWithHeads, WorkerModelWithHeads and
 *  WorkerModelPool. */
export interface TextModel {
  /** One result per text. The type follows the setup: Parallel and BatchSplit blocks passed as
   *  options.adapters give theirs; otherwise a Prediction (one classification head), or say which:
   *  `classify<TaggingResult>(…)`. */
  classify(input: string | string[], options: ClassifyOptions & { adapters: AdapterSetup<"Parallel"> }): Promise<ParallelResult[]>;
  classify(input: string | string[], options: ClassifyOptions & { adapters: AdapterSetup<"BatchSplit"> }): Promise<BatchSplitResult[]>;
  classify<R extends ClassifyResult = Prediction>(input: string | string[], options?: ClassifyOptions): Promise<R[]>;
  embed(input: string | string[], options?: { pooling?: "mean" | "cls"; normalize?: boolean }): Promise<Float32Array[]>;
  tokenize(input: string | string[], options?: { maxLength?: number }): Promise<{ inputIds: number[]; tokens: string[]; attentionMask: number[] }[]>;
}

export interface AutoModelWithHeads extends ModelInfo, TextModel {}
export class AutoModelWithHeads {
  /** baseUrl: a directory URL, or a hub id ("owner/name"; in Node not an existing path). */
  static fromPretrained(baseUrl: string | URL, options?: FromPretrainedOptions): Promise<AutoModelWithHeads>;
  /** A loaded adapter: Go's info and where it came from (a directory url, or a hub id); null if not loaded. */
  adapterInfo(name: string): (AdapterInfo & { url: string | null; hub: HubSource | null }) | null;
  readonly stats: Stats;
  /** Threads the large matrix products run on (1: the calling thread only). */
  readonly threads: number;
  readonly loadedAdapters: string[];
  /** Receives the progress events of later loads (adapters); fromPretrained's onProgress sets it. */
  onProgress: ((p: ProgressInfo) => void) | null;
  /** Set the setup, load what it needs, and check it. */
  setActiveAdapters(setup: Setup | null): Promise<void>;
  /** Load by name (from the index) or from a directory URL; resolves to the name it loaded as:
   *  the index entry's, or the name in the directory's adapter_config.json (options.name: another).
   *  A directory whose adapter's name is already loaded from elsewhere rejects (code invalid_argument). */
  loadAdapter(nameOrUrl: string, options?: LoadAdapterOptions): Promise<string>;
  /** Unload an adapter, its head and the fusions over it (or a fusion by name). Calls issued
   *  before it that use the adapter (classify, setActiveAdapters) finish with it, and it resolves
   *  after them; calls issued while it is under way that need the adapter reject with code
   *  "setup"; afterwards the adapter is just not loaded (a call fetches it again from the index).
   *  Rejects with "not_found" if the adapter is neither loaded, loading, nor used by a call in flight. */
  unloadAdapter(name: string): Promise<void>;
  /** Train a new adapter and its head on the base (frozen) in the Wasm module, one AdamW step per
   *  event-loop turn; resolves once it is loaded under name, usable at once. */
  trainAdapter(name: string, examples: TrainExample[], options?: TrainAdapterOptions): Promise<AdapterInfo>;
  /** The files save_adapter + save_head write for an adapter trained by trainAdapter, by file name. */
  saveAdapter(name: string, options?: { format?: "bin" | "safetensors" }): Promise<Record<string, Uint8Array>>;
  memory(): Promise<{ wasmMemoryBytes: number; heapAlloc: number; heapSys: number; sys: number }>;
  dispose(): void;
}

/** An adapter listed by the hub's model API ("hf") or AdapterHub's all.json ("ah"); fields the source does not give are "" or absent. */
export interface HubAdapterEntry {
  source: "hf" | "ah";
  /** Load "hf" ids with loadAdapter(id, { source: "hf" }); "ah" ids ("sentiment/imdb@ukp") are listed only. */
  id: string;
  modelName: string;
  task?: string;
  subtask?: string;
  username: string;
  /** The config's architecture, "bottleneck" without one ("ah" entries). */
  method?: string;
  sha1Checksum: string;
  pipelineTag?: string;
  adapterConfig?: Record<string, unknown>;
}

export interface ListAdaptersOptions {
  /** "hf" (the hub's model API), "ah" (AdapterHub's all.json), "index" (options.index), "all"
   *  (index, ah, hf); none: the index alone when one is given, else ah and hf. */
  source?: "hf" | "ah" | "index" | "all";
  /** A static index.json (adapterwasm index). */
  index?: string;
  /** Only adapters for this model (hub entries: exactly; index entries without one fit every model). */
  modelName?: string;
  /** Only adapters for architectures this runtime runs (bert, roberta, xlm-roberta, distilbert): by the
   *  model type an index entry records, else by what the model name says (bert-…, roberta-…,
   *  distilroberta-…, xlm-roberta-…, distilbert-…); entries that say neither are left out. */
  runnable?: boolean;
  /** The hub (default HF_ENDPOINT in Node, else https://huggingface.co) and its token (endpoint's origin only). */
  endpoint?: string;
  token?: string;
  /** AdapterHub's index base URL (default https://raw.githubusercontent.com/Adapter-Hub/Hub/master/dist/v2/). */
  adapterHubUrl?: string;
  /** Keep listing answers (and the index) in this store or directory for offline use; none by default. */
  cache?: boolean | string | Store;
  fetch?: FetchLike;
  signal?: AbortSignal;
  timeout?: number;
}

export function listAdapters(options: ListAdaptersOptions & { index: string; source?: "index" }): Promise<(IndexEntry & { source: "index"; id: string })[]>;
export function listAdapters(options?: ListAdaptersOptions): Promise<((IndexEntry & { source: "index"; id: string }) | HubAdapterEntry)[]>;
export function sha256Hex(bytes: ArrayBuffer | ArrayBufferView): Promise<string>;
/** A store-only zip of the files (e.g. saveAdapter's), each under folder/ when given; deterministic bytes. */
export function zipFiles(files: Record<string, Uint8Array | ArrayBuffer | ArrayBufferView | string> | Array<[string, Uint8Array | ArrayBuffer | ArrayBufferView | string]>, options?: { folder?: string }): Uint8Array;
/** The zip/gzip CRC-32 of the bytes. */
export function crc32(bytes: Uint8Array): number;

/** pipeline() options: fromPretrained's, the base model's URL, and for text-classification the adapter. */
export interface PipelineOptions extends FromPretrainedOptions {
  /** The base model's directory URL or hub id. */
  model?: string | URL;
  /** text-classification: an adapter name (from options.index), a directory URL, a hub id (with source "hf"), or a setup with one classification head. */
  adapter?: Setup;
  /** "hf": adapter is a hub id. */
  source?: "hf";
  /** Transformers.js's name of onProgress. */
  progress_callback?: (p: ProgressInfo) => void;
}
export interface TextClassificationOutput {
  label: string;
  score: number;
}
export interface TextClassificationCallOptions {
  /** Labels per text, best first (default 1; null: all). */
  topK?: number | null;
  top_k?: number | null;
}
interface PipelineBase {
  readonly task: string;
  /** The model under the pipeline: the rest of the API. */
  readonly model: AutoModelWithHeads;
  dispose(): void;
}
export interface TextClassificationPipeline extends PipelineBase {
  /** One text: its topK labels. */
  (text: string, options?: TextClassificationCallOptions): Promise<TextClassificationOutput[]>;
  /** Texts, topK 1 (default): the best label of each. */
  (texts: string[], options?: { topK?: 1; top_k?: 1 }): Promise<TextClassificationOutput[]>;
  /** Texts, topK > 1 or null: the labels of each. */
  (texts: string[], options: TextClassificationCallOptions): Promise<TextClassificationOutput[][]>;
}
/** Embeddings as a Transformers.js Tensor gives them: data of dims [texts, hidden size]. */
export interface EmbeddingTensor {
  type: "float32";
  data: Float32Array;
  dims: [number, number];
  tolist(): number[][];
}
export interface FeatureExtractionPipeline extends PipelineBase {
  (texts: string | string[], options?: { pooling?: "mean" | "cls"; normalize?: boolean }): Promise<EmbeddingTensor>;
}
/** A one-line entry for Transformers.js users over AutoModelWithHeads. */
export function pipeline(task: "text-classification" | "sentiment-analysis", options: PipelineOptions & { model: string | URL; adapter: Setup }): Promise<TextClassificationPipeline>;
export function pipeline(task: "text-classification" | "sentiment-analysis", model: string | URL, options: PipelineOptions & { adapter: Setup }): Promise<TextClassificationPipeline>;
export function pipeline(task: "feature-extraction", options: PipelineOptions & { model: string | URL }): Promise<FeatureExtractionPipeline>;
export function pipeline(task: "feature-extraction", model: string | URL, options?: PipelineOptions): Promise<FeatureExtractionPipeline>;

/** An example for trainAdapter: `label` for a classification head, `labels` for a multi-label one. */
export interface TrainExample {
  text: string;
  label?: string;
  labels?: string[];
}

/** Options of trainAdapter (the adapters library's training, in the Wasm module). */
export interface TrainAdapterOptions {
  /** Adapter config string: "seq_bn" (default), "seq_bn[reduction_factor=16]", "double_seq_bn", "par_bn", "lora[r=8]", "ia3". */
  config?: string;
  /** "classification" (default) or "multilabel_classification". */
  head?: "classification" | "multilabel_classification";
  /** Label names in id order (default: the examples' labels, sorted); 2 to 1,024, each at most 256 bytes. */
  labels?: string[];
  epochs?: number; // 3
  lr?: number; // 1e-4 (torch.optim.AdamW, weight decay 0.01)
  batchSize?: number; // 16
  maxLength?: number;
  seed?: number; // 42
  /** Held-out examples: the last step of each epoch reports devAccuracy on them. */
  dev?: TrainExample[];
  onProgress?: (p: TrainProgress) => void;
  /** Aborts between steps (code "aborted"); the adapter is then not loaded. */
  signal?: AbortSignal;
}

export interface TrainProgress {
  status: "training";
  name: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Mean loss of this epoch's steps so far. */
  loss: number;
  examples: number;
  /** true on the last step of each epoch. */
  epochDone: boolean;
  /** With dev examples, on the last step of each epoch: the share classified right. */
  devAccuracy?: number;
  /** true on the last step: the adapter is loaded under its name. */
  done: boolean;
}
