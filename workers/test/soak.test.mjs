// The Worker must not grow per request: one isolate serves every request of its life, and the
// Wasm linear memory never shrinks, so a few KB kept per request reach the 128 MB limit within
// hours. This soak sends SOAK.requests small requests (/healthz, a 404, a one-text classify, in
// turn) to `wrangler dev --local` on loopback, reads the Wasm memory from /healthz every
// SOAK.sampleEvery requests, and fails if the last third of the run grows the linear memory by
// more than SOAK.maxLastThirdGrowth, or the whole run the live Go heap (as of the last GC) by more
// than SOAK.maxLiveGrowth (syumai/workers v0.33.0's response stream kept ~18-28 KB per
// request: ~25 MB over 1,000 requests). It reports, per kind of request, the memory growth over a
// block of that kind alone, and the latency. Bounded in count and time; the server is stopped by
// its process group id (devserver.mjs).
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
const SOAK = {
  perKind: 150, // requests of one kind alone, to see which kind grows
  requests: 3000, // the mixed run
  concurrency: 4,
  sampleEvery: 150,
  warmup: 600,
  maxLastThirdGrowth: 2 * MiB, // of the linear memory
  maxLiveGrowth: 2 * MiB, // of the live Go heap, over the whole mixed run (< 0.7 KB a request; the leak was ~20 KB)
  timeoutMs: 240_000, // the whole run (~40 s here)
};

