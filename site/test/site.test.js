// The demo site in headless Debian Chromium (playwright-core, /work/shared/FACTS.md §5), served
// by site/server.js from an assembled dist/site (./build.sh site). One browser profile lives
// through the tests, in order: a cold visit, a second adapter, a warm reload, a failing adapter,
// then a phone-sized viewport driven by the keyboard. Labels are checked against the Go CLI on
// the same files; bytes are counted in the server's request log.
//
//   ADAPTERWASM_SITE_DIR  the assembled site (default dist/site)
//   ADAPTERWASM_CLI       the Go CLI (default dist/adapterwasm)
//   CHROMIUM              the browser (default /usr/bin/chromium)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startSiteServer } from "../server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.ADAPTERWASM_SITE_DIR || join(ROOT, "dist/site");
const CLI = process.env.ADAPTERWASM_CLI || join(ROOT, "dist/adapterwasm");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
for (const [what, p] of [["site", join(SITE, "index.json")], ["CLI", CLI], ["Chromium", CHROMIUM]]) {
  if (!existsSync(p)) throw new Error(`${what}: ${p} is missing (./build.sh site; apt-get install -y chromium)`);
}
// playwright-core is the js package's pinned dev dependency (js/package-lock.json).
const { chromium } = createRequire(join(ROOT, "js/package.json"))("playwright-core");

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TIMEOUT = Number(process.env.SITE_TEST_TIMEOUT) || 300_000; // per step
const MODEL_DIR = join(SITE, "models/minilm-q8");
const BASE_BYTES = JSON.parse(readFileSync(join(MODEL_DIR, "manifest.json"), "utf8")).files.reduce((n, f) => n + f.size, 0);
const ENTRIES = JSON.parse(readFileSync(join(SITE, "index.json"), "utf8")).adapters.filter((e) => e.kind === "adapter" && e.task === "classification");
const byName = (n) => ENTRIES.find((e) => e.name === n);
// A: the first adapter picked; B: the second; C: the one whose URL fails (one not yet used when
// the index has it, else B with its cached copy dropped).
const A = byName("sentiment") ?? ENTRIES[0];
const B = ENTRIES.find((e) => e !== A && e.name !== "sentiment_lora") ?? ENTRIES.find((e) => e !== A);
const C = ENTRIES.find((e) => e !== A && e !== B) ?? B;

const TEXT1 = "The food was wonderful and the staff were friendly.";
const TEXT2 = "Terrible service, cold food, and we waited an hour.";
const TEXT3 = "Congratulations! You have won a free cruise, reply now to claim your prize.";

