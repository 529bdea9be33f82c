// bench/ort-child.mjs: one onnxruntime-web session in a process of its own, driven by its parent
// (threads.mjs) over IPC. onnxruntime-web's thread pool is global to a process
// (ort.env.wasm.numThreads, fixed at its first session): a session with intraOpNumThreads 1 in a
// process whose numThreads is 2 still runs on 2 threads (measured: 1×128 and 8×32 as fast as the
// 2-thread session). So the 1-thread baseline runs here, with numThreads 1, and times each run
// itself (the IPC round trip is not counted), while the parent interleaves it with the others.
//
// Messages: { init: { model (path), numThreads } } → { ready: true } | { error };
// { feeds: ids (token id lists, one length) } → { ok: true }; { run: true } → { ms } (one
// session.run of the last feeds).
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-web";
import { Ort } from "./lib.mjs";

let s, feeds;
process.on("message", async (m) => {
  try {
    if (m.init) {
      ort.env.wasm.numThreads = m.init.numThreads;
      ort.env.wasm.simd = true;
      s = await Ort.create(ort, readFileSync(m.init.model), null, { intraOpNumThreads: m.init.numThreads });
      process.send({ ready: true });
    } else if (m.feeds) {
      feeds = s.feeds(m.feeds);
      process.send({ ok: true });
    } else if (m.run) {
      const t0 = performance.now();
      await s.run(feeds);
      process.send({ ms: performance.now() - t0 });
    } else if (m.exit) process.exit(0);
  } catch (e) {
    process.send({ error: String(e?.stack ?? e) });
  }
});
