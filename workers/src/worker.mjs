// adapterwasm's Cloudflare Workers entry. It keeps ONE Go instance per isolate, started on the
// first request (workerd allows no timers or random numbers at global scope, and Go's runtime
// needs both) and reused by every later one, so the base model is loaded once per isolate.
// syumai/workers' generated worker.mjs starts a new instance per request instead.
//
// All the logic is Go (wasm/worker, wasm/worker/service). This file starts the instance, hands
// it each request as bytes (and builds the Response from the bytes Go answers: no JS stream is
// made from Go, so no Go callback outlives its request; wasm/worker/serve_js.go), and starts a
// fresh one if the old one ever exits. Sharing one Go instance between requests meets two rules
// of workerd, and the code below is about them:
//
//  1. Every I/O object, promise continuation and timer belongs to the request that made it, and
//     what belongs to a finished request is cancelled. Go runs whatever goroutines are runnable
//     in whichever JS call entered it, so one request could start another's fetches or timers.
//     So one request at a time is in Go, from its own turn of the event loop until its whole
//     response body is out (inTurn), and it does all its I/O in its own context.
//  2. Go's runtime keeps its timers (goroutine sleeps, the GC's pacing) with setTimeout. A timer it
//     set while serving a request that has since ended would never fire, and Go would sleep
//     until some later request woke it. So Go's timers are kept here, not in workerd, and
//     fired by whichever request is in Go (pump).
import "../dist/wasm_exec.js"; // Go's own, copied from $(go env GOROOT)/lib/wasm by ./build.sh worker
import mod from "../dist/adapterwasm-worker.wasm"; // bundled: workerd cannot compile fetched Wasm
import kernelsMod from "../dist/kernels.wasm"; // the Wasm SIMD kernels (runtime/kernels/wat/kernels.wat)
import relaxedMod from "../dist/kernels_relaxed.wasm"; // the relaxed-SIMD Q8 kernel (kernels_relaxed.wat; RELAXED_SIMD on)
import { kernelTrampolines } from "../../js/src/kernel-imports.js";

// syumai/workers reads globalThis.context once, when the instance starts: env and the binding
// its handler registers on. env is the same object for every request of an isolate.
const context = { env: undefined, ctx: undefined, binding: {}, memoryBytes: () => 0 };
globalThis.context = context;
// syumai/workers' jsutil.TryCatch calls this.
globalThis.tryCatch = (fn) => {
  try {
    return { result: fn() };
  } catch (error) {
    return { error };
  }
};

// Go's timers: handle -> { due (ms since the epoch), fire }.
const goTimers = new Map();
let nextTimer = 1;

// keepTimers makes Go's runtime.scheduleTimeoutEvent / clearTimeoutEvent (wasm_exec.js) record
// their timers in goTimers instead of calling workerd's setTimeout / clearTimeout.
function keepTimers(go) {
  const gojs = go.importObject.gojs;
  for (const name of ["runtime.scheduleTimeoutEvent", "runtime.clearTimeoutEvent"]) {
    const original = gojs[name];
    gojs[name] = (sp) => {
      const { setTimeout: set, clearTimeout: clear } = globalThis;
      globalThis.setTimeout = (fire, ms) => {
        const handle = nextTimer++;
        goTimers.set(handle, { due: Date.now() + ms, fire });
        return handle;
      };
      globalThis.clearTimeout = (handle) => goTimers.delete(handle);
      try {
        return original(sp);
      } finally {
        globalThis.setTimeout = set;
        globalThis.clearTimeout = clear;
      }
    };
  }
}

