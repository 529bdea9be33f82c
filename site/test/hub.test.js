// The demo's "Hub listing" (site/hublist.js) in headless Chromium against the JS tests' mock hub
// (js/test/helpers/hub.js: the hub's model API, resolve paths with a 302 to a CDN host, AdapterHub's
// all.json and per-model index), which serves testdata/at3: adapters adapter-transformers 3.2.1
// saved on MiniLM, as AdapterHub/minilm-pf-* (js/test/at3.test.js). The page gets the mock hub by
// ?hub= and ?adapterhub=; site/server.js's CSP allows its origins (connect). One browser profile:
//
// 1. nothing is asked of a hub before the switch; a rate-limited hub (HTTP 429) is said in words
//    while the other source lists; "Try again" lists the hub's MiniLM adapters, not a BERT one;
// 2. a hub adapter whose load is rate-limited says so and can be picked again; an adapter picked
//    by hub id, and one by AdapterHub id, classify in the page's worker with the
//    Go CLI's label on the same q8 base and files (score within 0.02) and the library's label
//    (testdata/at3/golden, an f32 base: score within 0.03); a hub adapter saved as "topic" loads
//    beside the demo's own "topic";
// 3. a hub with no adapters for this base says so;
// 4. the hub down: "could not be reached" for both sources, and the demo's adapters still classify.
//
//   ADAPTERWASM_SITE_DIR  the assembled site (default dist/site)
//   ADAPTERWASM_CLI       the Go CLI (default dist/adapterwasm)
//   CHROMIUM              the browser (default /usr/bin/chromium)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startSiteServer } from "../server.js";
import { startHub } from "../../js/test/helpers/hub.js";
import { launchSite, needFiles } from "./chromium.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.ADAPTERWASM_SITE_DIR || join(ROOT, "dist/site");
const CLI = process.env.ADAPTERWASM_CLI || join(ROOT, "dist/adapterwasm");
needFiles([["site", join(SITE, "hublist.js")], ["CLI", CLI]]);
const TIMEOUT = Number(process.env.SITE_TEST_TIMEOUT) || 120_000;

const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const MODEL_DIR = join(SITE, "models/minilm-q8");
const AT3 = join(ROOT, "testdata/at3");
const golden = (n) => JSON.parse(readFileSync(join(AT3, "golden", `${n}.json`), "utf8"));
// A golden sentence whose top two logits are apart by more than q8 moves them (0.91 imdb, 0.69 topic).
const TEXT = "Great service 😀👍 but the food was cold 🥶";
const SCORE_TOL = 0; // the page vs the CLI on the same q8 files: the same float32 (site.test.js assertLikeCli)
const GOLDEN_TOL = 0.03; // the page's q8 base vs the library's f32 (q8: mean |Δlogit| ~0.01)

// cli runs `adapterwasm classify` on the site's q8 base with one adapter directory.
function cli(name, dir, text) {
  const out = execFileSync(CLI, ["classify", "--model", MODEL_DIR, "--jsonl", "--setup", name, "--adapter", `${name}=${dir}`], { input: JSON.stringify({ text }) + "\n" });
  return JSON.parse(out.toString().trim());
}

// libraryAnswer: the golden label and softmax score of TEXT.
function libraryAnswer(n) {
  const g = golden(n);
  const i = g.sentences.indexOf(TEXT);
  assert.ok(i >= 0, `${TEXT} is a golden sentence of ${n}`);
  const e = g.logits[i].map(Math.exp);
  return { label: g.predicted[i], score: Math.max(...e) / e.reduce((a, b) => a + b, 0) };
}

async function waitResult(page, text, setup) {
  await page.waitForFunction(
    ([text, setup]) => {
      const r = document.getElementById("results");
      return r.dataset.state === "done" && r.dataset.text === text && r.dataset.setup === setup;
    },
    [text, setup],
    { timeout: TIMEOUT, polling: 50 },
  );
  return page.$$eval(".result", (cs) => cs.map((c) => ({ head: c.dataset.head, label: c.dataset.label, score: Number(c.dataset.score) })));
}