// cli runs `adapterwasm classify` on the site's own files and returns one result per text.
function cli(setup, names, texts) {
  const args = ["classify", "--model", MODEL_DIR, "--jsonl", "--setup", setup];
  for (const n of names) args.push("--adapter", `${n}=${join(SITE, byName(n).path)}`);
  const out = execFileSync(CLI, args, { stdio: ["pipe", "pipe", "pipe"], input: texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n" });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

// The page's cards as { head, label, score }.
const cards = (page) => page.$$eval(".result", (cs) => cs.map((c) => ({ head: c.dataset.head, label: c.dataset.label, score: Number(c.dataset.score) })));

// waitResult waits until the results show text classified by setup and returns the cards.
async function waitResult(page, text, setup) {
  await page.waitForFunction(
    ([text, setup]) => {
      const r = document.getElementById("results");
      return r.dataset.state === "done" && r.dataset.text === text && r.dataset.setup === setup;
    },
    [text, setup],
    { timeout: TIMEOUT, polling: 50 },
  );
  return cards(page);
}

// SCORE_TOL bounds |page score - CLI score|. In the browser the Wasm SIMD kernels run the q8
// base as ggml's Q8_0·Q8_0 (activations quantized to int8 per block of 32); the native CLI
// multiplies f32 activations by the q8 weights. Seen: up to 0.007 on these sentences.
const SCORE_TOL = 0.02;

// assertLikeCli checks a card's label (equal) and its score (within SCORE_TOL) against a CLI result.
function assertLikeCli(card, want, what) {
  assert.ok(card, `${what}: no card`);
  assert.equal(card.label, want.label, `${what}: label ${card.label}, CLI ${want.label}`);
  assert.ok(Math.abs(card.score - want.score) <= SCORE_TOL, `${what}: score ${card.score}, CLI ${want.score}`);
}

// checkParallel checks Parallel(names) cards against the CLI's Parallel, or, where the CLI (like
// the reference library) refuses that Parallel (a LoRA beside bottleneck adapters), against one
// CLI run per adapter, which is what the page then does (data-passes).
async function checkParallel(page, got, setup, names, text) {
  assert.deepEqual(got.map((c) => c.head).sort(), [...names].sort());
  let want, passes = "1";
  try {
    want = cli(setup, names, [text])[0].heads;
  } catch (e) {
    assert.match(String(e.stderr), /Parallel/, "the CLI refused the Parallel");
    want = Object.fromEntries(names.map((n) => [n, cli(n, [n], [text])[0]]));
    passes = String(names.length);
  }
  assert.equal(await page.$eval("#results", (r) => r.dataset.passes), passes);
  for (const c of got) assertLikeCli(c, want[c.head], `${setup} ${c.head}`);
}

async function waitModel(page) {
  await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="error"]', { timeout: TIMEOUT });
  const st = await page.$eval("#model-status", (e) => ({ ...e.dataset, text: e.textContent.trim() }));
  assert.equal(st.state, "ready", st.text);
  return st;
}

describe("demo site in headless Chromium", { timeout: 15 * 60_000 }, () => {
  let srv, ctx, page, profile;
  const requests = []; // every URL the page or its worker asked for
  const all = []; // every request the server answered (srv.log is cleared per step)
  const logs = [];
  const step = (prefix) => srv.log.filter((e) => e.path.startsWith(prefix));
  const bytes = (prefix) => step(prefix).reduce((n, e) => n + e.bytes, 0);

  before(async () => {
    srv = await startSiteServer({ root: SITE, onLog: (e) => all.push(e) });
    profile = mkdtempSync(join(tmpdir(), "adapterwasm-site-"));
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1024, height: 900 } });
    ctx.on("request", (r) => requests.push(r.url()));
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e}`));
    // Record the base model status and the adapter statuses as they change, to see the
    // progress indicators move.
    await page.addInitScript(() => {
      window.__modelStates = [];
      window.__adapterStates = [];
      document.addEventListener("DOMContentLoaded", () => {
        const s = document.getElementById("model-status");
        const rec = () => window.__modelStates.push(`${s.dataset.state} ${document.getElementById("model-text").textContent}`);
        rec();
        new MutationObserver(rec).observe(s, { attributes: true, subtree: true, childList: true, characterData: true });
        const list = document.getElementById("adapter-list");
        new MutationObserver(() => {
          for (const r of list.querySelectorAll(".adapter")) {
            const line = `${r.dataset.name} ${r.dataset.state} ${r.querySelector(".ad-status").textContent}`;
            if (window.__adapterStates.at(-1) !== line) window.__adapterStates.push(line);
          }
        }).observe(list, { attributes: true, subtree: true, childList: true, characterData: true });
      });
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await ctx?.close().catch(() => {});
    await srv?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("cold visit: base model download with progress, then a label equal to the Go CLI's", { timeout: TIMEOUT }, async () => {
    srv.log.length = 0;
    const t0 = Date.now();
    await page.goto(`${srv.url}/`);
    const st = await waitModel(page);
    const tReady = Date.now() - t0;
    assert.equal(st.source, "network");
    assert.equal(Number(st.bytesFetched), BASE_BYTES, "the page counts the base model's bytes");
    assert.equal(bytes("/models/") - bytes("/models/minilm-q8/manifest.json"), BASE_BYTES, "the server sent the base model once");
    assert.match(st.text, /downloaded .*MB \([\d,]+ bytes\)/);
    const states = await page.evaluate(() => window.__modelStates);
    assert.ok(states.some((s) => /^downloading Downloading the base model: .* of .*MB/.test(s)), `progress shown: ${states.join(" | ")}`);

    await page.check(`input[value="${A.name}"]`);
    await page.fill("#text", TEXT1);
    const got = await waitResult(page, TEXT1, A.name);
    const tFirst = Date.now() - t0;
    assertLikeCli(got[0], cli(A.name, [A.name], [TEXT1])[0], A.name);
    assert.equal(got[0].head, A.name);
    // Each card shows a bar per class, latency and bytes so far.
    const shown = await page.$eval(".result", (c) => ({ bars: c.querySelectorAll(".probs li").length, meta: c.querySelector(".meta").textContent }));
    assert.equal(shown.bars, A.labels.length);
    assert.match(shown.meta, /^\d+\sms · [\d.]+\sMB fetched so far$/);
    assert.ok(page.workers().some((w) => w.url().endsWith("/adapterwasm/src/worker.js")), "the model runs in a Web Worker");
    console.log(`# cold: model ready ${tReady} ms after navigation (page says ${st.ms} ms), first result at ${tFirst} ms; ${bytes("/")} bytes transferred, ${BASE_BYTES} of them base model, ${bytes("/adapterwasm/")} runtime (wasm + js), ${bytes("/adapters/")} adapter`);
  });

  test("a second adapter fetches only its own bytes; Parallel and Stack match the CLI", { timeout: TIMEOUT }, async () => {
    assert.ok(B, "the index needs two classification adapters");
    srv.log.length = 0;
    // Pick it with the keyboard: focus the checkbox, Space.
    await page.focus(`input[value="${B.name}"]`);
    await page.keyboard.press("Space");
    const par = `Parallel(${A.name},${B.name})`;
    const got = await waitResult(page, TEXT1, par);
    const paths = srv.log.map((e) => e.path);
    assert.ok(paths.length > 0 && paths.every((p) => p.startsWith(`/${B.path}/`)), `only ${B.name}'s files: ${paths.join(" ")}`);
    assert.equal(bytes("/"), B.size, `${B.name}: the index's size`);
    await checkParallel(page, got, par, [A.name, B.name], TEXT1);
    const row = await page.$eval(`.adapter[data-name="${B.name}"]`, (r) => ({ state: r.dataset.state, source: r.dataset.source, text: r.querySelector(".ad-status").textContent }));
    assert.deepEqual({ ...row, text: undefined }, { state: "loaded", source: "network", text: undefined });
    assert.match(row.text, /^loaded: [\d.]+\s[KM]B downloaded$/);
    const seen = (await page.evaluate(() => window.__adapterStates)).filter((l) => l.startsWith(`${B.name} loading loading `));
    assert.ok(seen.length > 0, `${B.name}: the row showed its download progress`);
    await page.screenshot({ path: join(ARTIFACTS, "site-classify.png"), fullPage: true });
    console.log(`# second adapter ${B.name}: ${bytes("/")} bytes in ${paths.length} requests`);

    await page.check('input[name="composition"][value="Stack"]');
    const stack = `Stack(${A.name},${B.name})`;
    const [s] = await waitResult(page, TEXT1, stack);
    assertLikeCli(s, cli(stack, [A.name, B.name], [TEXT1])[0], stack);
    assert.equal(await page.$eval('input[value="Fuse"]', (e) => e.disabled), true, "no fusion over these adapters in the index");
    await page.check('input[name="composition"][value="Parallel"]');
    await waitResult(page, TEXT1, par);
  });

  test("reload: the base model comes from the cache (zero base bytes)", { timeout: TIMEOUT }, async () => {
    srv.log.length = 0;
    const t0 = Date.now();
    await page.reload();
    const st = await waitModel(page);
    const tReady = Date.now() - t0;
    assert.equal(bytes("/models/minilm-q8/adapterwasm.safetensors"), 0, srv.log.map((e) => `${e.path} ${e.status} ${e.bytes}`).join("\n"));
    assert.equal(bytes("/models/") - bytes("/models/minilm-q8/manifest.json"), 0);
    assert.equal(st.source, "cache");
    assert.equal(Number(st.bytesFetched), 0);
    assert.equal(Number(st.bytesFromCache), BASE_BYTES);
    assert.match(st.text, /loaded from this browser's cache/);
    await page.check(`input[value="${A.name}"]`);
    await page.fill("#text", TEXT2);
    const [c] = await waitResult(page, TEXT2, A.name);
    assertLikeCli(c, cli(A.name, [A.name], [TEXT2])[0], A.name);
    assert.equal(bytes("/adapters/"), 0, "the adapter came from the cache too");
    assert.equal(await page.$eval(`.adapter[data-name="${A.name}"]`, (r) => r.dataset.source), "cache");
    console.log(`# warm: model ready ${tReady} ms after reload (page says ${st.ms} ms), ${bytes("/")} bytes transferred in ${srv.log.length} requests (${srv.log.filter((e) => e.status === 304).length} answered 304), 0 base model`);
  });

  test("an adapter URL that fails shows an error; the other adapters keep working", { timeout: TIMEOUT }, async () => {
    const prefix = `/${C.path}/`;
    // Drop any cached copy so that the page has to fetch it.
    await page.evaluate(async (prefix) => {
      for (const name of await caches.keys()) {
        const c = await caches.open(name);
        for (const r of await c.keys()) if (new URL(r.url).pathname.startsWith(prefix)) await c.delete(r);
      }
    }, prefix);
    srv.faults.set(prefix, 500);
    try {
      // click, not check: the page unchecks it again as soon as the load fails.
      await page.click(`input[value="${C.name}"]`);
      const err = await page.waitForSelector("#errors .error", { timeout: TIMEOUT });
      const msg = await err.textContent();
      assert.match(msg, new RegExp(`${C.name}.*failed to load.*HTTP 500`));
      const row = await page.$eval(`.adapter[data-name="${C.name}"]`, (r) => ({ state: r.dataset.state, checked: r.querySelector("input").checked }));
      assert.deepEqual(row, { state: "error", checked: false });
      await page.screenshot({ path: join(ARTIFACTS, "site-error.png"), fullPage: true });

      await page.fill("#text", TEXT3);
      const [c] = await waitResult(page, TEXT3, A.name);
      assertLikeCli(c, cli(A.name, [A.name], [TEXT3])[0], `${A.name} after the failure`);
    } finally {
      srv.faults.delete(prefix);
    }
    // Fixed on the server: picking it again loads it.
    await page.click(`#errors .error button`);
    await page.check(`input[value="${C.name}"]`);
    const par = `Parallel(${A.name},${C.name})`;
    const got = await waitResult(page, TEXT3, par);
    await checkParallel(page, got, par, [A.name, C.name], TEXT3);
    assert.equal(await page.$$eval("#errors .error", (e) => e.length), 0);
  });

  test("phone-sized viewport, keyboard only", { timeout: TIMEOUT }, async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.reload();
    await waitModel(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    // Tab to the first adapter's checkbox, Space, Tab on to the text box, type, Ctrl+Enter.
    const focusOn = async (selector) => {
      for (let i = 0; i < 30; i++) {
        if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
        await page.keyboard.press("Tab");
      }
      assert.fail(`Tab never reached ${selector}`);
    };
    await focusOn(`input[value="${A.name}"]`);
    await page.keyboard.press("Space");
    await focusOn("#text");
    await page.keyboard.type(TEXT2);
    await page.keyboard.press("Control+Enter");
    const [c] = await waitResult(page, TEXT2, A.name);
    assertLikeCli(c, cli(A.name, [A.name], [TEXT2])[0], `${A.name} (keyboard)`);
    await page.screenshot({ path: join(ARTIFACTS, "site-phone.png"), fullPage: true });

    // Live: keep typing (no Enter) while results come in; the page keeps up (the model is in the
    // worker) and the last result is for the whole text.
    const more = " The dessert was great though.";
    await page.keyboard.type(more, { delay: 40 });
    assert.equal(await page.inputValue("#text"), TEXT2 + more, "every keystroke landed");
    const [live] = await waitResult(page, TEXT2 + more, A.name);
    assertLikeCli(live, cli(A.name, [A.name], [TEXT2 + more])[0], `${A.name} (typed live)`);
  });

  test("no request left the origin, none failed but the injected ones, no page errors", () => {
    const foreign = requests.filter((u) => !u.startsWith(`${srv.url}/`));
    assert.deepEqual(foreign, []);
    const failed = all.filter((e) => e.status >= 400 && !(e.status === 500 && e.path.startsWith(`/${C.path}/`)));
    assert.deepEqual(failed, []);
    const bad = logs.filter((l) => /pageerror|Content Security Policy|Refused/.test(l));
    assert.deepEqual(bad, []);
  });
});
