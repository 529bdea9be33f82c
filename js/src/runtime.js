// The Go instance: one per realm (page, worker, process), shared by every model in it.
// wasm_exec.js is Go's own loader, copied from $(go env GOROOT)/lib/wasm by `./build.sh wasm`.
import "../dist/wasm_exec.js";
import { AdapterwasmError, fromGo } from "./errors.js";
import { kernelTrampolines } from "./kernel-imports.js";

let current = null; // Promise<Runtime>

// Runtime wraps the module object (wasm/jsapi) with error conversion and exit detection.
export class Runtime {
  constructor(api, instance, go) {
    this.api = api;
    this.instance = instance;
    this.go = go;
    this.exited = false;
    // Rejected when the program ends, so that calls in flight then fail instead of hanging.
    this._exit = new Promise((_, reject) => (this._onExit = reject));
    this._exit.catch(() => {});
  }

  // markExited records that the Go program ended (a fatal runtime error such as running out of
  // memory): calls in flight and later calls reject with code "exited".
  markExited() {
    if (this.exited) return;
    this.exited = true;
    current = null;
    this._onExit(new AdapterwasmError("exited", "the Go instance has exited (a fatal error, e.g. out of memory); load the model again"));
  }

  // call invokes a module function, turning Go errors into AdapterwasmErrors.
  async call(target, method, ...args) {
    if (this.exited) throw new AdapterwasmError("exited", "the Go instance has exited; load the model again");
    try {
      return await Promise.race([target[method](...args), this._exit]);
    } catch (e) {
      if (this.go.exited) {
        // The call ended the program (wasm_exec.js throws from its torn-down instance).
        this.markExited();
        throw new AdapterwasmError("exited", "the Go instance has exited (a fatal error, e.g. out of memory); load the model again");
      }
      throw fromGo(e);
    }
  }

  // memoryBytes is the size of the Wasm linear memory (it grows, never shrinks).
  get memoryBytes() {
    return this.instance.exports.mem.buffer.byteLength;
  }
}

// defaultWasm is where the module sits beside this package; the Node entry replaces it with the
// file's bytes.
let wasmSource = () => new URL("../dist/adapterwasm.wasm", import.meta.url);

export function setDefaultWasm(f) {
  wasmSource = f;
}

// loadRuntime starts the Go instance, once. wasm may be a WebAssembly.Module (Cloudflare Workers
// bundle it), bytes, a Response, or a URL; by default the file beside the package.
export function loadRuntime(wasm) {
  if (current) return current;
  current = start(wasm).catch((e) => {
    current = null;
    throw e;
  });
  return current;
}

async function instantiate(source, imports) {
  source = await source;
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, imports);
  if (source instanceof URL || typeof source === "string") source = await fetch(source);
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok) throw new AdapterwasmError("network", `${source.url}: HTTP ${source.status}`);
    if (WebAssembly.instantiateStreaming && source.headers.get("content-type") === "application/wasm") {
      return (await WebAssembly.instantiateStreaming(source, imports)).instance;
    }
    source = await source.arrayBuffer();
  }
  return (await WebAssembly.instantiate(source, imports)).instance;
}

// kernelImports returns the adapterwasm_kernels imports of the Go module (the //go:wasmimport
// functions of runtime/kernels/simd_js.go): trampolines to the Wasm SIMD kernel module
// (runtime/kernels/wat/kernels.wat, base64 in dist/kernels.js), which can only be instantiated
// on Go's memory once Go's instance exists: attach does that, before Go's main runs. Without the
// kernel module (a host without Wasm SIMD, or one that cannot compile Wasm from bytes),
// available() answers 0 and Go runs its plain-Go kernels.
function kernelImports() {
  let k = null;
  const imports = kernelTrampolines(() => k);
  const attach = async (goInstance) => {
    if (globalThis.ADAPTERWASM_KERNELS === "off") return; // force the plain-Go kernels (benchmarks)
    try {
      const { default: b64 } = await import("../dist/kernels.js");
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const { instance } = await WebAssembly.instantiate(bytes, { env: { mem: goInstance.exports.mem } });
      k = instance.exports;
    } catch {
      k = null; // plain-Go kernels
    }
  };
  return { imports, attach };
}

async function start(wasm) {
  const go = new globalThis.Go();
  const key = `__adapterwasm_${Math.random().toString(36).slice(2)}`;
  go.argv = ["adapterwasm", key];
  const kernels = kernelImports();
  go.importObject.adapterwasm_kernels = kernels.imports;
  const instance = await instantiate(wasm ?? wasmSource(), go.importObject);
  await kernels.attach(instance);
  let rt = null;
  const api = await new Promise((resolve, reject) => {
    globalThis[key] = (api) => {
      delete globalThis[key];
      resolve(api);
    };
    go.run(instance).then(() => {
      // The program ended (a fatal error such as running out of memory): every later call fails,
      // and the next load starts a fresh instance.
      if (rt) rt.markExited();
      reject(new AdapterwasmError("exited", "the Go instance exited before it was ready"));
    }, reject);
  });
  rt = new Runtime(api, instance, go);
  return rt;
}
