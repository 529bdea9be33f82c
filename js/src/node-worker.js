// The Node worker thread side of WorkerModelWithHeads (node-worker-client.js): the model lives in
// this thread. The protocol is worker-ops.js's; the cache option is fromPretrained's in Node (true:
// the default cache directory, a string: a directory, false: none).
import { parentPort } from "node:worker_threads";
import { AutoModelWithHeads, listAdapters } from "./node.js";
import { serve } from "./worker-ops.js";

const handle = serve((message, transfer) => parentPort.postMessage(message, transfer), { AutoModelWithHeads, listAdapters });
parentPort.on("message", handle);
