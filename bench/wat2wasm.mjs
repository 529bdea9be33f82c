// wat2wasm.mjs IN.wat OUT: assembles a WAT file with npm wabt (pinned in bench/package-lock.json).
// OUT ending in .js writes an ES module whose default export is the module's bytes in base64
// (js/dist/kernels.js: importable from Node, browsers and bundlers alike); otherwise the .wasm.
import wabtInit from "wabt";
import { readFileSync, writeFileSync } from "node:fs";

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error("usage: node wat2wasm.mjs IN.wat OUT.wasm|OUT.js");
  process.exit(2);
}
const wabt = await wabtInit();
// relaxed_simd: kernels_relaxed.wat (kernels.wat uses none of it).
const mod = wabt.parseWat(src, readFileSync(src, "utf8"), { simd: true, relaxed_simd: true });
mod.resolveNames();
mod.validate();
const bytes = Buffer.from(mod.toBinary({}).buffer);
if (dst.endsWith(".js")) {
  writeFileSync(dst, `// Generated from ${src} by bench/wat2wasm.mjs (./build.sh wasm): do not edit.\nexport default "${bytes.toString("base64")}";\n`);
} else {
  writeFileSync(dst, bytes);
}
console.error(`wat2wasm: ${dst}: ${bytes.length} bytes`);
