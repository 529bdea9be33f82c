// The test page: loads the package (main thread or Web Worker client) from /pkg/, a base model
// and optionally an adapter setup from the query string, runs one call and leaves the outcome in
// window.__done for the test to read. Timings are from navigation start. Also what every browser
// test starts Chromium with (launchChromium) and runs in its pages with.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// CHROMIUM is the browser the tests drive: Debian's (never playwright's download).
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// launchChromium starts headless Chromium on a fresh profile (so a fresh Cache API and HTTP cache)
// named after prefix, with its first page; the page's errors (and console lines, unless console is
// false) go to logs. close() ends the browser and removes the profile.
export async function launchChromium(prefix, { logs = [], console = true } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium`);
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  if (console) page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(String(e)));
  const close = async () => {
    await ctx.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  return { ctx, page, logs, close };
}

export const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>adapterwasm browser test</title>
<script type="module">
const q = new URLSearchParams(location.search);
const mode = q.get("mode") ?? "main";
try {
  const mod = await import(mode === "worker" ? "/pkg/src/worker-client.js" : "/pkg/src/index.js");
  window.aw = mod;
  const Model = mode === "worker" ? mod.WorkerModelWithHeads : mod.AutoModelWithHeads;
  let progressEvents = 0;
  // relaxed: "on" / "off" is the option relaxedSimd; "plain" the relaxed recipe without the
  // relaxed-SIMD module (qgemm_u7, as on an engine without relaxed SIMD: ADAPTERWASM_RELAXED)
  if (q.get("relaxed") === "plain") globalThis.ADAPTERWASM_RELAXED = "plain";
  const relaxedSimd = ["on", "off"].includes(q.get("relaxed")) ? q.get("relaxed") === "on" : undefined;
  const model = await Model.fromPretrained(q.get("base"), { index: q.get("index") || undefined, onProgress: () => progressEvents++, relaxedSimd });
  const tModel = performance.now();
  window.model = model;
  const texts = JSON.parse(q.get("texts") ?? '["I love this movie"]');
  let first;
  if (q.get("setup")) {
    model.activeAdapters = q.get("setup");
    first = await model.classify(texts);
  } else {
    first = (await model.embed(texts, { normalize: true })).map((a) => Array.from(a));
  }
  const tFirst = performance.now();
  const stats = mode === "worker" ? await model.refreshStats() : { ...model.stats };
  window.__done = { ok: true, tModel, tFirst, first, stats, progressEvents, memory: await model.memory(), simd: model.simd, relaxedSimd: model.relaxedSimd, kernels: model.kernels };
} catch (e) {
  window.__done = { ok: false, error: String(e), code: e.code, stack: e.stack };
}
</script>
`;

// runInPage runs f(model, aw, arg) in a page opened on PAGE (window.model, window.aw) and returns
// its value, or { error: code, message } when it throws.
export const runInPage = (page, f, arg) =>
  page.evaluate(
    async ([src, arg]) => {
      try {
        return await new Function("m", "aw", "arg", `return (${src})(m, aw, arg)`)(window.model, window.aw, arg);
      } catch (e) {
        return { error: e.code ?? String(e), message: e.message };
      }
    },
    [f.toString(), arg],
  );

// isCached tells whether the package's Cache API holds url.
export const isCached = (page, url) => page.evaluate(async (u) => !!(await (await caches.open("adapterwasm-v1")).match(u)), url);

// runOnBlank loads url (a blank page of the test server) afresh and runs f(aw, arg) there with the
// package imported from /pkg/; returns its value, or { error: code, message }.
export async function runOnBlank(page, url, f, arg) {
  await page.goto(url);
  return page.evaluate(
    async ([src, arg]) => {
      try {
        const aw = await import("/pkg/src/index.js");
        return await new Function("aw", "arg", `return (${src})(aw, arg)`)(aw, arg);
      } catch (e) {
        return { error: e.code ?? String(e), message: e.message };
      }
    },
    [f.toString(), arg],
  );
}
