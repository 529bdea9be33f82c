// threads-child.js BASE THREADS [ADAPTER_DIR]: a fresh process (the kernel threads are the
// realm's, chosen by its first model) that loads BASE with { threads: THREADS }, splits every
// product the pool can take (setParallelMin(0)), and prints one JSON line: the model's threads and
// threadsNote, the pool's stats, and the embeddings and logits of a fixed batch as hex of their
// float32 bytes, for threads.test.js to compare bit for bit across thread counts.
// THREADS_ISOLATED=0 makes the realm look like a page that is not cross-origin isolated.
import { setParallelMin } from "../../src/kernel-imports.js";
import { AutoModelWithHeads } from "../../src/node.js";

const [base, threads, adapter] = process.argv.slice(2);
if (process.env.THREADS_ISOLATED === "0") globalThis.crossOriginIsolated = false;
setParallelMin(0);
const hex = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
const texts = [
  "the quick brown fox jumps over the lazy dog",
  "I love this movie, it is wonderful and moving from the first minute to the last one",
  "a",
  "Terrible. Two hours I will never get back, and the popcorn was stale too. ".repeat(3),
  "",
  "naïve café résumé 東京 🤖",
  "one two three four five six seven eight nine ten eleven twelve",
];
const model = await AutoModelWithHeads.fromPretrained(base, { threads: Number(threads), cache: false });
const out = { threads: model.threads, threadsNote: model.threadsNote, simd: model.simd };
out.embed = (await model.embed(texts)).map(hex);
if (adapter) {
  const name = await model.loadAdapter(adapter);
  model.activeAdapters = name;
  out.logits = (await model.classify(texts)).map((r) => hex(Float32Array.from(r.logits)));
}
out.stats = model._rt.pool ? { ...model._rt.pool.stats } : null;
process.stdout.write(JSON.stringify(out) + "\n");
// The process ends by itself (the kernel workers are unref'd), not by process.exit: Node 24 hung
// at process.exit in a child like this one (convert.test.js's, 2026-12-07: the main thread
// joining V8's worker thread while that thread's background compile waited for a garbage
// collection only the main thread could run, by gdb); a normal end disposes the isolate before it
// stops the platform.
model.dispose();
