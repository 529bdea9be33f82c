// The Go Worker with its base model and adapters in an R2 bucket (MODEL_SOURCE / ADAPTERS_SOURCE
// "r2"), for real: `wrangler dev --local` on r2-test/wrangler.jsonc, whose MODEL_BUCKET binding
// miniflare simulates in the server's persist dir. The bucket is seeded with wrangler's own
// commands (`r2 bulk put --local --persist-to`) from dist/assets, built by `./build.sh worker`,
// first WITHOUT the model's weights: the Worker must answer the JSON 503 naming the missing
// object, then, once `r2 object put` adds them to the running server's bucket, load the q8 model
// from R2 (its manifest's sha256 checked) and classify the golden sentences as the Go CLI does
// on the same files. An adapter listed in the index but absent from the bucket must get its
// JSON 502. One wrangler dev start, a handful of requests; the server is stopped by its process
// group id (devserver.mjs).
//
// Needs: ADAPTERWASM_CLI (the CLI built by ./build.sh cli) and dist/ (./build.sh worker).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { callJSON, runCLI, startDev, WRANGLER } from "./devserver.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const workersDir = join(here, "..");
const workerDir = join(workersDir, "r2-test");
const root = join(workersDir, "..");
const assets = join(workersDir, "dist", "assets");
const cli = process.env.ADAPTERWASM_CLI ?? join(root, "dist", "adapterwasm");

const BUCKET = JSON.parse(
  readFileSync(join(workerDir, "wrangler.jsonc"), "utf8")
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("//"))
    .join("\n"),
).r2_buckets[0].bucket_name;
const WEIGHTS = "model/adapterwasm.safetensors"; // what manifest.json lists (checked below)
const TOL = 0; // |logit - CLI logit|, as worker.test.mjs (the SIMD kernels and their plain-Go twins agree bit for bit)

const golden = JSON.parse(readFileSync(join(root, "testdata/minilm/golden/sentiment.json"), "utf8"));
const texts = golden.sentences.slice(0, 4);

