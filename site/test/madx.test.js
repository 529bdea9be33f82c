// The demo page's cross-lingual section (site/madx.js) in headless Debian Chromium
// (playwright-core, as site.test.js), served by site/server.js from an assembled dist/site
// (./build.sh site). The section must say it is synthetic, load nothing until asked, then run
// Stack(lang_l1,sentiment) or Stack(lang_l2,sentiment) on its own base model: switching the
// language adapter must change the answers as the library's goldens say
// (testdata/madx_demo/golden/demo.json: its label for each stack on each held-out sentence, and
// its accuracies), with the Go CLI's scores on the same files.
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
import { launchSite, needFiles } from "./chromium.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.ADAPTERWASM_SITE_DIR || join(ROOT, "dist/site");
const CLI = process.env.ADAPTERWASM_CLI || join(ROOT, "dist/adapterwasm");
const ARTIFACTS = join(ROOT, "test-artifacts");
const MADX = join(SITE, "madx");
needFiles([["site", join(MADX, "index.json")], ["CLI", CLI]]);
const TIMEOUT = Number(process.env.SITE_TEST_TIMEOUT) || 300_000;

// The library's answers, read from the golden file itself (not the site's copy).
const GOLDEN = JSON.parse(readFileSync(join(ROOT, "testdata/madx_demo/golden/demo.json"), "utf8"));
const SETUPS = ["Stack(lang_l1,sentiment)", "Stack(lang_l2,sentiment)"];
const argmax = (v) => v.indexOf(Math.max(...v));
const libLabel = (setup, i) => GOLDEN.label_names[argmax(GOLDEN.logits[setup][i])];
const N = GOLDEN.texts.length / 2; // the held-out l1 sentences; their l2 translations follow

