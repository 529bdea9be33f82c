// Types of the adapterwasm package (src/index.js; src/node.js adds FsStore).

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
  | "exited";

/** Every error the package throws or rejects with. */
export class AdapterwasmError extends Error {
  readonly name: "AdapterwasmError";
  readonly code: ErrorCode;
  /** Go stack of a recovered panic (code "internal"). */
  goStack?: string;
}

/** A composition block (adapters/composition.py); String(block) is its setup expression. */
export class AdapterSetup {
  readonly type: "Stack" | "Fuse" | "Parallel" | "Split" | "BatchSplit" | "Average";
  readonly children: ReadonlyArray<string | AdapterSetup>;
  toString(): string;
}
export type Setup = string | AdapterSetup;
export function Stack(...children: Setup[]): AdapterSetup;
export function Fuse(...children: Setup[]): AdapterSetup;
export function Parallel(...children: Setup[]): AdapterSetup;
export function Split(...args: [...Setup[], { splits: number[] }]): AdapterSetup;
export function BatchSplit(...args: [...Setup[], { batchSizes: number[] }]): AdapterSetup;
export function Average(...args: [...Setup[]] | [...Setup[], { weights: number[] }]): AdapterSetup;

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
/** Node only: a cache directory (default $ADAPTERWASM_CACHE_DIR or ~/.cache/adapterwasm). */
export class FsStore implements Store {
  constructor(dir?: string);
  readonly dir: string;
  get(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined>;
  put(key: string, bytes: Uint8Array, sha256?: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface Progress {
  file: string;
  url: string;
  /** bytes so far */
  loaded: number;
  /** bytes in all (undefined when the server does not say) */
  total?: number;
  fromCache: boolean;
}

export interface FromPretrainedOptions {
  /** Called per chunk of every file (the Wasm module too, when the first model of a realm fetches it), and once per file read from the cache. */
  onProgress?: (p: Progress) => void;
  /** true/undefined: the Cache API (browsers) or ~/.cache/adapterwasm (Node); false: none;
   *  a string: a cache directory (Node); or a Store. */
  cache?: boolean | string | Store;
  /** Adapter index (index.json of `adapterwasm index`) that loadAdapter(name) looks names up in. */
  index?: string;
  /** Bytes of adapter weights kept loaded before the least recently used are unloaded (64 MiB). */
  adapterBudgetBytes?: number;
  /** Refuse a base model whose manifest says another dtype. */
  dtype?: "q8" | "f16" | "f32";
  /** The Wasm module: a WebAssembly.Module (Cloudflare Workers bundle it), bytes, a Response or
   *  a URL. Default: dist/adapterwasm.wasm beside the package. Only the first model of a realm
   *  (page, worker, process, isolate) starts the Go instance: later ones share it. */
  wasm?: WebAssembly.Module | BufferSource | Response | URL | string;
  /** The compiled Wasm SIMD kernel module (kernels.wasm), for hosts that cannot compile Wasm from
   *  bytes (Cloudflare Workers bundle it). Default: compiled from dist/kernels.js; where that
   *  cannot be done, Go's plain kernels run (see `simd`). First model of a realm only. */
  kernels?: WebAssembly.Module;
  /** Go's GOGC for the instance (-1: off). Default: Go's 100; 50 in Cloudflare Workers. First model of a realm only. */
  gcPercent?: number;
  /** Go's soft memory limit (GOMEMLIMIT) in bytes. Default: none; 96 MiB in Cloudflare Workers
   *  (128 MB per isolate). First model of a realm only. */
  memoryLimitBytes?: number;
  /** fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface ModelConfig {
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
}
export interface WordPrediction {
  word: string;
  start: number;
  end: number;
  label: string;
  score: number;
}
/** One text's result, shaped as `adapterwasm classify` prints it. */
export interface ClassifyResult extends Partial<Prediction> {
  /** BatchSplit: the head that read the text. */
  head?: string;
  /** Tagging heads. */
  words?: WordPrediction[];
  tokens?: { token: string; word: number; label: string; score: number }[];
  /** Parallel: one result per head, by head name. */
  heads?: Record<string, ClassifyResult>;
  /** What the model read of the text (once per text, beside `heads` for Parallel). */
  input?: InputStats;
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

export class AutoModelWithHeads {
  static fromPretrained(baseUrl: string | URL, options?: FromPretrainedOptions): Promise<AutoModelWithHeads>;
  readonly config: ModelConfig;
  readonly stats: Stats;
  /** Whether the base came with a manifest whose sha256s were checked. */
  readonly baseVerified: boolean;
  /** Whether the Wasm SIMD kernels run the matmuls (false: Go's plain kernels, ~10x slower). */
  readonly simd: boolean;
  /** The setup classify runs; its adapters are fetched on the next call that needs them. */
  activeAdapters: Setup | null;
  /** A head to use instead of the setup's own (Python's active_head). */
  activeHead: string | null;
  readonly loadedAdapters: string[];
  /** Set the setup, load what it needs, and check it. */
  setActiveAdapters(setup: Setup | null): Promise<void>;
  /** Load by name (from the index) or from a directory URL; resolves to the name it loaded as. */
  loadAdapter(nameOrUrl: string, options?: { index?: string; name?: string; modelName?: string }): Promise<string>;
  /** Unload an adapter, its head and the fusions over it (or a fusion by name). Calls issued
   *  before it that use the adapter (classify, setActiveAdapters) finish with it, and it resolves
   *  after them; calls issued while it is under way that need the adapter reject with code
   *  "setup"; afterwards the adapter is just not loaded (a call fetches it again from the index).
   *  Rejects with "not_found" if the adapter is neither loaded, loading, nor used by a call in flight. */
  unloadAdapter(name: string): Promise<void>;
  classify(input: string | string[], options?: { adapters?: Setup; head?: string }): Promise<ClassifyResult[]>;
  embed(input: string | string[], options?: { pooling?: "mean" | "cls"; normalize?: boolean }): Promise<Float32Array[]>;
  tokenize(input: string | string[], options?: { maxLength?: number }): Promise<{ inputIds: number[]; tokens: string[]; attentionMask: number[] }[]>;
  memory(): Promise<{ wasmMemoryBytes: number; heapAlloc: number; heapSys: number; sys: number }>;
  dispose(): void;
}

export function listAdapters(options: { index: string; modelName?: string; fetch?: typeof fetch }): Promise<IndexEntry[]>;
export function sha256Hex(bytes: BufferSource): Promise<string>;
