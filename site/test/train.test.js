// The demo's "train your own" panel (site/train.js) end to end in headless Debian Chromium
// (playwright-core, as site.test.js): paste labelled sentiment sentences, train one short epoch in
// the page's Web Worker while the plot updates, classify with the new adapter in the page's
// classifier, download the zip, unzip it here (our own reader, CRCs checked against zlib) and load
// the directory with the Go CLI, whose scores must match the page's. Also: hostile input is a
// message, and Cancel stops a run. The downloaded zip is kept in test-artifacts/ for
// tools/reference/check_trained.py --site-zip (the real adapters library).
//
//   ADAPTERWASM_SITE_DIR  the assembled site (default dist/site)
//   ADAPTERWASM_CLI       the Go CLI (default dist/adapterwasm)
//   CHROMIUM              the browser (default /usr/bin/chromium)
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";

import { startSiteServer } from "../server.js";
import { launchSite, needFiles } from "./chromium.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SITE = process.env.ADAPTERWASM_SITE_DIR || join(ROOT, "dist/site");
const CLI = process.env.ADAPTERWASM_CLI || join(ROOT, "dist/adapterwasm");
const ARTIFACTS = join(ROOT, "test-artifacts");
needFiles([["site", join(SITE, "train.js")], ["CLI", CLI]]);
const TIMEOUT = Number(process.env.SITE_TEST_TIMEOUT) || 120_000;
const MODEL_DIR = join(SITE, "models/minilm-q8");

