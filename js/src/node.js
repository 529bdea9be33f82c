// The Node entry: the same API, with a cache directory instead of the Cache API and the Wasm
// module read from disk.
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { AdapterwasmError } from "./errors.js";
import { setDefaultStoreFactory } from "./model.js";
import { setDefaultWasm, setFileReader, setKernelWorkers } from "./runtime.js";
import { FsStore } from "./store-node.js";
import "./node-local.js"; // local paths and file: URLs; an existing path is never a hub id
import { startThread } from "./node-thread.js";

// readWasm reads the module from a file: URL; a missing file says what to pass instead.
async function readWasm(url) {
  try {
    return await readFile(url);
  } catch (e) {
    if (e?.code !== "ENOENT") throw e;
    // A bundle that left the module behind, or a package built without `./build.sh wasm`.
    throw new AdapterwasmError("missing_file", `${fileURLToPath(url)}: no such file: the Wasm module is not there (a bundle without it?); pass options.wasm: the module's file URL (esbuild: import wasm from "adapterwasm/adapterwasm.wasm" with the file loader, then new URL(wasm, import.meta.url)), its bytes or a WebAssembly.Module`, { cause: e });
  }
}

setDefaultWasm(() => readWasm(new URL("../dist/adapterwasm.wasm", import.meta.url)));
setFileReader(readWasm);
// Kernel threads are worker threads, unref'd: they never hold the process open.
setKernelWorkers(() => {
  const w = startThread(new URL("./node-kernel-worker.js", import.meta.url), { name: "adapterwasm-kernels" });
  w.unref();
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.once("message", f),
    onError: (f) => w.once("error", f),
    terminate: () => w.terminate(),
  };
}, availableParallelism);
setDefaultStoreFactory((dir) => new FsStore(dir));

export * from "./index.js";
export { FsStore };
