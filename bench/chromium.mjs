// chromium.mjs: the side-by-side benchmark in headless Chromium (./build.sh bench chromium), at
// 32 and 128 tokens (BENCH_CASES to change): serves the repository on a loopback port, opens
// chromium.html with Debian's Chromium through playwright-core (js/node_modules) and prints the
// same table as bench.mjs. Environment: BENCH_RUNS, BENCH_WARMUP, BENCH_CASES, CHROMIUM,
// ADAPTERWASM_CACHE.
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { peakLines, table } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const { chromium } = createRequire(join(ROOT, "js/package.json"))("playwright-core");

execFileSync("node", [join(ROOT, "bench/wat2wasm.mjs"), join(ROOT, "bench/peak.wat"), join(ROOT, "bench/peak.wasm")], { stdio: "ignore" });

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
// Only these trees are served: the page, the package, the models and the demo adapters.
const MOUNTS = { "/bench/": join(ROOT, "bench"), "/js/": join(ROOT, "js"), "/testdata/": join(ROOT, "testdata"), "/cache/": CACHE };
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const mount = Object.keys(MOUNTS).find((m) => path.startsWith(m));
  const file = mount && normalize(join(MOUNTS[mount], path.slice(mount.length)));
  if (!file || !file.startsWith(MOUNTS[mount]) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream" });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const dir = mkdtempSync(join(tmpdir(), "adapterwasm-bench-chromium-"));
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = await ctx.newPage();
  page.on("console", (m) => console.error(`# ${m.text()}`));
  const q = new URLSearchParams({ runs: process.env.BENCH_RUNS || "20", warmup: process.env.BENCH_WARMUP || "3", cases: process.env.BENCH_CASES || "1x32,1x128" });
  await page.goto(`${base}/bench/chromium.html?${q}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 30 * 60 * 1000, polling: 1000 });
  const r = await page.evaluate(() => window.benchResult);
  if (r.error) throw new Error(r.error);
  console.log(`# date ${new Date().toISOString()}\n# ${r.userAgent}; onnxruntime-web ${r.ort}; 1 thread; adapter sentiment + head`);
  console.log(table(r.results, r.names));
  console.log(peakLines(r.peak));
} finally {
  await ctx.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