function assertLike(card, want, tol, what) {
  assert.ok(card, `${what}: no card`);
  assert.equal(card.label, want.label, `${what}: label ${card.label}, want ${want.label}`);
  assert.ok(Math.abs(card.score - (tol === 0 ? Math.fround(want.score) : want.score)) <= tol, `${what}: score ${card.score}, want ${want.score} ± ${tol}`);
}

const hubState = (page, source) => page.$eval(`.hub-source[data-source="${source}"]`, (b) => ({ state: b.dataset.state, code: b.dataset.code, text: b.querySelector(".hub-status").textContent, rows: [...b.querySelectorAll(".adapter")].map((r) => r.dataset.name) }));
// waitHub waits until a source's listing is over (listed, empty or failed) and returns its state.
async function waitHub(page, source) {
  await page.waitForSelector(["listed", "empty", "error"].map((s) => `.hub-source[data-source="${source}"][data-state="${s}"]`).join(", "), { timeout: TIMEOUT });
  return hubState(page, source);
}

describe("the demo's Hub listing against a mock hub", { timeout: 5 * 60_000 }, () => {
  let hub, empty, srv, page, closeBrowser;
  const requests = [];
  const logs = [];
  const hubUrl = (h) => `${srv.url}/?hub=${encodeURIComponent(h.endpoint)}&adapterhub=${encodeURIComponent(h.ahURL)}`;

  before(async () => {
    hub = await startHub();
    const tag = (id, model) => (hub.repos.get(id).info = { tags: ["adapter-transformers"], config: { adapter_transformers: { model_name: model } }, pipeline_tag: "text-classification" });
    for (const n of ["imdb", "topic", "lora"]) {
      hub.addDir(`AdapterHub/minilm-pf-${n}`, join(AT3, "adapters", n));
      tag(`AdapterHub/minilm-pf-${n}`, MODEL_ID);
    }
    hub.addDir("AdapterHub/bert-base-uncased-pf-imdb", join(AT3, "adapters", "imdb"));
    tag("AdapterHub/bert-base-uncased-pf-imdb", "bert-base-uncased");
    const ah = (task, subtask, model = MODEL_ID, adapter_config = { mh_adapter: false, output_adapter: true, reduction_factor: 64 }) => ({ source: "ah", adapter_id: `${task}/${subtask}@ukp`, model_name: model, task, subtask, username: "ukp", adapter_config });
    hub.ahList = [ah("sentiment", "imdb"), ah("sentiment", "sst-2", "bert-base-uncased"), ah("topic", "news"), ah("sentiment", "lora", MODEL_ID, { architecture: "lora", r: 4, alpha: 8 })];
    hub.ahFiles[`index/${MODEL_ID}.json`] = readFileSync(join(AT3, "ah", "index", `${MODEL_ID}.json`));
    // A hub whose only adapters are for another base.
    empty = await startHub();
    empty.addDir("AdapterHub/bert-base-uncased-pf-imdb", join(AT3, "adapters", "imdb"));
    empty.repos.get("AdapterHub/bert-base-uncased-pf-imdb").info = { tags: ["adapter-transformers"], config: { adapter_transformers: { model_name: "bert-base-uncased" } } };
    empty.ahList = [ah("sentiment", "sst-2", "bert-base-uncased")];
    const origins = [hub, empty].flatMap((h) => [h.endpoint, h.cdn, new URL(h.ahURL).origin]);
    srv = await startSiteServer({ root: SITE, connect: origins });
    mkdirSync(join(ROOT, "test-artifacts"), { recursive: true });
    ({ page, close: closeBrowser } = await launchSite("adapterwasm-site-hub-", { logs, requests }));
  });

  after(async () => {
    await closeBrowser?.();
    await srv?.close();
    await hub?.close();
    await empty?.close();
  });

  test("no hub request before the switch; a rate-limited hub in words, the other source lists; Try again lists MiniLM's", { timeout: TIMEOUT }, async () => {
    hub.rateLimit = 30;
    await page.goto(hubUrl(hub));
    await page.waitForSelector('#model-status[data-state="ready"]', { timeout: TIMEOUT });
    await page.waitForSelector('#adapter-list .adapter[data-name="sentiment"]', { timeout: TIMEOUT });
    assert.equal(await page.isChecked('input[name="adapter-source"][value="local"]'), true, "the demo's adapters by default");
    assert.equal(await page.isHidden("#hub-list"), true);
    assert.deepEqual(hub.log, [], "the page asked the hub before the switch");

    // Record each source's states as they change, to see "Listing …" before the answer.
    await page.evaluate(() => {
      window.__hubStates = [];
      const seen = () => {
        for (const b of document.querySelectorAll(".hub-source")) {
          const line = `${b.dataset.source} ${b.dataset.state} ${b.querySelector(".hub-status").textContent}`;
          if (!window.__hubStates.includes(line)) window.__hubStates.push(line);
        }
      };
      new MutationObserver(seen).observe(document.getElementById("hub-list"), { attributes: true, subtree: true, childList: true, characterData: true });
    });
    await page.check('input[name="adapter-source"][value="hub"]');
    assert.equal(await page.isHidden("#adapter-list"), true);
    const hf = await waitHub(page, "hf");
    assert.equal(hf.code, "rate_limited", hf.text);
    assert.match(hf.text, /^Could not list: 127\.0\.0\.1:\d+ is rate-limiting requests \(HTTP 429\): try again in 30 s\./);
    assert.equal(await page.isVisible('.hub-source[data-source="hf"] .hub-retry'), true);
    const ah = await waitHub(page, "ah");
    assert.equal(ah.state, "listed", ah.text);
    assert.match(ah.text, /^3 adapters for sentence-transformers\/all-MiniLM-L6-v2:/);
    assert.deepEqual(ah.rows, ["ah:sentiment/imdb@ukp", "ah:topic/news@ukp", "ah:sentiment/lora@ukp"], "all.json's MiniLM entries, in its order; not the BERT one");
    const states = await page.evaluate(() => window.__hubStates);
    for (const src of ["hf", "ah"]) assert.ok(states.some((l) => new RegExp(`^${src} listing Listing 127\\.0\\.0\\.1:\\d+…$`).test(l)), `${src}: "Listing …" shown: ${states.join(" | ")}`);

    hub.rateLimit = 0;
    await page.click('.hub-source[data-source="hf"] .hub-retry');
    const again = await waitHub(page, "hf");
    assert.match(again.text, /^3 adapters for sentence-transformers\/all-MiniLM-L6-v2:/, again.text);
    assert.deepEqual(again.rows, ["AdapterHub/minilm-pf-imdb", "AdapterHub/minilm-pf-lora", "AdapterHub/minilm-pf-topic"]);
    assert.equal(await page.isHidden('.hub-source[data-source="hf"] .hub-retry'), true);
  });

  test("picked by hub id and by AdapterHub id: the CLI's and the library's answers; beside the demo's own topic", { timeout: TIMEOUT }, async () => {
    // Rate-limited while loading: the error in words, the box unticked; picked again, it loads.
    hub.rateLimit = 7;
    await page.fill("#text", TEXT);
    await page.click('input[value="AdapterHub/minilm-pf-imdb"]'); // not check(): the failure unticks it at once
    await page.waitForSelector('.adapter[data-name="AdapterHub/minilm-pf-imdb"][data-state="error"]', { timeout: TIMEOUT });
    const shown = await page.$eval('#errors .error[data-code="rate_limited"]', (e) => e.querySelector("p").textContent);
    assert.match(shown, /^Adapter “AdapterHub\/minilm-pf-imdb” failed to load: the hub answered: AdapterHub\/minilm-pf-imdb@main: adapter_config\.json: rate limited, retry after 7 s \(HTTP 429\)/);
    assert.equal(await page.isChecked('input[value="AdapterHub/minilm-pf-imdb"]'), false);
    await page.click('#errors .error[data-code="rate_limited"] .dismiss');
    hub.rateLimit = 0;
    const before = hub.requests("endpoint").length;
    await page.check('input[value="AdapterHub/minilm-pf-imdb"]');
    let got = await waitResult(page, TEXT, "AdapterHub/minilm-pf-imdb");
    assert.equal(got.length, 1);
    assertLike(got[0], cli("imdb", join(AT3, "adapters/imdb"), TEXT), SCORE_TOL, "hf imdb vs CLI");
    assertLike(got[0], libraryAnswer("imdb"), GOLDEN_TOL, "hf imdb vs adapter-transformers 3.2.1");
    const row = await page.$eval('.adapter[data-name="AdapterHub/minilm-pf-imdb"]', (r) => ({ state: r.dataset.state, status: r.querySelector(".ad-status").textContent }));
    assert.deepEqual(row.state, "loaded");
    assert.match(row.status, /^loaded: [\d.]+\s(KB|MB) downloaded$/);
    const asked = hub.requests("endpoint").slice(before).map((e) => e.path);
    assert.ok(asked.includes("/AdapterHub/minilm-pf-imdb/resolve/main/adapter_config.json"), asked.join(" "));
    assert.ok(hub.requests("cdn").some((e) => e.path.startsWith("/blobs/")), "the weights came by the CDN redirect");

    await page.uncheck('input[value="AdapterHub/minilm-pf-imdb"]');
    await page.check('input[value="ah:topic/news@ukp"]');
    got = await waitResult(page, TEXT, "ah:topic/news@ukp");
    assert.equal(got.length, 1);
    assertLike(got[0], cli("topic", join(AT3, "adapters/topic"), TEXT), SCORE_TOL, "ah topic/news vs CLI");
    assertLike(got[0], libraryAnswer("topic"), GOLDEN_TOL, "ah topic/news vs adapter-transformers 3.2.1");
    assert.ok(hub.requests("ah").some((e) => e.path.endsWith(`/index/${MODEL_ID}.json`)), "resolved on AdapterHub's index of MiniLM");
    assert.ok(hub.requests("endpoint").some((e) => e.path === "/AdapterHub/minilm-pf-topic/resolve/main/adapter_config.json"));
    await page.screenshot({ path: join(ROOT, "test-artifacts/site-hub.png"), fullPage: true });
    // On a phone: the switch and the hub's rows fit the width.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, "horizontal scrolling at 390 px");
    await page.screenshot({ path: join(ROOT, "test-artifacts/site-hub-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1024, height: 900 });

    // The hub's topic adapter was saved as "topic", as the demo's own: both load, each its own.
    await page.uncheck('input[value="ah:topic/news@ukp"]');
    await page.check('input[name="adapter-source"][value="local"]');
    await page.check('#adapter-list input[value="topic"]');
    got = await waitResult(page, TEXT, "topic");
    assert.equal(await page.$eval('.adapter[data-name="ah:topic/news@ukp"]', (r) => r.dataset.state), "loaded");
    const index = JSON.parse(readFileSync(join(SITE, "index.json"), "utf8")).adapters.find((e) => e.name === "topic");
    assertLike(got[0], cli("topic", join(SITE, index.path), TEXT), SCORE_TOL, "the demo's topic");
    await page.uncheck('#adapter-list input[value="topic"]');
  });

  test("a hub with no adapters for this base says so", { timeout: TIMEOUT }, async () => {
    await page.goto(hubUrl(empty));
    await page.check('input[name="adapter-source"][value="hub"]');
    for (const s of ["hf", "ah"]) {
      const st = await waitHub(page, s);
      assert.equal(st.state, "empty", st.text);
      assert.match(st.text, /^No adapters on the Hub for this base \(sentence-transformers\/all-MiniLM-L6-v2\)/);
      assert.deepEqual(st.rows, []);
    }
  });

  test("an endpoint that is no http(s) URL: nothing listed, said so; no fallback to the public hub", { timeout: TIMEOUT }, async () => {
    await page.goto(`${srv.url}/?hub=notaurl&adapterhub=${encodeURIComponent("javascript:alert(1)")}`);
    await page.check('input[name="adapter-source"][value="hub"]');
    for (const s of ["hf", "ah"]) {
      const st = await waitHub(page, s);
      assert.equal(st.code, "invalid_argument", st.text);
      assert.equal(st.text, "Not listed: ?hub=notaurl is not an absolute http(s) URL; ?adapterhub=javascript:alert(1) is not an absolute http(s) URL.");
      assert.equal(await page.isHidden(`.hub-source[data-source="${s}"] .hub-retry`), true);
    }
  });

  test("the hub down: said for both sources, and the demo's adapters still classify", { timeout: TIMEOUT }, async () => {
    await hub.close();
    await page.goto(hubUrl(hub));
    await page.check('input[name="adapter-source"][value="hub"]');
    for (const s of ["hf", "ah"]) {
      const st = await waitHub(page, s);
      assert.equal(st.code, "network", st.text);
      assert.match(st.text, /^Could not list: 127\.0\.0\.1:\d+ could not be reached/);
    }
    await page.screenshot({ path: join(ROOT, "test-artifacts/site-hub-down.png"), fullPage: true });
    await page.check('input[name="adapter-source"][value="local"]');
    await page.waitForSelector('#model-status[data-state="ready"]', { timeout: TIMEOUT });
    await page.check('#adapter-list input[value="sentiment"]');
    await page.fill("#text", "The food was wonderful and the staff were friendly.");
    const got = await waitResult(page, "The food was wonderful and the staff were friendly.", "sentiment");
    const index = JSON.parse(readFileSync(join(SITE, "index.json"), "utf8")).adapters.find((e) => e.name === "sentiment");
    assertLike(got[0], cli("sentiment", join(SITE, index.path), "The food was wonderful and the staff were friendly."), SCORE_TOL, "sentiment with the hub down");
  });

  // The words for the package's typed errors (hublist.js why), those the mock hub does not send too.
  test("why: a sentence per error code", async () => {
    const { why } = await import(join(SITE, "hublist.js"));
    const { AdapterwasmError } = await import(join(SITE, "adapterwasm/src/errors.js"));
    const err = (code, extra = {}) => Object.assign(new AdapterwasmError(code, "x"), extra);
    const at = "https://huggingface.co/api/models";
    assert.equal(why(err("rate_limited", { status: 429, retryAfter: 12 }), at), "huggingface.co is rate-limiting requests (HTTP 429): try again in 12 s.");
    assert.equal(why(err("rate_limited", { status: 429 }), at), "huggingface.co is rate-limiting requests (HTTP 429): try again later.");
    assert.equal(why(err("network", { status: 503 }), at), "huggingface.co answered HTTP 503. Try again later.");
    assert.match(why(err("network"), at), /^huggingface\.co could not be reached \(offline, down, or not allowed by this page's Content-Security-Policy or CORS\)\.$/);
    assert.equal(why(err("unauthorized", { status: 403 }), at), "huggingface.co refused access (HTTP 403).");
    assert.equal(why(err("format"), at), "huggingface.co answered something that is not a listing.");
    assert.equal(why(new Error("?"), at), "listing huggingface.co failed.");
  });

  test("requests went to the site and the hubs only; no page errors", () => {
    const allowed = [srv, hub, empty].flatMap((h) => (h === srv ? [srv.url] : [h.endpoint, h.cdn, new URL(h.ahURL).origin])).map((u) => new URL(u).origin);
    const off = requests.filter((u) => !u.startsWith("data:") && !allowed.includes(new URL(u).origin));
    assert.deepEqual(off, []);
    const bad = logs.filter((l) => l.startsWith("pageerror") || (l.startsWith("error") && !/Failed to load resource|ERR_CONNECTION_REFUSED|429/.test(l)));
    assert.deepEqual(bad, []);
  });
});
