// prepack: npm pack / npm publish refuse to pack the package without its built files (dist/ is
// made by ./build.sh wasm at the repository root and never committed), instead of shipping a
// package whose first load fails.
import { existsSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8"));
const missing = pkg.files.filter((f) => !existsSync(new URL(f, import.meta.url)));
if (missing.length) {
  console.error(`adapterwasm prepack: missing ${missing.join(", ")}: run ./build.sh wasm at the repository root first`);
  process.exit(1);
}
if (!/export function goClass/.test(readFileSync(new URL("dist/wasm_exec.js", import.meta.url), "utf8"))) {
  console.error("adapterwasm prepack: dist/wasm_exec.js is Go's file unwrapped: run ./build.sh wasm (it wraps it)");
  process.exit(1);
}
