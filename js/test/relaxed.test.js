// node --test: the relaxed-SIMD Q8 kernel (runtime/kernels/wat/kernels_relaxed.wat) in Node. Node 20
// has relaxed SIMD only behind --experimental-wasm-relaxed-simd (the package runs the plain SIMD
// kernel there), Node 24 has it without a flag (build.sh runs this file on both); the kernel is
// opt-in anyway (relaxedSimd: true or ADAPTERWASM_RELAXED=on): child Nodes with ADAPTERWASM_RELAXED=on
// (and the flag where this Node needs it; helpers/relaxed-run.js) run the relaxed one: MiniLM's
// embeddings and the demo adapters' results are the CLI's with --relaxed-simd (the recipe's
// plain-Go twin) bit for bit, 2 kernel threads give exactly 1 thread's answers, the plain-SIMD
// twin (qgemm_u7, what an engine without relaxed SIMD runs: ADAPTERWASM_RELAXED=plain) gives
// exactly the relaxed kernel's answers, and ADAPTERWASM_RELAXED=off gives the default kernel
// back (the CLI's default answers, bit for bit, as node.test.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

import { checkClassify, checkEmbeddings, cli, goldenSentences, HAVE_MINILM, MINILM_ADAPTERS, MINILM_BASE, MINILM_DTYPE, requireBuild } from "./helpers/fixtures.js";

requireBuild();
const FLAG = "--experimental-wasm-relaxed-simd";
// nodeArgs: how a child Node gets relaxed SIMD: [] where this Node has it (it validates the
// relaxed kernel module as it is), [FLAG] where the flag gives it, null where neither does.
const { default: relaxedB64 } = await import("../dist/kernels_relaxed.js");
const nodeArgs = (() => {
  if (WebAssembly.validate(Buffer.from(relaxedB64, "base64"))) return [];
  try {
    execFileSync(process.execPath, [FLAG, "-e", "0"], { stdio: "ignore", timeout: 60_000 });
    return [FLAG];
  } catch {
    return null;
  }
})();

const run = (env = {}) =>
  JSON.parse(execFileSync(process.execPath, [...nodeArgs, join(import.meta.dirname, "helpers/relaxed-run.js")], { env: { ...process.env, ADAPTERWASM_RELAXED: "on", ...env }, maxBuffer: 1 << 28, encoding: "utf8", timeout: 300_000 }).trim().split("\n").at(-1));

const refs = new Map(); // the CLI's answers, once each
const ref = (args) => refs.get(args.join(" ")) ?? refs.set(args.join(" "), cli(args, goldenSentences())).get(args.join(" "));

// check: out's answers are the CLI's bit for bit, with --relaxed-simd when relaxed.
// (out may hold the first n sentences only: the CLI's batches are others, and answers do not
// depend on the batch.)
function check(out, relaxed, what) {
  const r = relaxed ? ["--relaxed-simd"] : [];
  const n = out.embed.length;
  checkEmbeddings(out.embed.map((e) => Object.values(e)), ref(["embed", "--model", MINILM_BASE, "--normalize", ...r]).slice(0, n), what);
  for (const [a, got] of Object.entries(out.classify)) {
    checkClassify(got, ref(["classify", "--model", MINILM_BASE, "--adapter", join(MINILM_ADAPTERS, a), ...r]).slice(0, n), `${what} ${a}`);
  }
}

test("relaxedSimd without the SIMD kernel module: the recipe in plain Go (go+u7), the CLI's --relaxed-simd answers", { skip: (!HAVE_MINILM && "no MiniLM") || (MINILM_DTYPE !== "q8" && "the f32 base has no Q8 products") }, () => {
  const out = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, "helpers/relaxed-run.js")], { env: { ...process.env, ADAPTERWASM_RELAXED: "on", ADAPTERWASM_KERNELS: "off", ADAPTERS: "sentiment", TEXTS: "6" }, maxBuffer: 1 << 28, encoding: "utf8", timeout: 300_000 }).trim().split("\n").at(-1));
  assert.deepEqual([out.simd, out.relaxedSimd, out.kernels], [false, true, "go+u7"]);
  check(out, true, "go+u7");
});

test("relaxed SIMD in Node: the CLI's --relaxed-simd answers bit for bit, the same at 2 threads, off on request", { skip: (!HAVE_MINILM && "no MiniLM") || (MINILM_DTYPE !== "q8" && "the f32 base has no Q8 products") || (!nodeArgs && `no relaxed SIMD in Node ${process.version}, not even with ${FLAG}`) }, () => {
  const one = run();
  assert.equal(one.relaxedSimd, true, "the relaxed-SIMD kernel where the engine has it");
  assert.equal(one.kernels, "wasm-simd+relaxed", "on relaxed-SIMD instructions");
  check(one, true, "relaxed");
  const two = run({ THREADS: "2", ADAPTERS: "sentiment" });
  assert.equal(two.threads, 2);
  assert.deepEqual({ ...two, threads: 1 }, { ...one, classify: { sentiment: one.classify.sentiment } }, "2 kernel threads: bit-identical");
  // An engine without relaxed SIMD runs the recipe on qgemm_u7: the same answers, bit for bit.
  const plain = run({ ADAPTERWASM_RELAXED: "plain", ADAPTERS: "sentiment" });
  assert.equal(plain.kernels, "wasm-simd+u7", "ADAPTERWASM_RELAXED=plain: no relaxed module");
  assert.deepEqual({ ...plain, kernels: one.kernels }, { ...one, classify: { sentiment: one.classify.sentiment } }, "qgemm_u7: qgemm_r7's answers");
  const plain2 = run({ ADAPTERWASM_RELAXED: "plain", THREADS: "2", ADAPTERS: "sentiment" });
  assert.deepEqual({ ...plain2, kernels: one.kernels, threads: 1 }, { ...one, classify: { sentiment: one.classify.sentiment } }, "qgemm_u7 at 2 threads");
  const off = run({ ADAPTERWASM_RELAXED: "off", ADAPTERS: "sentiment" });
  assert.deepEqual([off.relaxedSimd, off.kernels], [false, "wasm-simd"], "ADAPTERWASM_RELAXED=off");
  check(off, false, "relaxed off");
});

test("relaxedSimd on an engine without relaxed SIMD (Node 20 without the flag): qgemm_u7, the relaxed kernel's answers", { skip: (!HAVE_MINILM && "no MiniLM") || (MINILM_DTYPE !== "q8" && "the f32 base has no Q8 products") || (nodeArgs?.length === 0 && `Node ${process.version} has relaxed SIMD without a flag`) }, () => {
  const plain = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, "helpers/relaxed-run.js")], { env: { ...process.env, ADAPTERWASM_RELAXED: "on", ADAPTERS: "sentiment" }, maxBuffer: 1 << 28, encoding: "utf8", timeout: 300_000 }).trim().split("\n").at(-1));
  assert.deepEqual([plain.relaxedSimd, plain.kernels], [true, "wasm-simd+u7"], "relaxedSimd: true without relaxed SIMD takes qgemm_u7");
  check(plain, true, "qgemm_u7");
  if (nodeArgs) assert.deepEqual({ ...plain, kernels: "wasm-simd+relaxed" }, run({ ADAPTERS: "sentiment" }), "the same answers as the relaxed kernel with the flag");
});