function fireDueTimers() {
  const now = Date.now();
  for (const [handle, t] of goTimers) {
    if (t.due <= now && goTimers.delete(handle)) t.fire();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let goInstance = null; // the Go object of the running instance (wasm_exec.js sets .exited)

// pump waits for promise, firing Go's timers as they come due, from this request's context. It
// gives up if the Go instance exits meanwhile.
async function pump(promise) {
  let settled = false;
  const done = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (;;) {
    fireDueTimers();
    if (settled) return promise;
    if (goInstance?.exited) throw new Error("the Go instance exited");
    let next = Infinity;
    for (const t of goTimers.values()) next = Math.min(next, t.due);
    await Promise.race([done, sleep(Math.min(Math.max(next - Date.now(), 0), 1000))]);
  }
}

let instance = null; // Promise<{ serve, maxBodyBytes, exited }> of the running Go instance

// kernelImports are the adapterwasm_kernels imports of the Go module (runtime/kernels/simd_js.go,
// as js/src/runtime.js gives them): trampolines to the SIMD kernel module, which imports Go's
// memory and so is instantiated once Go's instance exists, before Go's main runs. If it cannot
// be, available() answers 0 and Go runs its plain-Go kernels. relaxed (the RELAXED_SIMD var "on")
// asks for the relaxed-SIMD recipe of the package's relaxedSimd option: on the relaxed-SIMD
// kernel (kernels_relaxed.wasm, instantiated beside the main one), or, if that cannot be, on its
// plain-SIMD twin qgemm_u7 (kernels.wasm); the answers of pages that opt in either way, bit for bit.
function kernelImports(relaxed) {
  let k = null;
  const imports = kernelTrampolines(() => k, () => null, { u7: relaxed });
  const attach = (goInst) => {
    const env = { env: { mem: goInst.exports.mem } };
    try {
      k = { ...new WebAssembly.Instance(kernelsMod, env).exports };
    } catch (e) {
      console.warn(`adapterwasm: SIMD kernels unavailable, plain-Go kernels: ${e?.message ?? e}`);
      k = null;
    }
    if (k && relaxed) {
      try {
        Object.assign(k, new WebAssembly.Instance(relaxedMod, env).exports);
      } catch (e) {
        console.warn(`adapterwasm: relaxed-SIMD kernel unavailable, its plain-SIMD twin: ${e?.message ?? e}`);
      }
    }
    return k !== null;
  };
  return { imports, attach };
}

function start(env) {
  context.env = env;
  context.binding = {};
  goTimers.clear();
  const go = new globalThis.Go();
  goInstance = go;
  keepTimers(go);
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const k = kernelImports(env.RELAXED_SIMD === "on");
  const inst = new WebAssembly.Instance(mod, { ...go.importObject, adapterwasm_kernels: k.imports, workers: { ready: () => ready() } });
  k.attach(inst);
  context.memoryBytes = () => inst.exports.mem.buffer.byteLength;
  const exited = go.run(inst).then(
    () => new Error("the Go instance exited"),
    (e) => e,
  );
  const current = Promise.race([
    isReady.then(() => ({ serve: context.binding.serve, maxBodyBytes: context.binding.maxBodyBytes, exited })),
    exited.then((e) => Promise.reject(e)),
  ]);
  exited.then(() => {
    if (instance === current) instance = null; // the next request starts a fresh instance
  });
  return current;
}

function failure(status, code, message) {
  return new Response(JSON.stringify({ error: { code, message } }) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

// One request at a time is in Go (rule 1 above). A waiting request polls with timers of its
// own: a request waiting on a promise that another request resolves has nothing of its own
// pending, and workerd cancels it as a script that will never generate a response. If the request
// in Go were ever cancelled without its finally running, the gate frees itself after OWNER_MAX_MS.
// The forward passes are serialized in Go anyway: one model, one scratch state.
const OWNER_MAX_MS = 10 * 60_000;
let owner = null; // { since } of the request in Go

async function inTurn(f) {
  while (owner && Date.now() - owner.since < OWNER_MAX_MS) await sleep(2);
  const me = { since: Date.now() };
  owner = me;
  try {
    await sleep(0); // a turn of the event loop of its own: pending I/O runs first
    return await f();
  } finally {
    if (owner === me) owner = null;
  }
}

const NULL_BODY = new Set([101, 204, 205, 304]); // statuses whose Response must have no body

// readBody reads a request's body for Go: null when there is none; undefined when its
// Content-Length is over max (Go answers 413 from that alone); else its bytes, cut at max + 1
// (Go refuses a body over max with 413, whatever the rest holds). A body over max is read to its
// end and dropped before Go answers, up to DRAIN_MAX_BYTES, and cancelled past that: a refused
// body left unread (or only cancelled) held the next request on the same connection in wrangler
// dev (a 60 s stall, its 503, or a reset).
const DRAIN_MAX_BYTES = 16 << 20;

async function readBody(request, max) {
  if (request.body === null) return null;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const reader = request.body.getReader();
  const chunks = [];
  let n = 0;
  try {
    if (declared > DRAIN_MAX_BYTES) return undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.byteLength;
      if (n > DRAIN_MAX_BYTES) break;
      if (n - value.byteLength <= max) chunks.push(value); // keep up to max + 1 bytes
    }
  } finally {
    if (n > DRAIN_MAX_BYTES || declared > DRAIN_MAX_BYTES) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (declared > max) return undefined; // Go answers 413 from the Content-Length alone
  const body = new Uint8Array(Math.min(n, max + 1));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
  }
  return body;
}

async function serve(request, env) {
  let go;
  try {
    instance ??= start(env);
    go = await pump(instance);
  } catch (e) {
    instance = null;
    return failure(500, "internal", `starting the Go instance: ${e?.message ?? e}`);
  }
  // If the instance dies mid-request (a fatal Go error), answer instead of hanging.
  const died = go.exited.then((e) => Promise.reject(e));
  try {
    let body;
    try {
      body = await readBody(request, go.maxBodyBytes);
    } catch (e) {
      return failure(400, "invalid_request", `reading the body: ${e?.message ?? e}`);
    }
    const answer = new Promise((resolve, reject) => {
      const wrong = go.serve(request.method, request.url, JSON.stringify([...request.headers]), body, (status, headers, bytes) => resolve({ status, headers, bytes }));
      if (typeof wrong === "string") reject(new Error(wrong));
    });
    // The answers are small JSON, whole: the Response is built here, in this request's turn.
    const { status, headers, bytes } = await pump(Promise.race([answer, died]));
    return new Response(NULL_BODY.has(status) ? null : bytes, { status, headers: JSON.parse(headers) });
  } catch (e) {
    if (goInstance?.exited) instance = null; // the next request starts a fresh instance
    return failure(500, "internal", `the Go instance failed: ${e?.message ?? e}`);
  }
}

export default {
  fetch(request, env) {
    return inTurn(() => serve(request, env));
  },
};
