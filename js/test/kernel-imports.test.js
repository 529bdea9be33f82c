// The kernel trampolines tell Go to use the SIMD kernel module only when it has every function
// Go may call: a kernels.js from another build must mean the plain-Go kernels, not a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelTrampolines } from "../src/kernel-imports.js";

test("available() needs the module and every kernel in it", () => {
  let k = null;
  const t = kernelTrampolines(() => k);
  assert.equal(t.available(), 0, "no module yet");
  const relaxed = ["abi_relaxed", "qgemm_r7"];
  const names = Object.keys(t).filter((n) => !["available", "relaxed_available", "threads", "u7_requested"].includes(n) && !relaxed.includes(n));
  assert.ok(names.includes("qgemm_u7"), "the relaxed recipe's plain-SIMD twin is in kernels.wat: required");
  k = Object.fromEntries(names.map((n) => [n, () => {}]));
  assert.equal(t.available(), 1, "the relaxed-SIMD kernel is optional");
  assert.equal(t.relaxed_available(), 0, "no relaxed-SIMD kernel");
  for (const n of relaxed) k[n] = () => {};
  assert.equal(t.relaxed_available(), 1);
  delete k.qgemm_r7;
  assert.equal(t.relaxed_available(), 0, "a relaxed module without qgemm_r7");
  k.qgemm_r7 = () => {};
  delete k[names.at(-1)];
  assert.equal(t.available(), 0, `a module without ${names.at(-1)}`);
  assert.equal(t.relaxed_available(), 0, "relaxed without the kernel module");
});

test("u7_requested tells Go whether the host asks for the relaxed recipe (qgemm_r7, else qgemm_u7)", () => {
  assert.equal(kernelTrampolines(() => null).u7_requested(), 0, "off by default");
  assert.equal(kernelTrampolines(() => null, () => null, { u7: true }).u7_requested(), 1);
});
