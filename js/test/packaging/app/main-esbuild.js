// esbuild emits neither the Wasm module nor the worker script: the README's recipe imports the
// module as a file (--loader:.wasm=file) and bundles adapterwasm/worker-script as a second entry
// point. ?forget=wasm|worker leaves one out, as a user who skipped the recipe would.
import wasm from "adapterwasm/adapterwasm.wasm";
import { run } from "./browser.js";

const forget = new URLSearchParams(location.search).get("forget");
run({
  wasm: forget === "wasm" ? undefined : wasm,
  worker: forget === "worker" ? undefined : () => new Worker(new URL("./adapterwasm-worker.js", import.meta.url), { type: "module" }),
});
