// The Go instance: one per realm (page, worker, process), shared by every model in it.
// wasm_exec.js is Go's own loader, copied from $(go env GOROOT)/lib/wasm by `./build.sh wasm`
// into a function (goClass) that runs it against the scope it is given instead of globalThis.
import { goClass } from "../dist/wasm_exec.js";
import { AdapterwasmError, fromGo } from "./errors.js";
import { kernelTrampolines } from "./kernel-imports.js";
import { MAX_THREADS, startPool } from "./kernel-pool.js";
import { countBody } from "./progress.js";
import { shareMemory } from "./shared-memory.js";

// goScope is the global object the Go program sees (js.Global()): the real globalThis, except
// for the names wasm_exec.js defines for itself (fs, path, process where there is none, and Go),
// which stay here: libraries that sniff globalThis.process to detect Node are not fooled, and
// the page gets no globals from this package. Reads go to the real object (its getters need it
// as receiver); Go's own reads of fs, process and path happen once, when its program starts.
const GO_OWN = new Set(["fs", "path", "process", "Go"]);
const goOwn = {};
const goScope = new Proxy(globalThis, {
  get: (t, k) => (Object.hasOwn(goOwn, k) ? goOwn[k] : Reflect.get(t, k)),
  set: (t, k, v) => {
    if (GO_OWN.has(k)) goOwn[k] = v;
    else t[k] = v;
    return true;
  },
});

