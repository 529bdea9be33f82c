// adapterwasm: AdapterHub adapters on a BERT encoder in Go/WebAssembly, for browsers, Web
// Workers, Node and Cloudflare Workers. See README.md.
export { AutoModelWithHeads, listAdapters } from "./model.js";
export { Stack, Fuse, Parallel, Split, BatchSplit, Average, MultiTask, AdapterSetup } from "./composition.js";
export { AdapterwasmError } from "./errors.js";
export { CacheApiStore, MemoryStore } from "./store.js";
export { sha256Hex } from "./fetch.js";
export { crc32, zipFiles } from "./zip.js";
export { pipeline } from "./pipeline.js";
