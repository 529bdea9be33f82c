// exec_node.cjs GOROOT_LIB_WASM TEST.wasm ARGS...: $(go env GOROOT)/lib/wasm/wasm_exec_node.js
// with the adapterwasm_kernels imports (see go_js_wasm_exec). The trampoline is the one
// js/src/runtime.js installs.
"use strict";
const fs = require("fs");
const path = require("path");

const [libWasm, wasmFile, ...args] = process.argv.slice(2);
globalThis.require = require;
globalThis.fs = fs;
globalThis.path = path;
globalThis.TextEncoder = require("util").TextEncoder;
globalThis.TextDecoder = require("util").TextDecoder;
globalThis.performance ??= require("perf_hooks").performance;
globalThis.crypto ??= require("crypto");
require(path.join(libWasm, "wasm_exec"));

// kernelImports returns the adapterwasm_kernels import object for Go and a function that
// instantiates the kernel module on Go's memory once Go's instance exists.
function kernelImports() {
  let k = null;
  const imports = {
    available: () => (k ? 1 : 0),
    abi: (...a) => k.abi(...a),
    sgemm_nt: (...a) => k.sgemm_nt(...a),
    sgemm_nn: (...a) => k.sgemm_nn(...a),
    quant_i16: (...a) => k.quant_i16(...a),
    dequant_q8: (...a) => k.dequant_q8(...a),
    q8_gemm_nt: (...a) => k.q8_gemm_nt(...a),
    pack_q8: (...a) => k.pack_q8(...a),
    pack_q7: (...a) => k.pack_q7(...a),
    qgemm_packed: (...a) => k.qgemm_packed(...a),
    softmax_rows: (...a) => k.softmax_rows(...a),
    attention: (...a) => k.attention(...a),
    threads: () => 1,
    gelu_erf: (...a) => k.gelu_erf(...a),
    gelu_erf_backward: (...a) => k.gelu_erf_backward(...a),
    layer_norm: (...a) => k.layer_norm(...a),
    layer_norm_backward: (...a) => k.layer_norm_backward(...a),
    add_bias: (...a) => k.add_bias(...a),
    add_f32: (...a) => k.add_f32(...a),
    transpose_f32: (...a) => k.transpose_f32(...a),
    scale_f32: (...a) => k.scale_f32(...a),
    exp_f32: (...a) => k.exp_f32(...a), // tests only
    quant_u7: (...a) => k.quant_u7(...a),
    qgemm_u7: (...a) => k.qgemm_u7(...a),
    quant_u7_i16: (...a) => k.quant_u7_i16(...a),
    // ADAPTERWASM_RELAXED=on asks for the 7-bit activations and instantiates the relaxed module
    // where the engine has relaxed SIMD; =plain asks for them without it (qgemm_u7)
    u7_requested: () => (["on", "plain"].includes(process.env.ADAPTERWASM_RELAXED) ? 1 : 0),
    relaxed_available: () => (k && typeof k.qgemm_r7 === "function" ? 1 : 0),
    abi_relaxed: (...a) => k.abi_relaxed(...a),
    qgemm_r7: (...a) => k.qgemm_r7(...a),
  };
  const attach = async (goInstance, bytes, relaxedBytes) => {
    const env = { env: { mem: goInstance.exports.mem } };
    const { instance } = await WebAssembly.instantiate(bytes, env);
    k = { ...instance.exports };
    if (relaxedBytes) Object.assign(k, (await WebAssembly.instantiate(relaxedBytes, env)).instance.exports);
  };
  return { imports, attach };
}

// assemble returns the bytes of the WAT file name beside this script (npm wabt).
async function assemble(name, features) {
  const root = path.resolve(__dirname, "../../..");
  let wabtInit;
  try {
    wabtInit = require(path.join(root, "bench/node_modules/wabt"));
  } catch (e) {
    throw new Error("go_js_wasm_exec: npm wabt is missing: run `npm ci` in bench/ (./build.sh bench does)");
  }
  const wabt = await wabtInit();
  const src = path.join(__dirname, name);
  const mod = wabt.parseWat(src, fs.readFileSync(src, "utf8"), { simd: true, ...features });
  mod.validate();
  return Buffer.from(mod.toBinary({}).buffer);
}

async function kernelBytes() {
  if (process.env.ADAPTERWASM_KERNELS_WASM) return fs.readFileSync(process.env.ADAPTERWASM_KERNELS_WASM);
  return assemble("kernels.wat", {});
}

// relaxedBytes returns kernels_relaxed.wat assembled with ADAPTERWASM_RELAXED=on, where the
// engine has relaxed SIMD (go_js_wasm_exec gives Node 20 its flag then); else null: the tests run
// the plain SIMD kernels, as Node does by default.
async function relaxedBytes() {
  if (process.env.ADAPTERWASM_RELAXED !== "on") return null;
  const b = await assemble("kernels_relaxed.wat", { relaxed_simd: true });
  return WebAssembly.validate(b) ? b : null;
}

async function main() {
  const go = new Go();
  go.argv = [wasmFile, ...args];
  go.env = Object.assign({ TMPDIR: require("os").tmpdir() }, process.env);
  go.exit = process.exit;
  const kern = kernelImports();
  go.importObject.adapterwasm_kernels = kern.imports;
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), go.importObject);
  if (process.env.ADAPTERWASM_KERNELS !== "off") await kern.attach(instance, await kernelBytes(), await relaxedBytes());
  process.on("exit", (code) => {
    if (code === 0 && !go.exited) {
      // deadlock, make Go print error and stack traces
      go._pendingEvent = { id: 0 };
      go._resume();
    }
  });
  await go.run(instance);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
