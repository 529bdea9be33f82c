// A Node worker thread running the package's worker protocol (src/worker-ops.js) as
// src/node-worker.js does, plus two messages for tests: { op: "_kill", args: [hook] } calls a
// test hook of the module (helpers/fataltest.js) to kill the instance under the model, and
// { op: "_throw" } throws from a timer, which ends the thread.
import { parentPort } from "node:worker_threads";
import { AutoModelWithHeads, listAdapters } from "../../src/node.js";
import { serve } from "../../src/worker-ops.js";

let model = null;
class Model extends AutoModelWithHeads {
  static async fromPretrained(...args) {
    return (model = await super.fromPretrained(...args));
  }
}
const handle = serve((message, transfer) => parentPort.postMessage(message, transfer), { AutoModelWithHeads: Model, listAdapters });
parentPort.on("message", (data) => {
  if (data.op === "_throw") return setTimeout(() => {
    throw new Error("the thread dies");
  });
  if (data.op !== "_kill") return handle(data);
  model._rt.call(model._rt.api, data.args[0]).then(
    () => parentPort.postMessage({ id: data.id, ok: true }),
    (e) => parentPort.postMessage({ id: data.id, ok: false, error: { name: e.name, code: e.code, message: e.message } }),
  );
});
