// train.mjs: training speed (bench/train-run.js), in Node (main thread, the Wasm SIMD kernels,
// one thread) or in headless Chromium (train.html: a Web Worker, as the demo page trains):
//
//   node bench/train.mjs [node|chromium] [speed] [sentiment TRAIN.jsonl DEV.jsonl]
//
// speed: examples/s of model.trainAdapter at 8×32 and 8×128 tokens on MiniLM q8 and f32
// (ADAPTERWASM_CACHE/models/all-MiniLM-L6-v2.{q8,f32}). sentiment: the demo's sentiment task (JSON
// lines {text, label}: tools/reference/data_sources.py sentiment(), the 2,700 training and 300
// held-out sentences), 3 epochs (BENCH_EPOCHS) on q8 as the demo page trains it; wall time and dev
// accuracy per epoch. Every line says the load average when it was printed.
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

import { sentiment, speed } from "./train-run.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const args = process.argv.slice(2);
const where = args[0] === "chromium" ? "chromium" : "node";
const log = (s) => console.log(`${s}  [${where}, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}]`);
const lines = (f) => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)).map(({ text, label }) => ({ text, label }));
const jobs = [];
if (args.includes("speed")) jobs.push(["speed", { bases: { q8: "all-MiniLM-L6-v2.q8/", f32: "all-MiniLM-L6-v2.f32/" } }]);
const si = args.indexOf("sentiment");
if (si >= 0) jobs.push(["sentiment", { base: "all-MiniLM-L6-v2.q8/", train: lines(args[si + 1]), dev: lines(args[si + 2]), epochs: Number(process.env.BENCH_EPOCHS) || 3 }]);
if (!jobs.length) throw new Error("usage: node bench/train.mjs [node|chromium] [speed] [sentiment TRAIN.jsonl DEV.jsonl]");

if (where === "node") {
  const { AutoModelWithHeads } = await import("../js/src/node.js");
  const make = (base) => AutoModelWithHeads.fromPretrained(join(CACHE, "models", base), { cache: false });
  for (const [kind, a] of jobs) await (kind === "speed" ? speed(make, Object.fromEntries(Object.entries(a.bases)), { log }) : sentiment(make, a.base, { ...a, log }));
} else {
  const { chromium } = createRequire(join(ROOT, "js/package.json"))("playwright-core");
  const MOUNTS = { "/bench/": join(ROOT, "bench"), "/js/": join(ROOT, "js"), "/models/": join(CACHE, "models") };
  const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const mount = Object.keys(MOUNTS).find((m) => path.startsWith(m));
    const file = mount && normalize(join(MOUNTS[mount], path.slice(mount.length)));
    if (!file || !file.startsWith(MOUNTS[mount]) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const profile = mkdtempSync(join(tmpdir(), "adapterwasm-trainbench-"));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on("console", (m) => log(m.text()));
    page.on("pageerror", (e) => log(`pageerror: ${e}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/bench/train.html`);
    await page.waitForFunction(() => window.ready === true);
    for (const [kind, a] of jobs) {
      const arg = kind === "speed" ? { bases: Object.fromEntries(Object.entries(a.bases).map(([k, b]) => [k, `/models/${b}`])) } : { ...a, base: `/models/${a.base}` };
      await page.evaluate(([k, x]) => window.bench(k, x), [kind, arg]);
    }
  } finally {
    await ctx.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
