// The Cloudflare Workers entry (export condition "workerd", which wrangler's bundler uses):
// workerd compiles no Wasm from bytes, so the Go module and the SIMD kernel module are imported
// as modules (wrangler bundles an imported .wasm as a compiled WebAssembly.Module) and become the
// defaults of fromPretrained's wasm and kernels options. Otherwise the browser entry.
import wasm from "../dist/adapterwasm.wasm";
import kernels from "../dist/kernels.wasm";
import { setDefaultKernels, setDefaultWasm } from "./runtime.js";

setDefaultWasm(() => wasm);
setDefaultKernels(kernels);

export * from "./index.js";