// 48 labelled sentences of the demo's sentiment data (UCI Sentiment Labelled Sentences, the
// same source as the training split, which is not committed: its committed held-out part),
// as label<TAB>text lines, 24 per label.
const SENT = readFileSync(join(ROOT, "testdata/minilm/heldout/sentiment.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const PICK = [...SENT.filter((e) => e.label === "positive").slice(0, 24), ...SENT.filter((e) => e.label === "negative").slice(0, 24)];
const TSV = PICK.map((e) => `${e.label}\t${e.text}`).join("\n");
const TEXTS = ["The food was wonderful and the staff were friendly.", "Terrible service, cold food, and we waited an hour."];

// unzip reads a zip's entries ({ name: Uint8Array }) from its central directory: stored entries
// only (what zipFiles writes), every CRC-32 checked with zlib's.
function unzip(buf) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = buf.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, "no end of central directory");
  const n = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out = {};
  for (let i = 0; i < n; i++) {
    assert.equal(dv.getUint32(p, true), 0x02014b50, "central directory entry");
    const method = dv.getUint16(p + 10, true),
      crc = dv.getUint32(p + 16, true),
      size = dv.getUint32(p + 20, true),
      nameLen = dv.getUint16(p + 28, true),
      extraLen = dv.getUint16(p + 30, true),
      commentLen = dv.getUint16(p + 32, true),
      local = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
    assert.equal(method, 0, `${name}: stored`);
    assert.equal(dv.getUint32(local, true), 0x04034b50, `${name}: local header`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const data = buf.subarray(start, start + size);
    assert.equal(crc32(data), crc, `${name}: CRC-32`);
    out[name] = data;
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

// paste puts text in the panel's text box as a paste would (one input event).
const paste = (page, text) =>
  page.$eval("#train-data", (t, v) => {
    t.value = v;
    t.dispatchEvent(new InputEvent("input", { inputType: "insertFromPaste" }));
  }, text);

function cliClassify(adapterDir, texts) {
  const out = execFileSync(CLI, ["classify", "--model", MODEL_DIR, "--jsonl", "--adapter", adapterDir], { input: texts.map((t) => JSON.stringify({ text: t })).join("\n") + "\n" });
  return out.toString().trim().split("\n").map((l) => JSON.parse(l));
}

describe("demo site: train your own adapter", { timeout: 5 * 60_000 }, () => {
  let srv, page, closeBrowser;
  const logs = [];
  before(async () => {
    srv = await startSiteServer({ root: SITE });
    ({ page, close: closeBrowser } = await launchSite("adapterwasm-train-", { logs, options: { acceptDownloads: true } }));
    // every progress report the panel shows: [step, plotted loss points, plotted accuracy points]
    await page.addInitScript(() => {
      window.__plot = [];
      document.addEventListener("DOMContentLoaded", () => {
        const s = document.getElementById("train");
        new MutationObserver(() => {
          const svg = s.querySelector(".train-plot");
          const rec = [Number(s.dataset.step), Number(svg?.dataset.points ?? 0), Number(svg?.dataset.accPoints ?? 0)];
          if (s.dataset.step && String(window.__plot.at(-1)) !== String(rec)) window.__plot.push(rec);
        }).observe(s, { attributes: true, subtree: true });
      });
    });
    await page.goto(`${srv.url}/`);
    await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="error"]', { timeout: TIMEOUT });
    assert.equal(await page.$eval("#model-status", (e) => e.dataset.state), "ready");
  });
  after(async () => {
    if (process.exitCode) console.log(logs.join("\n"));
    await closeBrowser?.();
    await srv?.close();
  });

  test("hostile input, pasted or opened as a file, is a message, and Train stays off", { timeout: TIMEOUT }, async () => {
    assert.equal(await page.isVisible("#train"), true);
    const many = Array.from({ length: 3000 }, (_, i) => `sentence ${i}\tpositive`).join("\n");
    const big = Buffer.alloc(21_000_000, "a\tb\n");
    const huge = Buffer.from(`a\t${"word ".repeat(1_000_000)}\n`.repeat(3)); // 15 MB, 3 examples of one label
    for (const [how, input, re] of [
      ["paste", many, /more than 1,024 different labels/],
      ["paste", "positive\tgood\nno tab here", /line 2: no tab/],
      ["file", { name: "many.tsv", buffer: Buffer.from(many) }, /^Cannot train on this: more than 1,024 different labels/],
      ["file", { name: "big.tsv", buffer: big }, /big\.tsv is 21\.0 MB; at most 20 MB/],
      ["file", { name: "huge.tsv", buffer: huge }, /only one label/],
    ]) {
      await page.$eval("#train-parsed", (p) => (p.dataset.state = ""));
      if (how === "paste") await paste(page, input);
      else await page.setInputFiles("#train-file", { ...input, mimeType: "text/tab-separated-values" });
      await page.waitForSelector('#train-parsed[data-state="error"]', { timeout: 20_000 });
      assert.match(await page.textContent("#train-parsed"), re, how);
      assert.equal(await page.isDisabled("#train-start"), true);
    }
    assert.equal(await page.inputValue("#train-data"), "", "a 15 MB file is not put in the text box");
  });

  let zipBytes, pageCards;
  test("paste 48 sentences, train one epoch with the plot updating, classify with the adapter", { timeout: TIMEOUT }, async () => {
    await paste(page, TSV);
    await page.waitForSelector('#train-parsed[data-state="ok"]');
    assert.match(await page.textContent("#train-parsed"), /^48 examples \(label<TAB>text\), 2 labels: negative 24 · positive 24\. 4 held out to measure accuracy, 44 to train on\./);
    await page.fill("#train-epochs", "1");
    const t0 = Date.now();
    await page.click("#train-start");
    await page.waitForSelector('#train[data-state="done"], #train[data-state="error"]', { timeout: TIMEOUT });
    const st = await page.$eval("#train", (s) => ({ ...s.dataset, status: s.querySelector(".train-status").textContent }));
    assert.equal(st.state, "done", st.status);
    console.log(`# trained 44 examples, 1 epoch, in ${((Date.now() - t0) / 1000).toFixed(1)} s (page: ${st.seconds} s, ${st.examplesPerSecond} examples/s)`);
    assert.equal(st.steps, "3"); // ⌈44 / 16⌉
    assert.ok(Number(st.devAccuracy) >= 0 && Number(st.devAccuracy) <= 1);
    assert.match(st.status, /^Trained “my_adapter” in \d+:\d\d: [\d.]+% right on the 4 held-out examples\./);
    // the plot grew one loss point per step; the dev accuracy point came with the epoch's last
    const plot = await page.evaluate(() => window.__plot);
    assert.deepEqual(plot, [[1, 1, 0], [2, 2, 0], [3, 3, 1]]);
    assert.ok((await page.getAttribute(".train-plot .loss-line", "points")).split(" ").length === 3);

    // the classifier lists the adapter, loaded and picked, and answers with it
    assert.equal(await page.$eval('.adapter[data-name="my_adapter"]', (r) => r.dataset.state), "loaded");
    assert.equal(await page.isChecked('input[value="my_adapter"]'), true);
    pageCards = [];
    for (const text of TEXTS) {
      await page.fill("#text", text);
      await page.waitForFunction((t) => {
        const r = document.getElementById("results");
        return r.dataset.state === "done" && r.dataset.text === t && r.dataset.setup === "my_adapter";
      }, text, { timeout: TIMEOUT, polling: 50 });
      const c = await page.$eval(".result", (c) => ({ head: c.dataset.head, label: c.dataset.label, score: Number(c.dataset.score), labels: [...c.querySelectorAll(".probs .cls")].map((x) => x.textContent) }));
      assert.equal(c.head, "my_adapter");
      assert.deepEqual(c.labels, ["negative", "positive"]);
      pageCards.push(c);
    }
    // the next run is offered a new name
    assert.equal(await page.inputValue("#train-name"), "my_adapter_2");
  });

  test("Download zip: the AdapterHub directory, which the Go CLI loads with the page's scores", { timeout: TIMEOUT }, async () => {
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: TIMEOUT }), page.click("#train-download")]);
    assert.equal(download.suggestedFilename(), "my_adapter.zip");
    zipBytes = readFileSync(await download.path());
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, "trained_adapter.zip"), zipBytes);
    const files = unzip(zipBytes);
    assert.deepEqual(Object.keys(files).sort(), ["my_adapter/adapter_config.json", "my_adapter/head_config.json", "my_adapter/pytorch_adapter.bin", "my_adapter/pytorch_model_head.bin"]);
    const cfg = JSON.parse(new TextDecoder().decode(files["my_adapter/adapter_config.json"]));
    assert.equal(cfg.name, "my_adapter");
    assert.equal(cfg.config.reduction_factor, 16); // the page's seq_bn
    const head = JSON.parse(new TextDecoder().decode(files["my_adapter/head_config.json"]));
    assert.deepEqual(head.config.label2id, { negative: 0, positive: 1 });
    const dir = mkdtempSync(join(tmpdir(), "adapterwasm-zip-"));
    try {
      for (const [name, data] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), data);
      }
      const want = cliClassify(join(dir, "my_adapter"), TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        assert.equal(pageCards[i].label, want[i].label, `${TEXTS[i]}: page ${pageCards[i].label}, CLI ${want[i].label}`);
        // the same float32 (site.test.js assertLikeCli): the SIMD kernels and their plain-Go twins
        assert.equal(pageCards[i].score, Math.fround(want[i].score), `${TEXTS[i]}: page score ${pageCards[i].score}, CLI ${want[i].score}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Cancel stops a run between steps; nothing is kept", { timeout: TIMEOUT }, async () => {
    await page.fill("#train-epochs", "3");
    await page.click("#train-start");
    await page.waitForFunction(() => Number(document.getElementById("train").dataset.step) >= 1 && document.getElementById("train").dataset.state === "training", null, { timeout: TIMEOUT, polling: 20 });
    await page.click("#train-cancel");
    await page.waitForSelector('#train[data-state="cancelled"]', { timeout: TIMEOUT });
    assert.match(await page.textContent("#train-status"), /^Cancelled after \d of 9 steps; nothing was kept\./);
    assert.equal(await page.$('.adapter[data-name="my_adapter_2"]'), null);
    assert.equal(await page.isDisabled("#train-start"), false);
    assert.deepEqual(logs.filter((l) => /^(error|pageerror)/.test(l)), []);
  });
});
