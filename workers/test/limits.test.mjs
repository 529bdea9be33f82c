// Refused requests under `wrangler dev --local`, on loopback: each gets its JSON error and leaves
// the next request unharmed. A chunked body over the 1 MiB limit (no Content-Length, so the
// Worker learns its size only by reading) used to break the request after it in 3 of 4 tries
// (wrangler's 503, or a reset connection): the entry now cancels what it does not read before Go
// answers. Then what the Worker refuses up front: an empty or whitespace-only text, a Parallel
// with the same branch twice, and a 900 KB adapter name, which an error message now echoes as a
// short prefix. The server is stopped by its process group id (devserver.mjs).
//
// Needs: dist/ (./build.sh worker).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { callJSON, startDev } from "./devserver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workerDir = join(here, "..");
const MiB = 1 << 20;
const TRIES = 4;

const figures = {};
function report(key, value) {
  figures[key] = value;
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

// chunked is a request body of n bytes sent in 64 KiB chunks, with no Content-Length.
function chunked(n) {
  const chunk = new TextEncoder().encode("x".repeat(64 << 10));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= n) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

// once sends one request, never again: what follows a refused body must work the first time.
async function once(url, init = {}) {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    return { status: res.status, text, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    return { status: 0, text: `${e.name}: ${e.message} ${e.cause?.code ?? ""}`, ms: Math.round(performance.now() - t0) };
  }
}

describe("refused requests on wrangler dev --local", { concurrency: false }, () => {
  let dev;
  const stats = { retries: 0 };
  before(async () => {
    assert.ok(existsSync(join(workerDir, "dist", "adapterwasm-worker.wasm")), "run ./build.sh worker first");
    dev = await startDev(workerDir);
    const { status, body } = await callJSON(dev.url, "/healthz", undefined, { stats, timeoutMs: () => 120_000 });
    assert.equal(status, 200, JSON.stringify(body));
    const warm = await callJSON(dev.url, "/v1/classify", { text: "Great service", adapters: "sentiment" }, { stats });
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
  });
  after(async () => {
    await dev?.stop();
    report("wrangler dev proxy drops (retried, setup requests only)", stats.retries);
    console.log(`# figures: ${JSON.stringify(figures)}`);
  });

  test(`a chunked body over the limit gets its 413, and the next requests work (${TRIES} tries, then 2 with a Content-Length)`, async () => {
    const failures = [];
    const seen = [];
    for (let i = 0; i < TRIES + 2; i++) {
      // TRIES chunked bodies, then two with a Content-Length (refused from the header alone).
      const body = i < TRIES ? chunked(2 * MiB) : "x".repeat(2 * MiB);
      const big = await once(`${dev.url}/v1/classify`, { method: "POST", body, duplex: "half", headers: { "content-type": "application/json" } });
      const health = await once(`${dev.url}/healthz`);
      const classify = await once(`${dev.url}/v1/classify`, { method: "POST", body: JSON.stringify({ text: "I love this movie", adapters: "sentiment" }) });
      seen.push({ big: [big.status, big.ms], healthz: [health.status, health.ms], classify: [classify.status, classify.ms] });
      let code;
      try {
        code = JSON.parse(big.text).error?.code;
      } catch {
        code = big.text.slice(0, 200);
      }
      if (big.status !== 413 || code !== "body_too_large") failures.push(`try ${i}: the chunked body got ${big.status} ${code}`);
      if (health.status !== 200) failures.push(`try ${i}: /healthz after it got ${health.status} ${health.text.slice(0, 200)}`);
      if (classify.status !== 200) failures.push(`try ${i}: classify after it got ${classify.status} ${classify.text.slice(0, 200)}`);
    }
    report("2 MiB body (4 chunked, 2 with Content-Length), then /healthz, then classify: [status, ms]", seen);
    assert.deepEqual(failures, []);
    const h = await callJSON(dev.url, "/healthz", undefined, { stats });
    assert.equal(h.body.stats.errors, TRIES + 2, `the Worker answered ${h.body.stats.errors} errors, want the ${TRIES + 2} 413s`);
  });

  test("HEAD /healthz: 200, the headers of the GET, no body (the Response is built from Go's bytes)", async () => {
    const res = await fetch(`${dev.url}/healthz`, { method: "HEAD", signal: AbortSignal.timeout(60_000) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  const refused = [
    { name: "empty text", body: { text: "", adapters: "sentiment" }, status: 400, code: "invalid_request", says: "empty" },
    { name: "whitespace-only text in texts", body: { texts: ["Great service", " \t\n "], adapters: "sentiment" }, status: 400, code: "invalid_request", says: "text 1 is empty" },
    { name: "Parallel with the same branch twice", body: { text: "Great service", adapters: "Parallel(sentiment,sentiment)" }, status: 400, code: "invalid_setup", says: "twice" },
    { name: "900 KB adapter name", body: { text: "Great service", adapters: "x".repeat(900_000) }, status: 404, code: "unknown_adapter", says: "(900000 bytes)" },
    { name: "900 KB setup that does not parse", body: { text: "Great service", adapters: "Stack(" + "x".repeat(900_000) }, status: 400, code: "invalid_setup", says: "(900006 bytes)" },
  ];
  test("refused up front: empty texts, duplicate Parallel branches; long input echoed as a short prefix", async () => {
    const seen = {};
    for (const r of refused) {
      const { status, body } = await callJSON(dev.url, "/v1/classify", r.body, { stats });
      const message = body.error?.message ?? "";
      seen[r.name] = { status, code: body.error?.code, bytes: message.length, message: message.slice(0, 160) };
      assert.equal(status, r.status, `${r.name}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.equal(body.error.code, r.code, r.name);
      assert.ok(message.includes(r.says), `${r.name}: ${message.slice(0, 300)}`);
      assert.ok(message.length <= 1024 && !message.includes("x".repeat(129)), `${r.name}: a ${message.length}-byte message`);
    }
    report("refused", seen);
    const ok = await callJSON(dev.url, "/v1/classify", { texts: ["Great service", "The food was cold"], adapters: "sentiment" }, { stats });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});
