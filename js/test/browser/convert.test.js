// Chromium: the real all-MiniLM-L6-v2 by hub id from the mock hub (helpers/hub.js, another
// origin, LFS files through its CDN) is converted to q8 in the Wasm module on the first visit
// (progress: downloads, converting, converted, ready) and only the converted file goes into the
// Cache API; after a reload the second visit fetches no weights and answers exactly as the prepared
// q8 file (`adapterwasm convert`) by URL. Prints first- and second-visit timings of both.
// Needs /usr/bin/chromium, `npm ci` in js/, ./build.sh wasm, the MiniLM (./build.sh test).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startHub } from "../helpers/hub.js";
import { launchChromium, runOnBlank } from "./page.js";
import { startServer } from "../helpers/server.js";
import { cliRun, HAVE_MINILM, MINILM, MINILM_ADAPTERS, requireBuild, ROOT } from "../helpers/fixtures.js";

requireBuild();
const MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2";
const TEXTS = ["I love this movie", "Win a free cruise now, click here", "The parliament passed the budget"];

let srv, hub, page, out, cliFile, closeBrowser;
const logs = [];

const run = (f, arg) => runOnBlank(page, `${srv.url}/blank.html`, f, arg);

before(async () => {
  if (!HAVE_MINILM) return;
  out = mkdtempSync(join(tmpdir(), "adapterwasm-chromium-convert-out-"));
  cliRun(["convert", "--in", MINILM, "--out", out, "--name", MODEL_ID]);
  cliFile = readFileSync(join(out, "adapterwasm.safetensors"));
  srv = await startServer({
    mounts: { "/pkg/": { dir: join(ROOT, "js"), cacheControl: "public, max-age=3600" }, "/prepared/": { dir: out }, "/adapters/": { dir: MINILM_ADAPTERS } },
    pages: { "/blank.html": "<!doctype html><meta charset=utf-8><title>convert</title>" },
  });
  hub = await startHub();
  hub.addDir(MODEL_ID, MINILM);
  ({ page, close: closeBrowser } = await launchChromium("adapterwasm-chromium-convert-", { logs }));
});

after(async () => {
  await closeBrowser?.();
  if (out) rmSync(out, { recursive: true, force: true });
  await srv?.close();
  await hub?.close().catch(() => {});
});

// visit loads base (by id through endpoint, or a URL), classifies TEXTS with the sentiment adapter
// and reports what it took, fetched and kept.
const visit = async (aw, { base, endpoint, adapter, texts }) => {
  const events = [];
  const t0 = performance.now();
  const m = await aw.AutoModelWithHeads.fromPretrained(base, { endpoint, onProgress: (e) => events.push(e) });
  const loadMs = performance.now() - t0;
  const result = await m.classify(texts, { adapters: await m.loadAdapter(adapter) });
  // The base's events (up to its "ready"), a file's repeated progress once.
  const upto = events.findIndex((e) => e.status === "ready");
  const seq = events
    .slice(0, upto + 1)
    .filter((e) => e.status !== "progress_total")
    .map((e) => (e.file && !e.status.startsWith("convert") ? `${e.status}:${e.file}` : e.status))
    .filter((s, i, a) => s !== a[i - 1] && !s.endsWith("adapterwasm.wasm"));
  const keys = (await (await caches.open("adapterwasm-v1")).keys()).map((r) => r.url);
  const out = { loadMs, result, seq, conversion: m.conversion, fetched: m.stats.bytesFetched, fromCache: m.stats.bytesFromCache, memory: (await m.memory()).wasmMemoryBytes, keys };
  m.dispose();
  return out;
};

test("first visit converts (progress, Cache API holds only the converted file); after a reload nothing of the weights is fetched and the answers equal the prepared q8's", { skip: !HAVE_MINILM && "no MiniLM (./build.sh test fetches it)" }, async () => {
  const adapter = `${srv.url}/adapters/sentiment/`;
  const first = await run(visit, { base: MODEL_ID, endpoint: hub.endpoint, adapter, texts: TEXTS });
  assert.ok(first.seq, `${JSON.stringify(first)}\n${logs.join("\n")}`);
  assert.deepEqual(first.seq.slice(-3), ["converting", "converted", "ready"], first.seq.join(" "));
  assert.ok(first.seq.includes("download:model.safetensors"), first.seq.join(" "));
  assert.equal(first.conversion.fromCache, false);
  assert.equal(first.conversion.bytes, cliFile.byteLength);
  const key = first.keys.find((k) => k.includes("adapterwasm-converted=q8"));
  assert.ok(key, first.keys.join("\n"));
  assert.ok(!first.keys.some((k) => k.endsWith("/model.safetensors")), "the source was cached");
  // The cached bytes hash to the sha256 of `adapterwasm convert`'s file.
  const cached = await page.evaluate(async (k) => {
    const res = await (await caches.open("adapterwasm-v1")).match(k);
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await res.arrayBuffer()));
    return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
  }, key);
  assert.equal(cached, JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")).files[0].sha256, "the cached file is not adapterwasm convert's");

  const n = hub.requests().length;
  const second = await run(visit, { base: MODEL_ID, endpoint: hub.endpoint, adapter, texts: TEXTS });
  assert.deepEqual(hub.requests().slice(n).map((r) => r.path), [`/${MODEL_ID}/resolve/main/config.json`]);
  // config.json at the revision tells the commit; the rest is the cached converted file.
  assert.deepEqual(second.seq, ["initiate:config.json", "download:config.json", "progress:config.json", "done:config.json", "initiate:adapterwasm.safetensors", "progress:adapterwasm.safetensors", "done:adapterwasm.safetensors", "ready"], second.seq.join(" "));
  assert.ok(!second.seq.includes("converting"));
  assert.equal(second.conversion.fromCache, true);
  assert.ok(second.fromCache >= cliFile.byteLength, String(second.fromCache));
  assert.ok(second.fetched < 4096, `fetched ${second.fetched} bytes (config.json for the commit only)`);

  const prepFirst = await run(visit, { base: `${srv.url}/prepared/`, adapter, texts: TEXTS });
  const prepSecond = await run(visit, { base: `${srv.url}/prepared/`, adapter, texts: TEXTS });
  assert.deepEqual(second.result, prepSecond.result);
  assert.deepEqual(first.result, prepFirst.result);
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  console.log(`# Chromium MiniLM: converted-in-client first visit ${first.loadMs.toFixed(0)} ms (conversion ${first.conversion.ms} ms, Wasm memory ${mib(first.memory)} MiB), second ${second.loadMs.toFixed(0)} ms (${mib(second.memory)} MiB); prepared q8 first ${prepFirst.loadMs.toFixed(0)} ms (${mib(prepFirst.memory)} MiB), second ${prepSecond.loadMs.toFixed(0)} ms (${mib(prepSecond.memory)} MiB)`);
});
