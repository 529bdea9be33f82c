// The Cloudflare Workers entry (export condition "workerd", which wrangler's bundler uses):
// workerd compiles no Wasm from bytes, so the Go module and the SIMD kernel modules are imported
// as modules (wrangler bundles an imported .wasm as a compiled WebAssembly.Module) and become the
// defaults of fromPretrained's wasm, kernels and relaxedKernels options (the relaxed-SIMD one runs
// only with relaxedSimd: true; workerd's V8 has relaxed SIMD). Otherwise the browser entry.
import wasm from "../dist/adapterwasm.wasm";
import kernels from "../dist/kernels.wasm";
import relaxedKernels from "../dist/kernels_relaxed.wasm";
import { setDefaultKernels, setDefaultWasm } from "./runtime.js";

setDefaultWasm(() => wasm);
setDefaultKernels(kernels, relaxedKernels);

export * from "./index.js";
