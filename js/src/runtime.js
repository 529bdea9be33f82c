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
    this.simd = false; // whether the Wasm SIMD kernels run the matmuls (else plain Go)
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
// bundle it), bytes, a Response, or a URL; by default the file beside the package. kernels may be
// the compiled SIMD kernel module (kernels.wasm, bundled in Cloudflare Workers); by default it is
// compiled from the bytes in dist/kernels.js. Both only matter for the first model of a realm.
// onProgress gets { file, url, loaded, total, fromCache: false } as a module fetched from a URL
// streams in (total is undefined when the response is content-encoded).
export function loadRuntime(wasm, kernels, gc, onProgress) {
  if (current) return current;
  current = start(wasm, kernels, gc, onProgress).catch((e) => {
    current = null;
    throw e;
  });
  return current;
}

// counted passes a response's body through, reporting the bytes read so far.
function counted(res, url, onProgress) {
  const declared = res.headers.get("content-encoding") ? NaN : Number(res.headers.get("content-length") || NaN);
  const total = Number.isFinite(declared) ? declared : undefined;
  const file = decodeURIComponent(new URL(url, globalThis.location?.href).pathname.split("/").pop());
  let loaded = 0;
  const count = new TransformStream({
    transform(chunk, out) {
      loaded += chunk.byteLength;
      onProgress({ file, url, loaded, total, fromCache: false });
      out.enqueue(chunk);
    },
  });
  return new Response(res.body.pipeThrough(count), { status: res.status, headers: res.headers });
}

async function instantiate(source, imports, onProgress) {
  source = await source;
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, imports);
  try {
    if (source instanceof URL || typeof source === "string") {
      const url = String(source);
      source = await fetch(source).catch((e) => Promise.reject(new AdapterwasmError("network", `${url}: ${e.message}`, { cause: e })));
      if (onProgress && source.ok && source.body) source = counted(source, url, onProgress);
    }
    if (typeof Response !== "undefined" && source instanceof Response) {
      if (!source.ok) throw new AdapterwasmError("network", `${source.url}: HTTP ${source.status}`);
      if (WebAssembly.instantiateStreaming && source.headers.get("content-type") === "application/wasm") {
        return (await WebAssembly.instantiateStreaming(source, imports)).instance;
      }
      source = await source.arrayBuffer();
    }
    return (await WebAssembly.instantiate(source, imports)).instance;
  } catch (e) {
    if (e instanceof AdapterwasmError) throw e;
    // workerd (Cloudflare Workers) compiles no Wasm from bytes: "Wasm code generation disallowed by embedder".
    if (/disallowed/i.test(e?.message)) throw new AdapterwasmError("unsupported", `${e.message}: this host cannot compile Wasm from bytes; pass the bundled module as options.wasm (Cloudflare Workers: import wasm from "adapterwasm/adapterwasm.wasm")`, { cause: e });
    if (e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError) throw new AdapterwasmError("format", `the Wasm module: ${e.message}`, { cause: e });
    throw e;
  }
}

// wasmDefault is the module beside the package; where that cannot even be named (a bundle whose
// import.meta.url is no URL, as in Cloudflare Workers) the caller must pass one.
function wasmDefault() {
  try {
    return wasmSource();
  } catch (e) {
    throw new AdapterwasmError("invalid_argument", `no Wasm module given and none beside the package (${e.message}); pass options.wasm (Cloudflare Workers: import wasm from "adapterwasm/adapterwasm.wasm")`, { cause: e });
  }
}

// kernelImports returns the adapterwasm_kernels imports of the Go module (the //go:wasmimport
// functions of runtime/kernels/simd_js.go): trampolines to the Wasm SIMD kernel module
// (runtime/kernels/wat/kernels.wat), which can only be instantiated on Go's memory once Go's
// instance exists: attach does that, before Go's main runs. The module is `compiled` when given
// (a WebAssembly.Module: Cloudflare Workers bundle kernels.wasm), else compiled from the base64
// in dist/kernels.js. Without it (a host without Wasm SIMD, or one that cannot compile Wasm from
// bytes, as workerd), available() answers 0 and Go runs its plain-Go kernels.
function kernelImports(compiled) {
  let k = null;
  const imports = kernelTrampolines(() => k);
  const attach = async (goInstance) => {
    if (globalThis.ADAPTERWASM_KERNELS === "off") return false; // force the plain-Go kernels (benchmarks)
    const env = { env: { mem: goInstance.exports.mem } };
    try {
      if (compiled instanceof WebAssembly.Module) {
        k = (await WebAssembly.instantiate(compiled, env)).exports; // a Module in: an Instance out
      } else {
        const { default: b64 } = await import("../dist/kernels.js");
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        k = (await WebAssembly.instantiate(bytes, env)).instance.exports;
      }
    } catch {
      k = null; // plain-Go kernels
    }
    return k !== null;
  };
  return { imports, attach };
}

// isWorkerd tells whether this is Cloudflare Workers (workerd), where an isolate has 128 MB for
// everything: the Wasm linear memory, the JS heap and the bytes in flight.
export const isWorkerd = () => globalThis.navigator?.userAgent === "Cloudflare-Workers";

// goEnv is the Go program's GOGC and GOMEMLIMIT. In Cloudflare Workers, where the linear memory
// (which never shrinks) must stay well inside the isolate's 128 MB, the defaults are those of the
// Go Worker (wasm/worker): collect at 1.5x the live heap instead of 2x, and a 96 MiB soft
// limit; the base model's weights hold no pointers, so collecting more often is cheap. Elsewhere
// Go's own defaults, unless gc says otherwise: { gcPercent, memoryLimitBytes }.
function goEnv(gc = {}) {
  const env = {};
  const percent = gc.gcPercent ?? (isWorkerd() ? 50 : undefined);
  const limit = gc.memoryLimitBytes ?? (isWorkerd() ? 96 * 2 ** 20 : undefined);
  if (percent !== undefined) {
    if (!Number.isInteger(percent) || percent < -1) throw new AdapterwasmError("invalid_argument", `gcPercent: want an integer >= -1 (-1: off), not ${percent}`);
    env.GOGC = percent < 0 ? "off" : String(percent);
  }
  if (limit !== undefined) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new AdapterwasmError("invalid_argument", `memoryLimitBytes: want a positive integer, not ${limit}`);
    env.GOMEMLIMIT = String(limit);
  }
  return env;
}

async function start(wasm, compiledKernels, gc, onProgress) {
  const go = new globalThis.Go();
  const key = `__adapterwasm_${Math.random().toString(36).slice(2)}`;
  go.argv = ["adapterwasm", key];
  go.env = { ...go.env, ...goEnv(gc) };
  const kernels = kernelImports(compiledKernels);
  go.importObject.adapterwasm_kernels = kernels.imports;
  const instance = await instantiate(wasm ?? wasmDefault(), go.importObject, onProgress);
  const simd = await kernels.attach(instance);
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
  rt.simd = simd;
  return rt;
}
