// The Node entry: the same API, with a cache directory instead of the Cache API and the Wasm
// module read from disk.
import { readFile } from "node:fs/promises";
import { setDefaultStoreFactory } from "./model.js";
import { setDefaultWasm } from "./runtime.js";
import { FsStore } from "./store-node.js";

setDefaultWasm(() => readFile(new URL("../dist/adapterwasm.wasm", import.meta.url)));
setDefaultStoreFactory((dir) => new FsStore(dir));

export * from "./index.js";
export { FsStore };