function cli(setup, texts) {
  const args = ["classify", "--model", join(MADX, "model"), "--jsonl", "--setup", setup];
  for (const n of ["lang_l1", "lang_l2", "sentiment"]) args.push("--adapter", `${n}=${join(MADX, "adapters", n)}`);
  const out = execFileSync(CLI, args, { input: texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n" });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

// pairRows reads the pair table once it shows setup for the sentence at index i.
async function pairRows(page, i, setup) {
  await page.waitForFunction(
    ([i, setup, l1]) => {
      const t = document.getElementById("madx-pair");
      return t?.dataset.setup === setup && document.getElementById("madx-sentence").value === String(i) && t.querySelector('tr[data-lang="l1"] q')?.textContent === l1;
    },
    [i, setup, GOLDEN.texts[i]],
    { timeout: TIMEOUT, polling: 50 },
  );
  return page.$$eval("#madx-pair tbody tr", (rs) => rs.map((r) => ({ lang: r.dataset.lang, label: r.dataset.label, score: Number(r.dataset.score), right: r.dataset.right === "true", text: r.querySelector("q").textContent })));
}

describe("demo site: the cross-lingual (MAD-X) section in headless Chromium", { timeout: 10 * 60_000 }, () => {
  let srv, page, closeBrowser;
  const requests = [];
  const logs = [];

  before(async () => {
    srv = await startSiteServer({ root: SITE });
    ({ page, close: closeBrowser } = await launchSite("adapterwasm-site-madx-", { logs, requests }));
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await closeBrowser?.();
    await srv?.close();
  });

  test("the section says it is synthetic and loads nothing of its model until asked", { timeout: TIMEOUT }, async () => {
    await page.goto(`${srv.url}/`);
    await page.waitForSelector("#madx-start");
    const text = await page.$eval("#madx", (s) => s.textContent);
    assert.match(text, /synthetic demo, not a real language model/i);
    assert.match(text, /random weights/);
    assert.match(text, /made up/);
    assert.equal(await page.$eval("#madx-body", (b) => b.hidden), true);
    // the button names the adapters' size, from the index
    await page.waitForFunction(() => /adapters \d+\sKB/.test(document.getElementById("madx-start").textContent), null, { timeout: TIMEOUT });
    // the main demo's base model loads meanwhile; the cross-lingual one must not
    await page.waitForSelector('#model-status[data-state="ready"]', { timeout: TIMEOUT });
    assert.deepEqual(srv.log.filter((e) => e.path.startsWith("/madx/") && e.path !== "/madx/index.json").map((e) => e.path), []);
  });

  test("switching the language adapter under the same task adapter changes the answers as the library's goldens say", { timeout: TIMEOUT }, async () => {
    const t0 = Date.now();
    await page.click("#madx-start");
    await page.waitForSelector('#madx-status[data-state="ready"], #madx-status[data-state="error"]', { timeout: TIMEOUT });
    const st = await page.$eval("#madx-status", (p) => ({ state: p.dataset.state, text: p.textContent }));
    assert.equal(st.state, "ready", st.text);
    console.log(`# cross-lingual demo ready ${Date.now() - t0} ms after the click: ${st.text}`);
    const bytes = srv.log.filter((e) => e.path.startsWith("/madx/")).reduce((n, e) => n + e.bytes, 0);
    console.log(`# cross-lingual demo: ${bytes} bytes from /madx/`);

    // A held-out sentence where the switch shows: each stack right on its own language only.
    const sw = [...Array(N).keys()].find(
      (i) =>
        libLabel(SETUPS[0], i) === GOLDEN.label_names[GOLDEN.labels[i]] &&
        libLabel(SETUPS[0], i + N) !== GOLDEN.label_names[GOLDEN.labels[i + N]] &&
        libLabel(SETUPS[1], i + N) === GOLDEN.label_names[GOLDEN.labels[i + N]] &&
        libLabel(SETUPS[1], i) !== GOLDEN.label_names[GOLDEN.labels[i]],
    );
    assert.ok(sw !== undefined, "the goldens have a sentence that shows the switch");
    for (const i of [0, sw]) {
      await page.selectOption("#madx-sentence", String(i));
      for (const [k, setup] of SETUPS.entries()) {
        await page.check(`input[name="madx-lang"][value="lang_l${k + 1}"]`);
        const rows = await pairRows(page, i, setup);
        assert.deepEqual(rows.map((r) => r.lang), ["l1", "l2"]);
        assert.equal(rows[1].text, GOLDEN.texts[i + N], "the l2 row is the sentence's translation (the golden's l2 text)");
        const want = cli(setup, [GOLDEN.texts[i], GOLDEN.texts[i + N]]);
        rows.forEach((r, j) => {
          const gi = i + j * N;
          assert.equal(r.label, libLabel(setup, gi), `${setup} on ${JSON.stringify(r.text)}: the library's label`);
          assert.equal(r.label, want[j].label, `${setup} on ${JSON.stringify(r.text)}: the CLI's label`);
          // the same float32 (the page's SIMD kernels, the CLI's plain-Go twins; site.test.js)
          assert.equal(r.score, Math.fround(want[j].score), `${setup} on ${JSON.stringify(r.text)}: score ${r.score}, CLI ${want[j].score}`);
          assert.equal(r.right, r.label === GOLDEN.label_names[GOLDEN.labels[gi]]);
        });
        const heard = await page.$eval("#madx-announce", (p) => p.textContent);
        assert.equal(heard, `${setup}: ${rows.map((r) => `${r.lang} ${r.label}, ${r.right ? "right" : "wrong"}`).join("; ")}.`);
        if (i === sw) {
          // under lang_l1 the l1 sentence is right and its translation wrong; under lang_l2 the reverse
          assert.deepEqual(rows.map((r) => r.right), k === 0 ? [true, false] : [false, true], `${setup}: ${JSON.stringify(rows)}`);
        }
      }
    }
    await page.$eval("#madx", (s) => s.scrollIntoView());
    await page.screenshot({ path: join(ARTIFACTS, "site-madx.png"), fullPage: false });

    // The accuracy table: every held-out sentence in both languages under both stacks, in the
    // page, equal to the library's accuracies (label for label would give exactly these).
    await page.waitForSelector('#madx-accuracy[data-state="done"]', { timeout: TIMEOUT });
    const acc = await page.$$eval("#madx-accuracy tbody tr", (rs) => rs.map((r) => ({ setup: r.dataset.setup, l1: Number(r.dataset.l1), l2: Number(r.dataset.l2) })));
    assert.deepEqual(
      acc,
      SETUPS.map((setup) => ({ setup, ...GOLDEN.accuracy[setup] })),
    );
    console.log(`# page accuracies: ${JSON.stringify(acc)}`);
  });

  test("on a phone, light and dark: no horizontal scrolling", { timeout: TIMEOUT }, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const colorScheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme });
      await page.$eval("#madx-pair", (t) => t.scrollIntoView());
      const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(w.scroll <= w.client, `horizontal scrolling: ${JSON.stringify(w)}`);
      await page.screenshot({ path: join(ARTIFACTS, `site-madx-phone${colorScheme === "dark" ? "-dark" : ""}.png`) });
    }
  });

  test("no request left the origin, none failed, no page or console errors", () => {
    const origin = new URL(srv.url).origin;
    assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith("blob:") && !u.startsWith("data:")), []);
    assert.deepEqual(srv.log.filter((e) => e.status >= 400), []);
    assert.deepEqual(logs.filter((l) => /^(error|pageerror)/.test(l)), []);
  });
});