const figures = {};
function report(key, value) {
  figures[key] = value;
  console.log(`# ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
}

// wrangler runs wrangler (workers/node_modules) in r2-test/, offline, on the local state in persist.
async function wrangler(args, persist) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [WRANGLER, ...args, "--local", "--persist-to", persist], {
    cwd: workerDir,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    maxBuffer: 16 << 20,
  });
  return stdout + stderr;
}


// wrangler dev's proxy drops a POST now and then (plain-text 503, or a reset connection), and has
// been seen holding a response after a cold start until another request came in (workers/README.md,
// worker.test.mjs): callJSON sends such a request again, at most twice, and counts it.
const devProxy = { retries: 0 };

describe("worker with the base model in R2, on wrangler dev --local", { concurrency: false }, () => {
  let dev;
  const want = {}; // the Go CLI's answers on the same files, computed before the server starts

  const call = (path, body) =>
    callJSON(dev.url, path, body, { retryErrors: ["TypeError", "TimeoutError"], timeoutMs: (attempt) => (attempt === 0 ? 60_000 : 120_000), stats: devProxy });


  before(async () => {
    assert.ok(existsSync(join(workersDir, "dist", "adapterwasm-worker.wasm")), "run ./build.sh worker first");
    assert.ok(existsSync(cli), `no CLI at ${cli} (./build.sh cli)`);
    const manifest = JSON.parse(readFileSync(join(assets, "model", "manifest.json"), "utf8"));
    assert.deepEqual(
      manifest.files.map((f) => `model/${f.name}`),
      [WEIGHTS],
      "the q8 model is one file besides its manifest",
    );
    const out = await runCLI(cli, 
      ["classify", "--jsonl", "--model", join(assets, "model"), "--adapter", `sentiment=${join(assets, "adapters", "sentiment")}`],
      texts.map((text) => JSON.stringify({ text })).join("\n") + "\n",
    );
    want.sentiment = out.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    dev = await startDev(workerDir, {
      // Everything the sentiment adapter needs except the model's weights: the manifest, the
      // whole adapter index (which lists spam too) and the sentiment adapter's files.
      seed: async (persist) => {
        const objects = [
          { key: "model/manifest.json", file: join(assets, "model", "manifest.json") },
          { key: "adapters/index.json", file: join(assets, "adapters", "index.json") },
          ...readdirSync(join(assets, "adapters", "sentiment")).map((f) => ({
            key: `adapters/sentiment/${f}`,
            file: join(assets, "adapters", "sentiment", f),
          })),
        ];
        const list = join(persist, "seed.json");
        writeFileSync(list, JSON.stringify(objects));
        const t0 = performance.now();
        const log = await wrangler(["r2", "bulk", "put", BUCKET, "--filename", list], persist);
        assert.match(log, new RegExp(`${objects.length} out of ${objects.length}`), log);
        report("r2 bulk put (objects, ms)", { objects: objects.length, ms: Math.round(performance.now() - t0) });
      },
    });
    report("wrangler dev listening after (ms)", Math.round(dev.listeningMs));
  });

  after(async () => {
    await dev?.stop();
    report("wrangler dev proxy retries", devProxy.retries);
    console.log(`# figures: ${JSON.stringify(figures)}`);
  });

  test("a missing model object in R2: a JSON 503 that names it, for /healthz and /v1/classify", async () => {
    const health = await call("/healthz");
    assert.equal(health.status, 503, JSON.stringify(health.body));
    assert.match(health.type, /application\/json/);
    assert.equal(health.body.error.code, "unavailable");
    assert.match(health.body.error.message, new RegExp(`^base model: r2 ${WEIGHTS}: file does not exist$`));
    const classify = await call("/v1/classify", { text: texts[0], adapters: "sentiment" });
    assert.equal(classify.status, 503, JSON.stringify(classify.body));
    assert.equal(classify.body.error.code, "unavailable");
    assert.match(classify.body.error.message, new RegExp(`r2 ${WEIGHTS}: file does not exist`));
  });

  test("once the object is put into the running server's bucket, the next request loads the q8 model from R2", async () => {
    const t0 = performance.now();
    const log = await wrangler(["r2", "object", "put", `${BUCKET}/${WEIGHTS}`, "--file", join(assets, WEIGHTS)], dev.persist);
    assert.match(log, /Upload complete/, log);
    report("r2 object put of the q8 model (bytes, ms)", { bytes: readFileSync(join(assets, WEIGHTS)).length, ms: Math.round(performance.now() - t0) });
    const { status, body } = await call("/healthz");
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.ok, true);
    assert.equal(body.model.hiddenSize, 384);
    report("base model load from R2 inside Go (ms)", body.stats.coldStartMs);
    report("simd", body.simd);
  });

  test("classify from R2 (model and adapter) equals the Go CLI on the same files and the golden labels", async () => {
    const { status, body } = await call("/v1/classify", { texts, adapters: "sentiment" });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.results.length, texts.length);
    let worst = 0;
    body.results.forEach((got, i) => {
      assert.equal(got.label, want.sentiment[i].label, `text ${i} ${JSON.stringify(texts[i])}: label vs the CLI`);
      assert.equal(got.label, golden.predicted[i], `text ${i} ${JSON.stringify(texts[i])}: label vs the golden file`);
      got.logits.forEach((l, j) => (worst = Math.max(worst, Math.abs(l - want.sentiment[i].logits[j]))));
    });
    report(`sentiment on ${texts.length} golden sentences: max |logit - CLI|`, worst);
    assert.ok(worst <= TOL, `max |logit - CLI| ${worst} > ${TOL}`);
  });

  test("an adapter in the index but missing from R2: a JSON 502 that names the object; the isolate keeps serving", async () => {
    const missing = await call("/v1/classify", { text: texts[0], adapters: "spam" });
    assert.equal(missing.status, 502, JSON.stringify(missing.body));
    assert.match(missing.type, /application\/json/);
    assert.equal(missing.body.error.code, "adapter_load_failed");
    assert.match(missing.body.error.message, /^adapter spam: r2 adapters\/spam\/[^ ]+: file does not exist$/);
    const again = await call("/v1/classify", { text: texts[0], adapters: "sentiment" });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.results[0].label, want.sentiment[0].label);
    const { body } = await call("/healthz");
    assert.deepEqual(body.adaptersLoaded, ["sentiment"]);
    assert.equal(body.stats.adapterFetches > 0, true, JSON.stringify(body.stats));
    assert.equal(body.stats.cacheHits, 0, "ADAPTER_CACHE is off: every adapter file came from R2");
  });
});
