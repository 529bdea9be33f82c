// A kernel worker (kernel-pool.js) as a Node worker thread: started by the package's loader.
import { parentPort } from "node:worker_threads";
import { workerMain } from "./kernel-pool.js";

parentPort.once("message", (m) => workerMain(m, (a) => parentPort.postMessage(a)));
