// Shared fixtures for the node and browser tests: repository paths, the Go CLI, the golden
// sentences, and an adapter index over testdata/tiny/adapters.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
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
  const input = texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n";
  const out = execFileSync(cliBinary(), [...args, "--jsonl"], { input, maxBuffer: 1 << 28 });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

function cliBinary() {
  if (!cliPath) {
    cliPath = join(mkdtempSync(join(tmpdir(), "adapterwasm-cli-")), "adapterwasm");
    execFileSync("go", ["build", "-o", cliPath, "./cmd/adapterwasm"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  }
  return cliPath;
}

// indexOf is the index `adapterwasm index` writes for the adapter directories under dir, with
// paths relative to dir (served beside them as index.json).
export function indexOf(dir) {
  return JSON.parse(execFileSync(cliBinary(), ["index", "--out", "-", "."], { cwd: dir }).toString());
}

export const tinyIndex = () => indexOf(join(TINY, "adapters"));

// The MiniLM base the tests use: the q8 single file when ./build.sh test made one, else the
// f32 Hugging Face files (served with a manifest the test server writes).
export const MINILM_Q8 = process.env.ADAPTERWASM_MINILM_Q8_DIR;
export const MINILM_BASE = MINILM_Q8 || MINILM;
export const MINILM_ADAPTERS = join(ROOT, "testdata/minilm/adapters");

// closeTo compares a result of the package with one the CLI printed: same keys and strings,
// numbers within tol.
export function closeTo(got, want, tol = 1e-6, path = "") {
  if (typeof want === "number") {
    if (typeof got !== "number" || Math.abs(got - want) > tol) throw new Error(`${path}: ${got} vs CLI ${want}`);
    return true;
  }
  if (want === null || typeof want !== "object") {
    if (got !== want) throw new Error(`${path}: ${JSON.stringify(got)} vs CLI ${JSON.stringify(want)}`);
    return true;
  }
  const gk = Object.keys(got ?? {}).sort(), wk = Object.keys(want).sort();
  if (JSON.stringify(gk) !== JSON.stringify(wk)) throw new Error(`${path}: keys ${gk} vs CLI ${wk}`);
  for (const k of wk) closeTo(got[k], want[k], tol, `${path}.${k}`);
  return true;
}

export function maxAbsDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
