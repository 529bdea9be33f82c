// Shared fixtures for the node and browser tests: repository paths, the Go CLI, the golden
// sentences, and an adapter index over testdata/tiny/adapters.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const TINY = join(ROOT, "testdata/tiny");
export const MINILM = process.env.ADAPTERWASM_MINILM_DIR || join(ROOT, ".cache/models/all-MiniLM-L6-v2");
export const HAVE_MINILM = existsSync(join(MINILM, "model.safetensors"));

export function requireBuild() {
  if (!existsSync(join(ROOT, "js/dist/adapterwasm.wasm")) || !existsSync(join(ROOT, "js/dist/wasm_exec.js"))) {
    throw new Error("js/dist/ is missing: run ./build.sh wasm first");
  }
}

export function readJSON(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

// goldenSentences are the shared golden sentences (tools/reference/sentences.py).
export const goldenSentences = () => readJSON(join(TINY, "golden/base.json")).sentences;

let cliPath = process.env.ADAPTERWASM_CLI;

// cli runs the Go CLI (built once per process unless ADAPTERWASM_CLI names one) on texts and returns
// one parsed JSON line per text.
export function cli(args, texts) {
  if (!cliPath) {
    cliPath = join(mkdtempSync(join(tmpdir(), "adapterwasm-cli-")), "adapterwasm");
    execFileSync("go", ["build", "-o", cliPath, "./cmd/adapterwasm"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  }
  const input = texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n";
  const out = execFileSync(cliPath, [...args, "--jsonl"], { input, maxBuffer: 1 << 28 });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

export function sha256File(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

// tinyIndex is an adapter index for testdata/tiny/adapters, served at /adapters/index.json:
// one entry per directory, with each file's size and sha256.
export function tinyIndex(modelName = "") {
  const dir = join(TINY, "adapters");
  const adapters = [];
  for (const name of readdirSync(dir).sort()) {
    const files = readdirSync(join(dir, name))
      .sort()
      .map((f) => {
        const p = join(dir, name, f);
        return { name: f, size: readFileSync(p).byteLength, sha256: sha256File(p) };
      });
    adapters.push({ name, model_name: modelName, path: `${name}/`, files });
  }
  return { adapters };
}

export function maxAbsDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