// With kernel threads Go's memory is a SharedArrayBuffer. wasm_exec.js decodes Go's strings with
// TextDecoder and fills Go's random bytes with crypto.getRandomValues straight from views of that
// memory, which browsers refuse for a shared buffer ("must not be shared"): goClass takes these
// two, which copy such a view first, and pass anything else through.
const isShared = (v) => typeof SharedArrayBuffer === "function" && v?.buffer instanceof SharedArrayBuffer;
const copyOf = (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
class SharedTextDecoder {
  constructor(...a) {
    this._d = new TextDecoder(...a);
  }
  decode(v, o) {
    return this._d.decode(isShared(v) ? copyOf(v) : v, o);
  }
}
const sharedCrypto = {
  getRandomValues(v) {
    if (!isShared(v)) return globalThis.crypto.getRandomValues(v);
    const c = copyOf(v);
    globalThis.crypto.getRandomValues(c);
    new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(c);
    return v;
  },
};
const Go = goClass(goScope, SharedTextDecoder, sharedCrypto);

// setHostFileSystem gives the Go program Node's fs (as Go's own wasm_exec_node.js does), so that
// its os package reads and walks real directories: only the adapterwasm command (bin/) does this,
// for `index`; the library's instance has wasm_exec.js's stub, which refuses every call.
export function setHostFileSystem(fs) {
  goOwn.fs = fs;
}

let current = null; // Promise<Runtime>

const EXITED = "the Go instance has exited (a fatal error: out of memory, a stack overflow); load the model again";

// Runtime wraps the module object (wasm/jsapi) with error conversion and exit detection.
export class Runtime {
  constructor(api, instance, go) {
    this.api = api;
    this.instance = instance;
    this.go = go;
    this.exited = false;
    this.simd = false; // whether the Wasm SIMD kernels run the matmuls (else plain Go)
    this.relaxed = false; // whether Q8 products take the 7-bit recipe (relaxedMode)
    this.relaxedNative = false; // … on the relaxed-SIMD module (kernels_relaxed.wat), not qgemm_u7
    this.threads = 1; // threads the large products are split over (kernel-pool.js)
    this.threadsNote = null; // why fewer threads than asked for, if so
    this.pool = null;
    // Rejected when the program ends, so that calls in flight then fail instead of hanging.
    this._exit = new Promise((_, reject) => (this._onExit = reject));
    this._exit.catch(() => {});
  }

  // markExited records that the Go program ended (a fatal runtime error such as running out of
  // memory, or a JS error such as a stack overflow unwinding through it): calls in flight and
  // later calls reject with code "exited", and the next model starts a new instance.
  markExited() {
    if (this.exited) return;
    this.exited = true;
    this.pool?.stop();
    if (current === this._promise) current = null;
    this._onExit(new AdapterwasmError("exited", EXITED));
  }

  // call invokes a module function, turning Go errors into AdapterwasmErrors.
  async call(target, method, ...args) {
    if (this.exited || this.go.exited) {
      this.markExited();
      throw new AdapterwasmError("exited", EXITED);
    }
    let p;
    try {
      p = target[method](...args);
    } catch (e) {
      p = Promise.reject(e);
    }
    try {
      // A call during which the program ended returns no Promise (wasm_exec.js answers undefined).
      if (this.go.exited) this.markExited();
      return await Promise.race([this._exit, p]);
    } catch (e) {
      if (this.go.exited) this.markExited();
      if (this.exited) throw new AdapterwasmError("exited", EXITED, { cause: e });
      throw fromGo(e);
    }
  }

  // useThreads(false) runs every product on this thread while the pool stays (true: back to the
  // pool, if there is one): benchmarks compare one thread and the pool on the same shared memory.
  useThreads(on) {
    this._pooled.pool = on ? this.pool : null;
  }

  // memoryBytes is the size of the Wasm linear memory (it grows, never shrinks).
  get memoryBytes() {
    return this.instance.exports.mem.buffer.byteLength;
  }
}

// guardResume makes a JS error that unwinds through the Go program (the engine's Wasm stack
// overflowing: "RangeError: Maximum call stack size exceeded") end it, as a fatal Go error does:
// its stacks and scheduler are left mid-call, so it must never run again. go._resume is
// wasm_exec.js's one way into Go (method calls, callbacks, Go's timers). The outermost entry
// swallows the error, so that neither the method's caller nor a timer sees it escape (an uncaught
// exception ends Node): the call finds the program ended and rejects with code "exited". A nested
// entry (JS called by Go calling Go) rethrows it, so that the Go frames beneath never go on.
function guardResume(go, onDeath) {
  const resume = go._resume.bind(go);
  let depth = 0;
  go._resume = () => {
    if (go.exited) return; // ended: nothing runs (wasm_exec.js would throw from a timer)
    depth++;
    try {
      resume();
    } catch (e) {
      if (!go.exited) {
        go.exited = true;
        for (const t of go._scheduledTimeouts.values()) clearTimeout(t);
        go._scheduledTimeouts.clear();
        go._resolveExitPromise();
        onDeath(e);
      }
      if (depth > 1) throw e;
    } finally {
      depth--;
    }
  };
}

// defaultWasm is where the module sits beside this package; the Node entry replaces it with the
// file's bytes.
let wasmSource = () => new URL("../dist/adapterwasm.wasm", import.meta.url);

export function setDefaultWasm(f) {
  wasmSource = f;
}

// readLocal reads a file: URL given as options.wasm where fetch cannot (the Node entry sets it).
let readLocal = null;

export function setFileReader(f) {
  readLocal = f;
}

// defaultKernels is the compiled SIMD kernel module when the entry has one (workerd.js), and
// defaultRelaxedKernels the compiled relaxed-SIMD one beside it.
let defaultKernels;
let defaultRelaxedKernels;

export function setDefaultKernels(k, relaxed) {
  defaultKernels = k;
  defaultRelaxedKernels = relaxed;
}

// loadRuntime starts the Go instance, once. wasm may be a WebAssembly.Module (Cloudflare Workers
// bundle it), bytes, a Response, or a URL; by default the file beside the package. kernels may be
// the compiled SIMD kernel module (kernels.wasm, bundled in Cloudflare Workers); by default it is
// compiled from the bytes in dist/kernels.js. Both only matter for the first model of a realm,
// as does progress (a LoadProgress, progress.js): the Wasm module is reported as one of its files,
// and threads (the kernel threads to split large products over; threadPlan), relaxedSimd
// (relaxedMode), and relaxedKernels (the compiled relaxed-SIMD kernel module, kernels_relaxed.wasm,
// which goes with a compiled kernels module: Cloudflare Workers bundle both).
export function loadRuntime(wasm, kernels, gc, progress, threads, relaxedSimd, relaxedKernels) {
  if (current) return current;
  const p = start(wasm, kernels, gc, progress, threads, relaxedSimd, relaxedKernels).then(
    (rt) => {
      rt._promise = p;
      if (rt.exited && current === p) current = null; // died before anyone used it
      return rt;
    },
    (e) => {
      if (current === p) current = null;
      throw e;
    },
  );
  current = p;
  return p;
}

// WASM_HINT says what to do when the module is not where the package looks for it: bundlers
// that do not emit assets referenced by `new URL(…, import.meta.url)` (esbuild) leave it behind.
const WASM_HINT = "pass options.wasm: the URL your bundler gives adapterwasm/adapterwasm.wasm (README: Bundling), its bytes, or a WebAssembly.Module";

// prep, when given, rewrites the module's bytes before they are compiled (shareMemory); source
// must then not be a WebAssembly.Module.
const IDENTITY = Object.assign((b) => b, { identity: true });

async function instantiate(source, imports, progress, isDefault, prep = IDENTITY) {
  source = await source;
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, imports);
  let file = null;
  const isResponse = typeof Response !== "undefined" && source instanceof Response;
  const url = isResponse ? source.url : source instanceof URL || typeof source === "string" ? String(source) : "";
  try {
    if ((source instanceof URL || typeof source === "string") && readLocal && /^file:/i.test(url)) {
      source = await readLocal(new URL(url)); // Node: e.g. new URL(wasmFile, import.meta.url) in a bundle
      isDefault = true; // reported as the file it is, and a missing one says what to pass
    }
    if (source instanceof URL || typeof source === "string") {
      file = progress?.file(url);
      source = await fetch(source).catch((e) => Promise.reject(new AdapterwasmError("network", `${url}: ${e.message}${isDefault ? `; ${WASM_HINT}` : ""}`, { cause: e })));
    } else if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
      if (isDefault && progress) {
        // The Node entry's read of the file beside the package.
        file = progress.file(/^file:/i.test(url) ? url : new URL("../dist/adapterwasm.wasm", import.meta.url).href, source.byteLength);
        file.onChunk({ loaded: source.byteLength, total: source.byteLength, fromCache: false });
        file.done(source.byteLength);
      }
      return (await WebAssembly.instantiate(prep(source), imports)).instance;
    }
    if (typeof Response !== "undefined" && source instanceof Response) {
      if (!source.ok) throw new AdapterwasmError(isDefault ? "missing_file" : "network", `${url}: HTTP ${source.status}${isDefault ? `: the Wasm module is not there; ${WASM_HINT}` : ""}`);
      if (!file && progress) file = progress.file(source.url || "https://adapterwasm.invalid/adapterwasm.wasm");
      let counted = { res: source, bytes: () => 0 };
      if (file) counted = countBody(source, file.onChunk);
      let inst;
      if (WebAssembly.instantiateStreaming && source.headers.get("content-type") === "application/wasm" && prep.identity) {
        inst = (await WebAssembly.instantiateStreaming(counted.res, imports)).instance;
      } else {
        inst = (await WebAssembly.instantiate(prep(await counted.res.arrayBuffer()), imports)).instance;
      }
      file?.done(counted.bytes());
      return inst;
    }
    return (await WebAssembly.instantiate(prep(source), imports)).instance;
  } catch (e) {
    if (e instanceof AdapterwasmError) throw e;
    // workerd (Cloudflare Workers) compiles no Wasm from bytes: "Wasm code generation disallowed by embedder".
    if (/disallowed/i.test(e?.message)) throw new AdapterwasmError("unsupported", `${e.message}: this host cannot compile Wasm from bytes; pass the bundled module as options.wasm (Cloudflare Workers: import wasm from "adapterwasm/adapterwasm.wasm")`, { cause: e });
    if (e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError) throw new AdapterwasmError("format", `the Wasm module${url ? ` (${url.slice(0, 200)})` : ""}: ${e.message}${isDefault ? `; ${WASM_HINT}` : ""}`, { cause: e });
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
//
// With shared (Go's memory made shared by shareMemory), the kernel module is compiled for a
// shared memory too, and attach returns that Module as well, for the kernel workers.
//
// Where the engine has relaxed SIMD (WebAssembly.validate accepts dist/kernels_relaxed.js:
// Chromium; Node 20 only with --experimental-wasm-relaxed-simd) and relaxed is true, the
// relaxed-SIMD Q8 kernel (runtime/kernels/wat/kernels_relaxed.wat) is instantiated too, its
// exports merged into the kernel module's, and attach's answer has relaxedModule; Go then uses
// it for Q8 products (kernels.Relaxed). With a compiled kernel module (Cloudflare Workers), the
// relaxed one is compiledRelaxed, when the host bundled it too (an engine without relaxed SIMD
// would have refused it at bundle load). Where relaxed is true and there is no relaxed module, Go
// runs the same 7-bit recipe on kernels.wat's qgemm_u7 (the trampolines' u7_requested): the same
// answers, at plain-SIMD speed.
function kernelImports(compiled, rt, mode, compiledRelaxed) {
  let k = null;
  const relaxed = mode === "on";
  const imports = kernelTrampolines(() => k, () => rt.pool, { u7: mode !== "off" });
  const attach = async (goInstance, shared) => {
    if (globalThis.ADAPTERWASM_KERNELS === "off") return null; // force the plain-Go kernels (benchmarks)
    const env = { env: { mem: goInstance.exports.mem } };
    try {
      if (compiled instanceof WebAssembly.Module) {
        k = { ...(await WebAssembly.instantiate(compiled, env)).exports }; // a Module in: an Instance out
        if (!relaxed || !(compiledRelaxed instanceof WebAssembly.Module)) return { module: compiled };
        try {
          Object.assign(k, (await WebAssembly.instantiate(compiledRelaxed, env)).exports);
          return { module: compiled, relaxedModule: compiledRelaxed };
        } catch {
          return { module: compiled }; // not a module for this memory: qgemm_u7
        }
      }
      const { default: b64 } = await import("../dist/kernels.js");
      let bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      if (shared) bytes = shareMemory(bytes);
      const module = await WebAssembly.compile(bytes);
      k = { ...(await WebAssembly.instantiate(module, env)).exports };
      const relaxedModule = relaxed ? await relaxedKernels(shared) : null;
      if (relaxedModule) Object.assign(k, (await WebAssembly.instantiate(relaxedModule, env)).exports);
      return { module, relaxedModule, exports: k };
    } catch {
      k = null; // plain-Go kernels
      return null;
    }
  };
  return { imports, attach };
}

// relaxedMode tells whether q8 products take the 7-bit recipe of the relaxed-SIMD kernel: the
// option relaxedSimd, else globalThis.ADAPTERWASM_RELAXED or the environment's
// ADAPTERWASM_RELAXED ("on"; "plain": the recipe without the relaxed module, as on an engine
// that lacks relaxed SIMD: tests and benchmarks). Answers "on", "plain" or "off". Off by default:
// its 7-bit activations move q8 answers by up to ~0.06 logit from the default kernel's 16-bit
// ones. Who opts in gets the same answers on every engine: the relaxed-SIMD module where the
// engine has it (Chromium, Node 24), kernels.wat's qgemm_u7 with the same results elsewhere.
function relaxedMode(option) {
  if (option !== undefined && typeof option !== "boolean") throw new AdapterwasmError("invalid_argument", `relaxedSimd: want a boolean, not ${String(option).slice(0, 40)}`);
  if (option !== undefined) return option ? "on" : "off";
  const v = globalThis.ADAPTERWASM_RELAXED ?? globalThis.process?.env?.ADAPTERWASM_RELAXED;
  return v === "on" || v === "plain" ? v : "off";
}

// relaxedKernels compiles dist/kernels_relaxed.js, or returns null where the engine has no
// relaxed SIMD (or it is missing: a package built before it).
async function relaxedKernels(shared) {
  try {
    const { default: b64 } = await import("../dist/kernels_relaxed.js");
    let bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    if (!WebAssembly.validate(bytes)) return null;
    if (shared) bytes = shareMemory(bytes);
    return await WebAssembly.compile(bytes);
  } catch {
    return null;
  }
}

// Kernel threads (kernel-pool.js): how a worker is started, and how many threads by default.
// The browser entry starts module Web Workers running kernel-worker.js; the Node entry replaces
// both (worker_threads, os.availableParallelism).
let spawnKernelWorker = () => {
  const w = new Worker(new URL("./kernel-worker.js", import.meta.url), { type: "module", name: "adapterwasm-kernels" });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => (w.onmessage = (ev) => f(ev.data)),
    onError: (f) => (w.onerror = (ev) => f(new Error(ev.message || "the kernel worker failed to load"))),
    terminate: () => w.terminate(),
  };
};
let cores = () => globalThis.navigator?.hardwareConcurrency ?? 1;

