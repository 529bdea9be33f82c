// The Wasm module with the test hooks that kill the instance (wasm/jsapi/fataltest_js.go, build
// tag adapterwasm_fataltest): _fatal (a Go fatal error, the program exits) and _overflow (the
// engine's Wasm stack overflows under Go's frames). Built once per process into a temp dir.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ROOT, tempDir } from "./fixtures.js";

let path;

export function fatalWasmPath() {
  if (!path) {
    path = join(tempDir("adapterwasm-fataltest-"), "adapterwasm.wasm");
    execFileSync("go", ["build", "-tags", "wasmsimd,adapterwasm_fataltest", "-trimpath", "-o", path, "./wasm"], {
      cwd: ROOT,
      env: { ...process.env, GOOS: "js", GOARCH: "wasm" },
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 600_000, // a hung build fails this test, not the CI run
    });
  }
  return path;
}

// fatalWasm is the module's bytes (options.wasm of fromPretrained).
export const fatalWasm = () => new Uint8Array(readFileSync(fatalWasmPath()));

// escapes records the unhandled rejections and uncaught exceptions of this process from now on:
// a dying instance must not let one out (Node exits on either).
export function escapes() {
  const seen = [];
  const onRejection = (e) => seen.push(`unhandledRejection: ${e?.stack ?? e}`);
  const onException = (e) => seen.push(`uncaughtException: ${e?.stack ?? e}`);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  seen.stop = () => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  };
  return seen;
}
