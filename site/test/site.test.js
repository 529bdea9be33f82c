// The demo site in headless Debian Chromium (playwright-core, /work/shared/FACTS.md §5), served
// by site/server.js from an assembled dist/site (./build.sh site). One browser profile lives
// through the tests, in order: a cold visit, a second adapter, a warm reload that restores the
// selection, a failing adapter, what a newcomer meets (explanations, examples, input warnings,
// plain-words errors, the AdapterFusion), then a phone-sized viewport driven by the keyboard,
// light and dark. Labels are checked against the Go CLI on the same files; bytes are counted in
// the server's request log (size: the file's bytes; bytes: on the wire, compressed or not).
//
//   ADAPTERWASM_SITE_DIR  the assembled site (default dist/site)
//   ADAPTERWASM_CLI       the Go CLI (default dist/adapterwasm)
//   CHROMIUM              the browser (default /usr/bin/chromium)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startSiteServer } from "../server.js";
import { launchSite, needFiles } from "./chromium.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.ADAPTERWASM_SITE_DIR || join(ROOT, "dist/site");
const CLI = process.env.ADAPTERWASM_CLI || join(ROOT, "dist/adapterwasm");
const ARTIFACTS = join(ROOT, "test-artifacts");
needFiles([["site", join(SITE, "index.json")], ["CLI", CLI]]);

const TIMEOUT = Number(process.env.SITE_TEST_TIMEOUT) || 300_000; // per step
const MODEL_DIR = join(SITE, "models/minilm-q8");
const BASE_BYTES = JSON.parse(readFileSync(join(MODEL_DIR, "manifest.json"), "utf8")).files.reduce((n, f) => n + f.size, 0);
const INDEX = JSON.parse(readFileSync(join(SITE, "index.json"), "utf8")).adapters;
const ENTRIES = INDEX.filter((e) => e.kind === "adapter" && e.task === "classification");
const FUSIONS = INDEX.filter((e) => e.kind === "fusion");
const byName = (n) => INDEX.find((e) => e.name === n);
const RUNTIME_BYTES = statSync(join(SITE, "adapterwasm/dist/adapterwasm.wasm")).size;
// The runtime's size as the page prints it (decimal MB, as app.js fmtBytes): it changes with every build.
const RUNTIME_MB = (RUNTIME_BYTES / 1e6).toFixed(RUNTIME_BYTES < 1e7 ? 2 : 1).replace(".", "\\."); // app.js fmtBytes
// The kernel module's (kernels.js) likewise, in KB: it changes when kernels.wat does.
const KERNELS_KB = Math.round(statSync(join(SITE, "adapterwasm/dist/kernels.js")).size / 1000);
// A: the first adapter picked; B: the second; C: the one whose URL fails (one not yet used when
// the index has it, else B with its cached copy dropped).
const A = byName("sentiment") ?? ENTRIES[0];
const B = ENTRIES.find((e) => e !== A && e.name !== "sentiment_lora") ?? ENTRIES.find((e) => e !== A);
const C = ENTRIES.find((e) => e !== A && e !== B) ?? B;

const TEXT1 = "The food was wonderful and the staff were friendly.";
const TEXT2 = "Terrible service, cold food, and we waited an hour.";
const TEXT3 = "Congratulations! You have won a free cruise, reply now to claim your prize.";

