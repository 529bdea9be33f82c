// The module Web Worker side of WorkerModelWithHeads (worker-client.js): the model lives here, off
// the page's main thread. The protocol is worker-ops.js's; a string cache option names a Cache API cache.
import { AutoModelWithHeads, listAdapters } from "./index.js";
import { CacheApiStore } from "./store.js";
import { serve } from "./worker-ops.js";

const handle = serve((message, transfer) => self.postMessage(message, transfer), {
  AutoModelWithHeads,
  listAdapters,
  cacheOption: (cache) => (typeof cache === "string" ? new CacheApiStore(cache) : cache),
});
self.onmessage = (ev) => handle(ev.data);
