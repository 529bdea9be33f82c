// Shared fixtures for the node and browser tests: repository paths, the Go CLI, the golden
// sentences, and an adapter index over testdata/tiny/adapters.
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const TINY = join(ROOT, "testdata/tiny");
export const MINILM = process.env.ADAPTERWASM_MINILM_DIR || join(ROOT, ".cache/models/all-MiniLM-L6-v2");
export const HAVE_MINILM = existsSync(join(MINILM, "model.safetensors"));

// tempDir makes a directory under the OS temp dir that is removed when this process exits (test
// files each run in a process of their own; a killed run may still leave one behind).
const tempDirs = [];
process.on("exit", () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

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
// CLI_TIMEOUT_MS bounds every run of the Go CLI (and its build) a test waits for: a hang fails
// that test (execFileSync kills the child and throws ETIMEDOUT) instead of the whole CI run.
const CLI_TIMEOUT_MS = 300_000;

export function cli(args, texts) {
  const input = texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n";
  const out = execFileSync(cliBinary(), [...args, "--jsonl"], { input, maxBuffer: 1 << 28, timeout: CLI_TIMEOUT_MS });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

// cliRun runs the Go CLI with args and returns its stdout.
export function cliRun(args, opts = {}) {
  return execFileSync(cliBinary(), args, { maxBuffer: 1 << 28, encoding: "utf8", timeout: CLI_TIMEOUT_MS, ...opts });
}

function cliBinary() {
  if (!cliPath) {
    cliPath = join(tempDir("adapterwasm-cli-"), "adapterwasm");
    execFileSync("go", ["build", "-o", cliPath, "./cmd/adapterwasm"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 2 * CLI_TIMEOUT_MS });
  }
  return cliPath;
}

// indexOf is the index `adapterwasm index` writes for the adapter directories under dir, with
// paths relative to dir (served beside them as index.json).
export function indexOf(dir) {
  return JSON.parse(execFileSync(cliBinary(), ["index", "--out", "-", "."], { cwd: dir, timeout: CLI_TIMEOUT_MS }).toString());
}

export const tinyIndex = () => indexOf(join(TINY, "adapters"));

// The MiniLM base the tests use: the q8 single file when ./build.sh test made one, else the
// f32 Hugging Face files (served with a manifest the test server writes).
export const MINILM_Q8 = process.env.ADAPTERWASM_MINILM_Q8_DIR;
export const MINILM_DTYPE = MINILM_Q8 ? "q8" : "f32";
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

export function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb);
}

// checkEmbeddings and checkClassify throw unless the module's answers are the Go CLI's, bit for
// bit: the same float32s. The CLI runs the plain-Go twins of the Wasm SIMD kernels
// (runtime/kernels/portable.go), which compute what the kernels compute in the same order, and
// prints each float32 as the shortest decimal that reads back as it (Math.fround recovers it).
export function checkEmbeddings(got, want, what = "") {
  got.forEach((e, i) => {
    const w = want[i].embedding;
    const j = w.findIndex((v, k) => Math.fround(v) !== e[k]);
    if (j >= 0 || e.length !== w.length) throw new Error(`${what} text ${i}: embedding[${j}] ${e[j]}, CLI ${w[j]} (max|Δ| ${maxAbsDiff(e, w)}, cos ${cosine(e, w)}): not the same float32s`);
  });
}

export function checkClassify(got, want, what = "") {
  assert.equal(got.length, want.length, `${what}: ${got.length} results, the CLI ${want.length}`);
  got.forEach((r, i) => assert.deepEqual(r, asFloat32s(want[i], r), `${what} text ${i}: not the CLI's answer bit for bit`));
}

// asFloat32s is the CLI's answer x with each number that got holds as the float32 it prints
// (logits, scores, embeddings: the shortest decimal that reads back as that float32) replaced by
// that float32; numbers that are float64s on both sides (e.g. unknownShare) stay as they are.
function asFloat32s(x, got) {
  if (typeof x === "number") return got !== x && got === Math.fround(x) ? got : x;
  if (Array.isArray(x)) return x.map((v, i) => asFloat32s(v, got?.[i]));
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, asFloat32s(v, got?.[k])]));
  return x;
}

export function maxAbsDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
