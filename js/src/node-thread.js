// Node only: how the package starts its worker threads (the model's thread of WorkerModelWithHeads,
// the kernel threads) with the process's Node options, minus those a thread refuses.
import { Worker } from "node:worker_threads";

// threadExecArgv is the process's Node options minus a script given with -e / --input-type (as in
// `node --input-type=module -e …`), which a thread would take as its own and refuse.
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

// startThread starts a worker_threads Worker on url with options and the process's Node options.
// Options that affect the whole process are refused by a thread (ERR_WORKER_INVALID_EXEC_ARGV,
// naming them): Node 24's test runner, for one, passes its defaults (--stack-trace-limit=10,
// --v8-pool-size=4, …) as the process's execArgv; the thread then starts without those.
export function startThread(url, options = {}) {
  const execArgv = threadExecArgv();
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (e) {
    if (e?.code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw e;
    const refused = new Set(String(e.message).replace(/^[^:]*:\s*/, "").split(", "));
    return new Worker(url, { ...options, execArgv: execArgv.filter((a) => !refused.has(a)) });
  }
}
