// A kernel worker (kernel-pool.js) as a module Web Worker: started by the package's loader where
// the page is cross-origin isolated, never by the page itself.
import { workerMain } from "./kernel-pool.js";

self.onmessage = (ev) => workerMain(ev.data, (m) => self.postMessage(m));
