// WorkerModelWithHeads for Node: AutoModelWithHeads's API with the model in a worker thread
// (node:worker_threads), so that loading and inference never block the main thread. Same
// methods, results and errors as the Web Worker client (worker-client.js), which this extends;
// `adapterwasm/worker` resolves here under Node. Options are fromPretrained's in Node, except
// that cache is true, false or a directory (a store object cannot cross threads), plus worker (a
// worker_threads Worker running adapterwasm/node-worker-script).
//
// The thread holds the process open only while calls are pending: a script that ends without
// dispose() still exits.
import { Worker } from "node:worker_threads";
import "./node-local.js"; // paths resolve here as in the worker
import { WorkerModelWithHeads as WebWorkerModelWithHeads } from "./worker-client.js";

export class WorkerModelWithHeads extends WebWorkerModelWithHeads {
  static _startWorker() {
    return new Worker(new URL("./node-worker.js", import.meta.url), { execArgv: threadExecArgv() });
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

// threadExecArgv is the process's Node options minus those a worker thread refuses (a script
// given with -e / --input-type, as in `node --input-type=module -e …`).
function threadExecArgv() {
  const out = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (/^(-e|--eval|-p|--print|--input-type)$/.test(a)) i++; // and its value
    else if (!/^(--eval|--print|--input-type)=/.test(a)) out.push(a);
  }
  return out;
}

export { Stack, Fuse, Parallel, Split, BatchSplit, Average, MultiTask, AdapterSetup } from "./composition.js";
export { AdapterwasmError } from "./errors.js";
