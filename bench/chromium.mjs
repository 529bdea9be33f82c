// chromium.mjs: the side-by-side benchmark in headless Chromium (./build.sh bench chromium), at
// 32 and 128 tokens (BENCH_CASES to change): serves the repository on a loopback port, opens
// chromium.html with Debian's Chromium through playwright-core (js/node_modules) and prints the
// same table as bench.mjs. Then start-up (startup.html): navigation start to the first result on
// MiniLM q8 / int8, cold (a fresh profile: no HTTP cache, no compiled code) and warm (the same
// page again in that profile: files revalidated from the HTTP cache, V8's Wasm code cache), one
// profile per sample, the engines interleaved. Environment: BENCH_RUNS, BENCH_WARMUP, BENCH_CASES,
// BENCH_QUICK, BENCH_STARTUP_RUNS, BENCH_SKIP (startup), BENCH_RELAXED=off (adapterwasm as by
// default: 16-bit activations on the plain SIMD kernel; without it the bench opts into the relaxed
// recipe, on Chromium's relaxed SIMD; plain: that recipe on its plain-SIMD twin qgemm_u7), CHROMIUM, ADAPTERWASM_CACHE.
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { peakLines, Q8_DIR, Q8_NOTE, table } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CACHE = process.env.ADAPTERWASM_CACHE || join(ROOT, ".cache");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const { chromium } = createRequire(join(ROOT, "js/package.json"))("playwright-core");

execFileSync("node", [join(ROOT, "bench/wat2wasm.mjs"), join(ROOT, "bench/peak.wat"), join(ROOT, "bench/peak.wasm")], { stdio: "ignore" });

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
// Only these trees are served: the page, the package, the models and the demo adapters.
const MOUNTS = { "/bench/": join(ROOT, "bench"), "/js/": join(ROOT, "js"), "/testdata/": join(ROOT, "testdata"), "/cache/": CACHE };
// Files are revalidated (no-cache + Last-Modified → 304), as a static host serves them.
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const mount = Object.keys(MOUNTS).find((m) => path.startsWith(m));
  const file = mount && normalize(join(MOUNTS[mount], path.slice(mount.length)));
  if (!file || !file.startsWith(MOUNTS[mount]) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  const modified = new Date(Math.floor(statSync(file).mtimeMs / 1000) * 1000);
  const headers = { "content-type": TYPES[extname(file)] || "application/octet-stream", "cache-control": "no-cache", "last-modified": modified.toUTCString() };
  const since = Date.parse(req.headers["if-modified-since"] || "");
  if (since >= modified.getTime()) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, headers);
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const QUICK = process.env.BENCH_QUICK === "1";
const load = () => `load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`;
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// withProfile runs f(page) in a fresh persistent profile, then removes it.
async function withProfile(f) {
  const dir = mkdtempSync(join(tmpdir(), "adapterwasm-bench-chromium-"));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = await ctx.newPage();
    page.on("console", (m) => console.error(`# ${m.text()}`));
    return await f(page);
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function result(page, name) {
  await page.waitForFunction((n) => window[n], name, { timeout: 30 * 60 * 1000, polling: 100 });
  const r = await page.evaluate((n) => window[n], name);
  if (r.error) throw new Error(r.error);
  return r;
}

let summary;
try {
  console.log(`# date ${new Date().toISOString()}; ${load()}`);
  await withProfile(async (page) => {
    const q = new URLSearchParams({ runs: process.env.BENCH_RUNS || (QUICK ? "8" : "20"), warmup: process.env.BENCH_WARMUP || (QUICK ? "2" : "3"), cases: process.env.BENCH_CASES || "1x32,1x128", relaxed: process.env.BENCH_RELAXED || "on", warm_ms: process.env.BENCH_WARM_MS || "1000", q8: Q8_DIR });
    await page.goto(`${base}/bench/chromium.html?${q}`);
    const r = await result(page, "benchResult");
    console.log(`# ${r.userAgent}; onnxruntime-web ${r.ort}; 1 thread; adapter sentiment + head; adapterwasm q8: ${r.recipe}; ${Q8_NOTE}\n`);
    const t = table(r.results, r.names);
    summary = t.split("\n").pop();
    console.log(t);
    console.log(`\n## peak (${load()})\n`);
    console.log(peakLines(r.peak));
  });

  const runs = (process.env.BENCH_SKIP || "").split(",").includes("startup") ? 0 : Number(process.env.BENCH_STARTUP_RUNS || (QUICK ? 1 : 3));
  const engines = ["aw", "ort"];
  const samples = { aw: [], ort: [] };
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < engines.length; k++) {
      const e = engines[(k + i) % engines.length];
      samples[e].push(
        await withProfile(async (page) => {
          await page.goto(`${base}/bench/startup.html?engine=${e}`);
          const cold = await result(page, "startupResult");
          await page.goto(`${base}/bench/startup.html?engine=${e}&again`);
          return { cold, warm: await result(page, "startupResult") };
        }),
      );
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  if (runs) {
    console.log(`\n## start-up in Chromium: navigation start → first result, MiniLM, median of ${runs} fresh profiles (${load()})\n`);
    console.log("| engine | cold ms | warm ms | WebAssembly.compileStreaming ms, cold (warm) | Wasm memory after load |");
    console.log("|---|---|---|---|---|");
    for (const e of engines) {
      const s = samples[e];
      const cold = med(s.map((x) => x.cold.ms)), warm = med(s.map((x) => x.warm.ms));
      let compile = "—", mem = "—";
      if (e === "aw") {
        const c = med(s.map((x) => x.cold.compileMs)), w = med(s.map((x) => x.warm.compileMs));
        compile = `${c.toFixed(0)} = ${((100 * c) / cold).toFixed(0)}% (${w.toFixed(0)})`;
        mem = `${Math.max(...s.map((x) => x.cold.loadMiB)).toFixed(1)} MiB`;
      }
      console.log(`| ${e === "aw" ? "aw-q8" : "ort-int8"} | ${cold.toFixed(0)} | ${warm.toFixed(0)} | ${compile} | ${mem} |`);
    }
  }
  console.log(`\n${summary}`);
} finally {
  server.close();
}
