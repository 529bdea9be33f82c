// adapterwasm's Cloudflare Workers entry. It keeps ONE Go instance per isolate, started on the
// first request (workerd allows no timers or random numbers at global scope, and Go's runtime
// needs both) and reused by every later one, so the base model is loaded once per isolate.
// syumai/workers' generated worker.mjs starts a new instance per request instead.
//
// All the logic is Go (wasm/worker, wasm/worker/service): this file only starts the instance,
// hands it each request, and starts a fresh one if the old one ever exits.
import "../dist/wasm_exec.js"; // Go's own, copied from $(go env GOROOT)/lib/wasm by ./build.sh worker
import mod from "../dist/adapterwasm-worker.wasm"; // bundled: workerd cannot compile fetched Wasm

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

let instance = null; // Promise<{ handleRequest, exited }> of the running Go instance

function start(env) {
  context.env = env;
  context.binding = {};
  const go = new globalThis.Go();
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const inst = new WebAssembly.Instance(mod, { ...go.importObject, workers: { ready: () => ready() } });
  context.memoryBytes = () => inst.exports.mem.buffer.byteLength;
  const exited = go.run(inst).then(
    () => new Error("the Go instance exited"),
    (e) => e,
  );
  const current = Promise.race([
    isReady.then(() => ({ handleRequest: context.binding.handleRequest, exited })),
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

// One request at a time enters Go, each from its own turn of the event loop. Go is not
// preempted: once entered, it runs every runnable goroutine before it returns, so without this
// gate one request's JS call would run the forward passes of every request queued behind Go's
// model lock, blocking the isolate for seconds, charging their CPU time to that one request,
// and doing their I/O (adapter fetches) in that request's context, which workerd cancels when
// that request ends. The forward passes are serialized in Go anyway.
let turn = Promise.resolve();

async function inTurn(f) {
  const previous = turn;
  let done;
  turn = new Promise((resolve) => (done = resolve));
  try {
    await previous;
    await new Promise((resolve) => setTimeout(resolve, 0)); // let pending I/O run first
    return await f();
  } finally {
    done();
  }
}

export default {
  async fetch(request, env, ctx) {
    return inTurn(async () => {
      let go;
      try {
        instance ??= start(env);
        go = await instance;
      } catch (e) {
        instance = null;
        return failure(500, "internal", `starting the Go instance: ${e?.message ?? e}`);
      }
      // If the instance dies mid-request (a fatal Go error), answer instead of hanging.
      return Promise.race([
        go.handleRequest(request),
        go.exited.then((e) => failure(500, "internal", `the Go instance exited: ${e?.message ?? e}`)),
      ]);
    });
  },
};