export function setKernelWorkers(spawn, coreCount) {
  spawnKernelWorker = spawn;
  cores = coreCount;
}

// DEFAULT_MAX_THREADS caps the default thread count: the encoder's products are too small to
// feed more.
const DEFAULT_MAX_THREADS = 4;

// defaultThreads is onnxruntime-web's default (numThreads): half the cores, rounded up, at most
// DEFAULT_MAX_THREADS. Half, because the page, the OS and other programs need cores too, and a
// kernel worker the OS preempts while it holds a chunk makes the caller wait: on the project's
// 2-core machine under load 2 threads ran slower than 1 (bench/cutover.mjs), so 1 there.
const defaultThreads = () => Math.max(1, Math.min(DEFAULT_MAX_THREADS, Math.ceil((cores() || 1) / 2)));

// threadPlan returns how many kernel threads to try for the threads option (a number, or
// undefined: defaultThreads) and, when fewer than asked, why.
function threadPlan(threads, wasm, kernels) {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)) {
    throw new AdapterwasmError("invalid_argument", `threads: want an integer from 1 to ${MAX_THREADS}, not ${String(threads).slice(0, 40)}`);
  }
  const want = threads ?? defaultThreads();
  if (want === 1) return { threads: 1, note: null };
  const one = (note) => ({ threads: 1, note });
  if (isWorkerd()) return one("Cloudflare Workers run one thread");
  if (globalThis.ADAPTERWASM_KERNELS === "off") return one("the SIMD kernels are off");
  if (globalThis.crossOriginIsolated === false) return one("the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)");
  if (typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object") return one("no SharedArrayBuffer here");
  if (wasm instanceof WebAssembly.Module) return one("options.wasm is a compiled module, whose memory cannot be made shared");
  if (kernels instanceof WebAssembly.Module) return one("options.kernels is a compiled module, whose memory cannot be made shared");
  return { threads: want, note: null };
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

async function start(wasm, compiledKernels, gc, progress, threads, relaxedSimd, compiledRelaxed) {
  const go = new Go();
  const key = `__adapterwasm_${Math.random().toString(36).slice(2)}`;
  go.argv = ["adapterwasm", key];
  go.env = { ...go.env, ...goEnv(gc) };
  if (compiledKernels == null) [compiledKernels, compiledRelaxed] = [defaultKernels, compiledRelaxed ?? defaultRelaxedKernels];
  const source = await (wasm ?? wasmDefault());
  const plan = threadPlan(threads, source, compiledKernels);
  const pooled = { pool: null }; // the trampolines read the pool from here once it runs
  const relaxed = relaxedMode(relaxedSimd);
  const kernels = kernelImports(compiledKernels, pooled, relaxed, compiledRelaxed);
  go.importObject.adapterwasm_kernels = kernels.imports;
  const shared = plan.threads > 1;
  const instance = await instantiate(source, go.importObject, progress, wasm == null, shared ? shareMemory : undefined);
  const kern = await kernels.attach(instance, shared);
  if (shared && !kern) Object.assign(plan, { threads: 1, note: "the SIMD kernels are not available" });
  if (plan.threads > 1) {
    try {
      pooled.pool = await startPool(plan.threads, kern.module, instance.exports.mem, kern.exports, spawnKernelWorker, { relaxedModule: kern.relaxedModule });
    } catch (e) {
      Object.assign(plan, { threads: 1, note: `the kernel workers did not start: ${String(e?.message ?? e).slice(0, 200)}` });
    }
  }
  let rt = null;
  let died = null; // the JS error that ended the program, if one did
  guardResume(go, (e) => (died = e));
  const api = await new Promise((resolve, reject) => {
    globalThis[key] = (api) => {
      delete globalThis[key];
      resolve(api);
    };
    go.run(instance).then(() => {
      // The program ended (a fatal error such as running out of memory): every later call fails,
      // and the next load starts a fresh instance.
      if (rt) rt.markExited();
      pooled.pool?.stop();
      reject(new AdapterwasmError("exited", "the Go instance exited before it was ready", { cause: died ?? undefined }));
    }, reject);
  });
  rt = new Runtime(api, instance, go);
  rt.simd = kern !== null;
  rt.relaxed = relaxed !== "off"; // the 7-bit recipe (kernels.Relaxed; without the kernel module in plain Go)
  rt.relaxedNative = !!kern?.relaxedModule; // … on relaxed-SIMD instructions, not qgemm_u7
  rt.pool = pooled.pool;
  rt._pooled = pooled;
  rt.threads = plan.threads;
  rt.threadsNote = plan.note;
  return rt;
}