const figures = {};
function report(key, value) {
  figures[key] = value;
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

const KINDS = {
  healthz: { path: "/healthz", status: 200 },
  notFound: { path: "/nope", status: 404 },
  classify: { path: "/v1/classify", body: { text: "Great service", adapters: "sentiment" }, status: 200 },
};

describe("soak on wrangler dev --local: the Wasm memory stays flat", { concurrency: false }, () => {
  let dev;
  const stats = { retries: 0 };
  const call = (kind) => callJSON(dev.url, KINDS[kind].path, KINDS[kind].body, { stats, timeoutMs: () => 60_000 });
  const memory = async () => {
    const { status, body } = await call("healthz");
    assert.equal(status, 200, JSON.stringify(body));
    return { linear: body.memory.linearMemory, heap: body.memory.heapAlloc, live: body.memory.liveHeap, requests: body.stats.requests, errors: body.stats.errors, coldStartMs: body.stats.coldStartMs };
  };

  // run sends n requests, kinds[i % kinds.length] for the i-th, concurrency at a time, sampling the
  // memory every sampleEvery; it returns the samples, the latencies by kind and any unexpected answers.
  async function run(n, kinds, deadline) {
    const lat = Object.fromEntries(kinds.map((k) => [k, []]));
    const samples = [{ at: 0, ...(await memory()) }];
    const errors = [];
    let next = 0;
    let done = 0;
    let sampling = Promise.resolve();
    async function worker() {
      while (next < n && !deadline.aborted) {
        const i = next++;
        const kind = kinds[i % kinds.length];
        const t0 = performance.now();
        try {
          const { status, body } = await call(kind);
          if (status !== KINDS[kind].status) errors.push(`${i} ${kind}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
        } catch (e) {
          errors.push(`${i} ${kind}: ${e.message}`);
        }
        lat[kind].push(performance.now() - t0);
        if (++done % SOAK.sampleEvery === 0 || done === n) {
          const at = done;
          sampling = sampling.then(async () => {
            try {
              samples.push({ at, ...(await memory()) });
            } catch (e) {
              errors.push(`sample at ${at}: ${e.message}`);
            }
          });
        }
      }
    }
    await Promise.all(Array.from({ length: SOAK.concurrency }, worker));
    await sampling;
    const latency = {};
    for (const [k, l] of Object.entries(lat)) {
      l.sort((a, b) => a - b);
      const q = (p) => +l[Math.min(l.length - 1, Math.floor(p * l.length))].toFixed(1);
      latency[k] = { n: l.length, p50ms: q(0.5), p95ms: q(0.95), maxMs: +l[l.length - 1].toFixed(1) };
    }
    return { samples, latency, errors };
  }

  before(async () => {
    assert.ok(existsSync(join(workerDir, "dist", "adapterwasm-worker.wasm")), "run ./build.sh worker first");
    dev = await startDev(workerDir);
    // Cold start, the adapter loaded, the largest request (MAX_TOKENS: 8 full-length texts) a few
    // times, then a few hundred small ones: the Go heap's high-water mark is reached before the
    // run (the linear memory grows to it and stays; below it, growth is what was kept).
    const { status, body } = await callJSON(dev.url, "/healthz", undefined, { stats, timeoutMs: () => 120_000 });
    assert.equal(status, 200, JSON.stringify(body));
    const long = "this movie was wonderful and I loved it ".repeat(40);
    for (let i = 0; i < 3; i++) {
      const big = await callJSON(dev.url, "/v1/classify", { texts: Array(8).fill(long), adapters: "sentiment" }, { stats });
      assert.equal(big.status, 200, JSON.stringify(big.body));
    }
    const warm = await run(SOAK.warmup, Object.keys(KINDS), AbortSignal.timeout(SOAK.timeoutMs));
    assert.deepEqual(warm.errors, []);
    report("memory after warm-up (MiB)", +(warm.samples.at(-1).linear / MiB).toFixed(2));
  });

  after(async () => {
    await dev?.stop();
    report("wrangler dev proxy drops (retried)", stats.retries);
    console.log(`# figures: ${JSON.stringify(figures)}`);
  });

  test(`${SOAK.perKind} requests of each kind alone: growth per request`, async () => {
    const growth = {};
    for (const kind of Object.keys(KINDS)) {
      const t0 = performance.now();
      const { samples, latency, errors } = await run(SOAK.perKind, [kind], AbortSignal.timeout(SOAK.timeoutMs));
      assert.deepEqual(errors, []);
      const [first, last] = [samples[0], samples.at(-1)];
      growth[kind] = {
        linearMiB: +((last.linear - first.linear) / MiB).toFixed(2),
        liveKiBPerRequest: +((last.live - first.live) / 1024 / SOAK.perKind).toFixed(2),
        peakMiB: +(Math.max(...samples.map((s) => s.linear)) / MiB).toFixed(2),
        wallMs: Math.round(performance.now() - t0),
        ...latency[kind],
      };
    }
    report("per kind", growth); // diagnostics: the mixed run below is the check
  });

  test(`${SOAK.requests} mixed requests: the last third grows the Wasm memory by at most ${SOAK.maxLastThirdGrowth / MiB} MiB`, async () => {
    const t0 = performance.now();
    const deadline = AbortSignal.timeout(SOAK.timeoutMs);
    const { samples, latency, errors } = await run(SOAK.requests, Object.keys(KINDS), deadline);
    const wallMs = Math.round(performance.now() - t0);
    const [first, last] = [samples[0], samples.at(-1)];
    const third = samples.find((s) => s.at >= (2 * SOAK.requests) / 3) ?? last; // last: the run did not get there
    const peak = Math.max(...samples.map((s) => s.linear));
    report("mixed run", {
      requests: last.at,
      wallMs,
      linearMiB: { start: +(first.linear / MiB).toFixed(2), atTwoThirds: +(third.linear / MiB).toFixed(2), end: +(last.linear / MiB).toFixed(2), peak: +(peak / MiB).toFixed(2) },
      liveHeapMiB: { start: +(first.live / MiB).toFixed(2), atTwoThirds: +(third.live / MiB).toFixed(2), end: +(last.live / MiB).toFixed(2) },
      latency,
    });
    report("linear memory samples (MiB)", samples.map((s) => +(s.linear / MiB).toFixed(1)));
    report("live heap samples (MiB)", samples.map((s) => +(s.live / MiB).toFixed(2)));
    assert.equal(last.at, SOAK.requests, `the run did not finish in ${SOAK.timeoutMs} ms`);
    assert.deepEqual(errors, []);
    assert.equal(last.coldStartMs, first.coldStartMs, "the isolate restarted");
    const grew = last.linear - third.linear;
    assert.ok(grew <= SOAK.maxLastThirdGrowth, `the last third of the run grew the Wasm memory by ${(grew / MiB).toFixed(2)} MiB (${(third.linear / MiB).toFixed(2)} → ${(last.linear / MiB).toFixed(2)} MiB)`);
    const kept = last.live - first.live;
    assert.ok(kept <= SOAK.maxLiveGrowth, `the live Go heap grew by ${(kept / MiB).toFixed(2)} MiB over the run (${(first.live / MiB).toFixed(2)} → ${(last.live / MiB).toFixed(2)} MiB)`);
    assert.ok(peak < 128 * MiB, `peak ${(peak / MiB).toFixed(1)} MiB`);
  });
});
