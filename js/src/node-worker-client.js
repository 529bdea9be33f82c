// WorkerModelWithHeads for Node: AutoModelWithHeads's API with the model in a worker thread
// (node:worker_threads), so that loading and inference never block the main thread. Same
// methods, results and errors as the Web Worker client (worker-client.js), which this extends;
// `adapterwasm/worker` resolves here under Node. Options are fromPretrained's in Node, except
// that cache is true, false or a directory (a store object cannot cross threads), plus worker (a
// worker_threads Worker running adapterwasm/node-worker-script).
//
// The thread holds the process open only while calls are pending: a script that ends without
// dispose() still exits.
import "./node-local.js"; // paths resolve here as in the worker
import { startThread } from "./node-thread.js";
import { WorkerModelWithHeads as WebWorkerModelWithHeads } from "./worker-client.js";
import { poolClass } from "./worker-pool.js";

export class WorkerModelWithHeads extends WebWorkerModelWithHeads {
  static _startWorker() {
    return startThread(new URL("./node-worker.js", import.meta.url));
  }

  static _workerUrl() {
    return String(import.meta.url).replace(/[^/?#]*([?#].*)?$/, "node-worker.js");
  }

  constructor(worker, scriptUrl) {
    super(worker, scriptUrl);
    worker.unref?.();
  }

  _rpc(op, args, signal, onProgress) {
    const p = super._rpc(op, args, signal, onProgress);
    this._w?.ref?.();
    const idle = () => {
      if (this._pending.size === 0) this._w?.unref?.();
    };
    p.then(idle, idle);
    return p;
  }
}

// WorkerModelPool over worker threads (worker-pool.js).
export const WorkerModelPool = poolClass(WorkerModelWithHeads);

export { Stack, Fuse, Parallel, Split, BatchSplit, Average, MultiTask, AdapterSetup } from "./composition.js";
export { AdapterwasmError } from "./errors.js";