// cli runs `adapterwasm classify` on the site's own files and returns one result per text
// (names: adapters, then fusions, as the CLI wants them).
function cli(setup, names, texts) {
  const args = ["classify", "--model", MODEL_DIR, "--jsonl", "--setup", setup];
  for (const n of names) args.push("--adapter", byName(n).kind === "fusion" ? join(SITE, byName(n).path) : `${n}=${join(SITE, byName(n).path)}`);
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

// assertLikeCli checks a card's label and score against a CLI result: the same. In the browser
// the Wasm SIMD kernels run the q8 base, in the native CLI their plain-Go twins
// (runtime/kernels/portable.go): the same float32s. The CLI prints the float32 score as the
// shortest decimal that reads back as it (Math.fround), the card holds the float32 itself.
function assertLikeCli(card, want, what) {
  assert.ok(card, `${what}: no card`);
  assert.equal(card.label, want.label, `${what}: label ${card.label}, CLI ${want.label}`);
  assert.equal(card.score, Math.fround(want.score), `${what}: score ${card.score}, CLI ${want.score}`);
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
  let srv, page, closeBrowser;
  const requests = []; // every URL the page or its worker asked for
  const all = []; // every request the server answered (srv.log is cleared per step)
  const logs = [];
  const step = (prefix) => srv.log.filter((e) => e.path.startsWith(prefix));
  const bytes = (prefix) => step(prefix).reduce((n, e) => n + e.bytes, 0);
  const sizes = (prefix) => step(prefix).reduce((n, e) => n + e.size, 0);

  before(async () => {
    srv = await startSiteServer({ root: SITE, onLog: (e) => all.push(e) });
    ({ page, close: closeBrowser } = await launchSite("adapterwasm-site-", { logs, requests }));
    // Record the base model status and the adapter statuses as they change, to see the
    // progress indicators move.
    await page.addInitScript(() => {
      window.__modelStates = [];
      window.__adapterStates = [];
      window.__steps = [];
      window.__announced = [];
      document.addEventListener("DOMContentLoaded", () => {
        const s = document.getElementById("model-status");
        const rec = () => {
          window.__modelStates.push(`${s.dataset.state} ${document.getElementById("model-text").textContent}`);
          for (const li of s.querySelectorAll(".files li")) {
            const line = `${li.id.replace("step-", "")} ${li.dataset.state} ${li.querySelector(".step-status").textContent}`;
            if (!window.__steps.includes(line)) window.__steps.push(line);
          }
        };
        rec();
        new MutationObserver(rec).observe(s, { attributes: true, subtree: true, childList: true, characterData: true });
        const an = document.getElementById("announce");
        new MutationObserver(() => window.__announced.push(an.textContent)).observe(an, { subtree: true, childList: true, characterData: true });
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
    await closeBrowser?.();
    await srv?.close();
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
    // Each card shows a bar per class; latency, tokens and bytes so far once, above the cards.
    const shown = await page.$eval("#results", (r) => ({ bars: r.querySelector(".result").querySelectorAll(".probs li").length, meta: r.querySelector(".run-meta").textContent, metas: r.querySelectorAll(".result .meta").length }));
    assert.equal(shown.bars, A.labels.length);
    assert.match(shown.meta, new RegExp(`^${A.name} · 1 head in one forward pass · \\d+\\sms · 12 tokens · [\\d.]+\\sMB downloaded so far$`));
    assert.equal(shown.metas, 0, "no per-card latency");
    // The package's result.input, as the page got it: TEXT1 is 10 tokens + [CLS] + [SEP].
    assert.deepEqual(await page.$eval("#results", (r) => [r.dataset.tokens, r.dataset.truncated, r.dataset.unknownShare, r.dataset.warnings]), ["12", "false", "0", ""]);

    // Loading feedback: every file and the verify/build step were shown, with their sizes.
    assert.ok(states.some((s) => new RegExp(`^runtime Downloading the WebAssembly runtime: .* of ${RUNTIME_MB}\\sMB`).test(s)), `runtime progress shown: ${states.join(" | ")}`);
    assert.ok(states.some((s) => /^building Checking the base model's SHA-256 and building it \(25\.7\sMB\)/.test(s)), `verify/build step shown: ${states.join(" | ")}`);
    const steps = await page.evaluate(() => window.__steps);
    for (const want of [new RegExp(`^runtime active .* of ${RUNTIME_MB}\\sMB$`), new RegExp(`^runtime done ${RUNTIME_MB}\\sMB, compiled$`), new RegExp(`^kernels done ${KERNELS_KB}\\sKB, ready$`), /^base active .* of 25\.7\sMB$/, /^base done 25\.7\sMB, downloaded$/, /^build active working…$/, /^build done done$/]) {
      assert.ok(steps.some((l) => want.test(l)), `${want}: ${steps.join(" | ")}`);
    }
    // Sizes on the page are decimal MB from the real files.
    assert.match(await page.textContent(".lede"), /base model \(25\.7\sMB\).*adapter \(902\sKB–1\.06\sMB\)/);
    // The runtime travelled compressed, as from any static host.
    const wasm = all.find((e) => e.path === "/adapterwasm/dist/adapterwasm.wasm" && e.status === 200);
    assert.ok(wasm && wasm.encoding && wasm.size === RUNTIME_BYTES && wasm.bytes < RUNTIME_BYTES / 3, `adapterwasm.wasm: ${JSON.stringify(wasm)}`);
    assert.ok(page.workers().some((w) => w.url().endsWith("/adapterwasm/src/worker.js")), "the model runs in a Web Worker");
    console.log(`# runtime: ${wasm.size} bytes sent as ${wasm.bytes} (${wasm.encoding})`);
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
    assert.equal(sizes("/"), B.size, `${B.name}: the index's size`);
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
    const fusable = FUSIONS.some((f) => [...f.fuses].sort().join() === [A.name, B.name].sort().join());
    assert.equal(await page.$eval('input[value="Fuse"]', (e) => e.disabled), !fusable, "Fuse offered exactly when the index has a fusion over these adapters");
    await page.check('input[name="composition"][value="Parallel"]');
    await waitResult(page, TEXT1, par);
  });

  test("reload: the base model comes from the cache (zero base bytes); the picked adapters, composition and text come back", { timeout: TIMEOUT }, async () => {
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
    // The last step ended on Parallel(A,B) with TEXT1: restored from localStorage, in pick order.
    const par = `Parallel(${A.name},${B.name})`;
    const got = await waitResult(page, TEXT1, par);
    await checkParallel(page, got, par, [A.name, B.name], TEXT1);
    assert.deepEqual(got.map((c) => c.head), [A.name, B.name], "cards in the order picked");
    assert.equal(await page.inputValue("#text"), TEXT1);
    assert.deepEqual(await page.$$eval("#adapter-list input:checked", (bs) => bs.map((b) => b.value)), [A.name, B.name]);
    await page.uncheck(`input[value="${B.name}"]`);
    await page.fill("#text", TEXT2);
    const [c] = await waitResult(page, TEXT2, A.name);
    assertLikeCli(c, cli(A.name, [A.name], [TEXT2])[0], A.name);
    assert.equal(bytes("/adapters/"), 0, "the adapters came from the cache too");
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

  test("what a newcomer meets: explanations, examples, input warnings, plain words, a Fuse that runs", { timeout: TIMEOUT }, async () => {
    // What this is for, with links to read on (not fetched: no request leaves the origin).
    const about = await page.$eval("#about", (d) => ({ text: d.textContent, links: [...d.querySelectorAll("a")].map((a) => a.href) }));
    assert.match(about.text, /adapter/i);
    assert.ok(about.links.some((u) => u.startsWith("https://adapterhub.ml")) && about.links.some((u) => u.includes("github.com/adapterwasm/adapterwasm")), about.links.join(" "));
    // Each adapter says what it answers, its labels in words.
    assert.match(await page.textContent(`.adapter[data-name="topic"]`), /corn.*grain.*other \(neither corn nor grain\)/s);

    // Examples per task: a spam example picks the spam adapter (none of the picked does spam).
    const picked = await page.$$eval("#adapter-list input:checked", (bs) => bs.map((b) => b.value));
    assert.deepEqual(picked, [A.name, C.name]);
    await page.click('button.example[data-task="spam"] >> nth=0');
    const spamText = await page.inputValue("#text");
    const par3 = `Parallel(${A.name},${C.name},spam)`;
    const three = await waitResult(page, spamText, par3);
    assert.deepEqual(three.map((c) => c.head), [A.name, C.name, "spam"], "cards in the order picked");
    assert.equal((await page.$$("#examples .ex-group")).length, 3, "examples for sentiment, spam and topic");

    // One line under each composition choice; Stack over unrelated tasks says it means nothing.
    const what = await page.$$eval("#composition .what", (ws) => ws.map((w) => w.textContent));
    assert.match(what[0], /one shared forward pass/);
    assert.match(what[1], /unrelated tasks.*means nothing/);
    assert.match(what[2], /needs an AdapterFusion trained over exactly these adapters; this demo has one, over sentiment and spam/);
    for (const n of [C.name, "spam"]) await page.uncheck(`input[value="${n}"]`);

    // Input the model cannot handle is flagged, from the package's result.input.
    const warned = async (text) => {
      await page.fill("#text", text);
      await waitResult(page, text, A.name);
      return page.$eval("#results", (r) => ({ ...r.dataset, warn: [...r.querySelectorAll(".warn")].map((w) => w.textContent).join(" ") }));
    };
    const emoji = await warned("😡😡😡");
    assert.equal(emoji.unknownShare, "1");
    assert.equal(emoji.warnings, "unknown");
    assert.match(emoji.warn, /100% of the tokens are unknown/);
    const chinese = await warned("这家餐厅的服务太差了，我再也不会来了。");
    assert.match(chinese.warnings, /\blanguage\b/, JSON.stringify(chinese));
    assert.match(chinese.warn, /trained on English text/);
    const long = "The food was wonderful and the staff were friendly. ".repeat(40).trim();
    const lg = await warned(long);
    assert.deepEqual([lg.truncated, lg.tokens, lg.warnings], ["true", "402", "truncated"]);
    assert.match(lg.warn, /Truncated to 256 of 402 tokens/);
    assertLikeCli((await cards(page))[0], cli(A.name, [A.name], [long])[0], `${A.name} on a truncated text`);
    const plainText = await warned(TEXT1);
    assert.equal(plainText.warnings, "");

    // A LoRA adapter beside a bottleneck adapter: the reason in plain words, the internal one under Details.
    await page.check('input[value="sentiment_lora"]');
    const parLora = `Parallel(${A.name},sentiment_lora)`;
    await waitResult(page, TEXT1, parLora);
    const note = await page.$eval("#results .note", (n) => ({ shown: n.innerText, all: n.textContent }));
    assert.match(note.shown, /sentiment_lora is a LoRA adapter: it changes the attention weights themselves/);
    assert.doesNotMatch(note.shown, /no LoRA module|layer 0/, "no internals in the visible text");
    assert.match(note.all, /LoRA/, "the original message under Details");
    await page.uncheck('input[value="sentiment_lora"]');

    // The Fuse path: the demo AdapterFusion over sentiment and spam, fetched when first used.
    const fusion = FUSIONS.find((f) => [...f.fuses].sort().join() === [A.name, "spam"].sort().join());
    assert.ok(fusion, "the index has the demo AdapterFusion over sentiment and spam (make_minilm.py --fusion)");
    await page.check('input[value="spam"]');
    await waitResult(page, TEXT1, `Parallel(${A.name},spam)`);
    assert.equal(await page.$eval('input[value="Fuse"]', (e) => e.disabled), false);
    assert.match(await page.textContent("#what-Fuse"), new RegExp(`AdapterFusion “${fusion.name}” \\([\\d.]+\\sMB, fetched when first used\\)`));
    srv.log.length = 0;
    await page.check('input[name="composition"][value="Fuse"]');
    const fuse = `Fuse(${fusion.fuses.join(",")})`;
    for (const text of [TEXT1, TEXT2]) {
      await page.fill("#text", text);
      const [f] = await waitResult(page, text, fuse);
      assert.equal(f.head, fusion.name);
      assertLikeCli(f, cli(fuse, [...fusion.fuses, fusion.name], [text])[0], `${fuse} on ${text}`);
    }
    assert.equal(sizes(`/${fusion.path}/`), fusion.size, "the fusion's files, fetched once");
    await page.screenshot({ path: join(ARTIFACTS, "site-fuse.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(17, 20, 24)", "prefers-color-scheme: dark");
    await page.screenshot({ path: join(ARTIFACTS, "site-desktop-dark.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });
    console.log(`# fusion ${fusion.name}: ${fusion.size} bytes`);

    // Screen readers hear each classification once, not every keystroke: the results are not a
    // live region; one polite line is set when a classification for the current text ends.
    assert.equal(await page.$eval("#results", (r) => r.getAttribute("aria-live")), null);
    await page.evaluate(() => (window.__announced.length = 0));
    await page.click("#text");
    await page.keyboard.press("End");
    const more = " The dessert was great.";
    await page.keyboard.type(more, { delay: 40 });
    await waitResult(page, TEXT2 + more, fuse);
    await page.waitForTimeout(300);
    const heard = await page.evaluate(() => window.__announced.filter(Boolean));
    console.log(`# screen reader: ${heard.length} announcement(s) for ${more.length} keystrokes: ${heard.join(" | ")}`);
    assert.ok(heard.length >= 1 && heard.length <= 5, `${heard.length} announcements for ${more.length} keystrokes: ${heard.join(" | ")}`);
    assert.match(heard.at(-1), new RegExp(`^${fusion.name.replace(",", ",")}: (positive|negative) \\d+%\\.$`));
    await page.check('input[name="composition"][value="Parallel"]');
  });

  test("phone-sized viewport (390×844), keyboard only, light and dark", { timeout: TIMEOUT }, async () => {
    // An adapter whose files are all in the cache says "cached", one that is not "not loaded".
    const lora = byName("sentiment_lora");
    await page.evaluate(async (prefix) => {
      for (const name of await caches.keys()) {
        const c = await caches.open(name);
        for (const r of await c.keys()) if (new URL(r.url).pathname.startsWith(prefix)) await c.delete(r);
      }
      localStorage.clear(); // start with nothing picked
    }, `/${lora.path}/`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await waitModel(page);
    await page.waitForFunction((n) => document.querySelector(`.adapter[data-name="${n}"]`)?.dataset.cached === "true", A.name, { timeout: TIMEOUT });
    const status = await page.$$eval(".adapter", (rs) => Object.fromEntries(rs.map((r) => [r.dataset.name, r.querySelector(".ad-status").textContent])));
    assert.equal(status[A.name], "cached");
    assert.equal(status.sentiment_lora, "not loaded");
    assert.equal(await page.isVisible(".kbd-hint"), false, "no Ctrl+Enter hint on a phone");
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
    // The result sits right under the text box, not screens below it.
    const gap = await page.evaluate(() => document.querySelector("#results .result").getBoundingClientRect().top - document.getElementById("text").getBoundingClientRect().bottom);
    assert.ok(gap < 844 / 3, `the first result card is ${gap}px below the text box`);
    await page.screenshot({ path: join(ARTIFACTS, "site-phone.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.screenshot({ path: join(ARTIFACTS, "site-phone-dark.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });
    console.log(`# phone: first result card ${Math.round(gap)}px under the text box`);

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
    // Console errors only for the injected failure (the browser's 500 and the page's report of it).
    const errors = logs.filter((l) => l.startsWith("error:") && !/status of 500|failed to load.*HTTP 500/s.test(l));
    assert.deepEqual(errors, []);
  });
});
