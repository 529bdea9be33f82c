// Browser tests: headless Debian Chromium driven by playwright-core (../../shared/FACTS.md §5).
// Needs /usr/bin/chromium (apt-get install -y chromium), `npm ci` in js/, and ./build.sh wasm.
import { after, before, describe, test } from "node:test";
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "../helpers/server.js";
import { checkClassify, checkEmbeddings, cli, goldenSentences, HAVE_MINILM, indexOf, maxAbsDiff, MINILM_ADAPTERS, MINILM_BASE, MINILM_DTYPE, MINILM_Q8, readJSON, requireBuild, ROOT, TINY, tinyIndex } from "../helpers/fixtures.js";
import { launchChromium, PAGE } from "./page.js";

requireBuild();

let srv;
const browsers = [];

before(async () => {
  srv = await startServer({
    mounts: {
      // The package is static code: cacheable, like any deployment would serve it.
      "/pkg/": { dir: join(ROOT, "js"), cacheControl: "public, max-age=3600" },
      "/tiny/": { dir: join(TINY, "model"), manifest: true },
      "/adapters/": { dir: join(TINY, "adapters") },
      "/minilm/": { dir: MINILM_BASE, manifest: !MINILM_Q8 },
      "/minilm-adapters/": { dir: MINILM_ADAPTERS },
      "/mtl/": { dir: join(ROOT, "adapters/testdata/methods/mtl/adapters_st") },
    },
    pages: { "/page.html": PAGE, "/adapters/index.json": { body: tinyIndex() }, "/minilm-adapters/index.json": { body: indexOf(MINILM_ADAPTERS) } },
  });
});

after(async () => {
  for (const b of browsers) await b.close();
  await srv?.close();
});

// newBrowser starts Chromium with a fresh profile (so a fresh Cache API) that lives for the test.
async function newBrowser() {
  const b = await launchChromium("adapterwasm-chromium-");
  browsers.push(b);
  return b;
}

function pageUrl(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, typeof v === "string" ? v : JSON.stringify(v));
  return `${srv.url}/page.html?${q}`;
}

// load navigates and waits for the page's one call; it returns the outcome and the bytes the
// server sent during the load, per prefix.
async function load(b, params, timeout = 300_000) {
  srv.log.length = 0;
  await b.page.goto(pageUrl(params));
  await b.page.waitForFunction(() => window.__done, null, { timeout, polling: 100 });
  const done = await b.page.evaluate(() => window.__done);
  assert.ok(done.ok, `page failed: ${done.error}\n${done.stack}\n${b.logs.join("\n")}`);
  const bytes = (prefix) => srv.log.filter((e) => e.path.startsWith(prefix) && !e.path.endsWith("/manifest.json")).reduce((n, e) => n + e.bytes, 0);
  return { ...done, bytes, total: srv.log.reduce((n, e) => n + e.bytes, 0), paths: srv.log.map((e) => e.path) };
}

const report = (what, r, basePrefix) =>
  console.log(`# ${what}: first result ${r.tFirst.toFixed(0)} ms after navigation (model ready ${r.tModel.toFixed(0)} ms); ` + `${r.total} bytes transferred, ${r.bytes(basePrefix)} of them base model; wasm memory ${(r.memory.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB`);

for (const mode of ["main", "worker"]) {
  describe(`tiny model, ${mode === "main" ? "main thread" : "Web Worker client"}`, () => {
    let b;
    before(async () => (b = await newBrowser()));
    after(async () => b?.close());
    const params = { mode, base: "/tiny/", index: "/adapters/index.json", setup: "seq_bn", texts: goldenSentences().slice(0, 11) };
    let cold;

    test("cold load: the result matches the reference logits", async () => {
      cold = await load(b, params);
      report(`tiny ${mode} cold`, cold, "/tiny/");
      assert.ok(cold.bytes("/tiny/") > 4_000_000);
      assert.ok(cold.progressEvents > 0);
      const g = readJSON(join(TINY, "golden/seq_bn.json"));
      cold.first.forEach((r, i) => assert.ok(maxAbsDiff(r.logits, g.logits[i]) <= 1e-4, `text ${i}`));
    });

    test("a second page load transfers zero base-model bytes", async () => {
      const warm = await load(b, params);
      report(`tiny ${mode} warm`, warm, "/tiny/");
      assert.equal(warm.bytes("/tiny/"), 0, warm.paths.join(" "));
      assert.equal(warm.bytes("/adapters/seq_bn/"), 0, "cached adapter");
      assert.equal(warm.stats.bytesFetched, 0);
      assert.deepEqual(warm.first, cold.first);
    });

    if (mode === "main") {
      test("a corrupt Cache API entry is dropped and fetched again", async () => {
        await b.page.evaluate(async (url) => {
          const cache = await caches.open("adapterwasm-v1");
          const res = await cache.match(url);
          const bytes = new Uint8Array(await res.arrayBuffer());
          bytes[bytes.length >> 1] ^= 0xff;
          await cache.put(url, new Response(bytes, { headers: res.headers }));
        }, `${srv.url}/tiny/model.safetensors`);
        const again = await load(b, params);
        assert.ok(again.bytes("/tiny/") > 3_000_000, "refetched");
        assert.deepEqual(again.first, cold.first);
        const warm = await load(b, params);
        assert.equal(warm.bytes("/tiny/"), 0, "the good copy is cached again");
      });

      test("a cut download fails cleanly and is never cached", async () => {
        const fresh = await newBrowser();
        srv.faults.set("/tiny/model.safetensors", "truncate");
        try {
          await fresh.page.goto(pageUrl(params));
          await fresh.page.waitForFunction(() => window.__done, null, { timeout: 120_000 });
          const done = await fresh.page.evaluate(() => window.__done);
          assert.equal(done.ok, false);
          assert.equal(done.code, "network", done.error);
          const cached = await fresh.page.evaluate(async (url) => !!(await (await caches.open("adapterwasm-v1")).match(url)), `${srv.url}/tiny/model.safetensors`);
          assert.equal(cached, false);
        } finally {
          srv.faults.delete("/tiny/model.safetensors");
          await fresh.close();
        }
      });
    }

    test("unloadAdapter waits for the calls in flight that use the adapter", async () => {
      const out = await b.page.evaluate(async (texts) => {
        const m = window.model;
        const want = JSON.stringify(await m.classify(texts, { adapters: "seq_bn_b" }));
        const order = [];
        const early = [0, 1, 2].map((k) => m.classify(texts, { adapters: k === 1 ? "Parallel(seq_bn,seq_bn_b)" : "seq_bn_b" }).then((r) => (order.push("classify"), k === 1 || JSON.stringify(r) === want)));
        const unload = m.unloadAdapter("seq_bn_b").then(() => order.push("unload"));
        const late = m.classify(texts, { adapters: "seq_bn_b" }).then(() => "resolved", (e) => `${e.name} ${e.code} ${e.message}`);
        const same = await Promise.all(early);
        await unload;
        return { same, order, late: await late, reloaded: JSON.stringify(await m.classify(texts, { adapters: "seq_bn_b" })) === want };
      }, goldenSentences().slice(0, 3));
      assert.deepEqual(out.same, [true, true, true]);
      assert.deepEqual(out.order, ["classify", "classify", "classify", "unload"]);
      assert.match(out.late, /^AdapterwasmError setup .*being unloaded/);
      assert.equal(out.reloaded, true, "fetched again from the index after the unload");
    });

    test("embeddings (Float32Array, transferred from a worker) match the Go CLI", async () => {
      const texts = goldenSentences();
      const got = await b.page.evaluate(async (texts) => {
        const out = await window.model.embed(texts, { normalize: true });
        if (!out.every((e) => e instanceof Float32Array)) throw new Error("not Float32Arrays");
        return out.map((e) => Array.from(e));
      }, texts);
      checkEmbeddings(got, cli(["embed", "--model", join(TINY, "model"), "--normalize"], texts));
    });

    test("switching adapters transfers only that adapter's bytes", async () => {
      srv.log.length = 0;
      const res = await b.page.evaluate(async (text) => {
        window.model.activeAdapters = "lora_qv";
        return window.model.classify(text);
      }, params.texts[0]);
      const g = readJSON(join(TINY, "golden/lora_qv.json"));
      assert.ok(maxAbsDiff(res[0].logits, g.logits[0]) <= 1e-4);
      const paths = srv.log.map((e) => e.path);
      assert.ok(paths.length >= 3 && paths.every((p) => p.startsWith("/adapters/lora_qv/")), paths.join(" "));
    });

    test("a failed call leaves the instance usable", async () => {
      const out = await b.page.evaluate(async (text) => {
        const m = window.model;
        const codes = [];
        const attempt = async (f) => {
          try {
            await f();
            codes.push("resolved");
          } catch (e) {
            codes.push(`${e.name}:${e.code}`);
          }
        };
        await attempt(() => m.classify("x", { adapters: "Stack(" }));
        await attempt(() => m.classify("x", { adapters: "no_such_adapter" }));
        await attempt(() => m.loadAdapter("/adapters/missing_dir/"));
        await attempt(() => m.embed(42));
        const ok = await m.classify(text, { adapters: "seq_bn" });
        return { codes, ok };
      }, params.texts[0]);
      assert.deepEqual(out.codes, ["AdapterwasmError:setup", "AdapterwasmError:not_found", "AdapterwasmError:not_found", "AdapterwasmError:invalid_argument"]);
      assert.deepEqual(out.ok[0].logits, cold.first[0].logits);
    });

    test("MultiTask: MTL-LoRA tasks per text (taskIds) give the library's logits; bad ids reject", async () => {
      const g = readJSON(join(ROOT, "adapters/testdata/methods/mtl/golden/multitask3_mixed.json"));
      const out = await b.page.evaluate(async ([texts, ids]) => {
        const m = window.model;
        for (const n of ["t1", "t2", "t3"]) await m.loadAdapter(`/mtl/${n}/`);
        const setup = window.aw.MultiTask("t1", "t2", "t3");
        const byId = await m.classify(texts, { adapters: setup, head: "t1", taskIds: ids });
        const byName = await m.classify(texts, { adapters: setup, head: "t1", task_ids: ids.map((i) => ["t1", "t2", "t3"][i]) });
        const codes = [];
        for (const taskIds of [[0.5], ids.slice(1), ids.map(() => -1), undefined]) {
          try {
            await m.classify(texts, { adapters: setup, head: "t1", taskIds });
            codes.push("resolved");
          } catch (e) {
            codes.push(e.code);
          }
        }
        return { byId: byId.map((r) => r.logits), byName: byName.map((r) => r.logits), codes };
      }, [params.texts, g.task_ids.slice(0, 11)]);
      out.byId.forEach((l, i) => assert.ok(maxAbsDiff(l, g.logits[i]) <= 1e-4, `text ${i}: ${maxAbsDiff(l, g.logits[i])}`));
      assert.deepEqual(out.byName, out.byId);
      assert.deepEqual(out.codes, ["invalid_argument", "invalid_argument", "setup", "setup"]);
    });

    if (mode === "main") {
      test("a recovered Go panic leaves the instance usable", async () => {
        const out = await b.page.evaluate(async (text) => {
          const m = window.model;
          let code;
          try {
            await m._rt.call(m._rt.api, "_panic");
          } catch (e) {
            code = e.code;
          }
          return { code, after: await m.classify(text, { adapters: "seq_bn" }) };
        }, params.texts[0]);
        assert.equal(out.code, "internal");
        assert.deepEqual(out.after[0].logits, cold.first[0].logits);
      });
    }
  });
}

// relaxedNode tells whether this Node runs relaxed SIMD with --experimental-wasm-relaxed-simd.
function relaxedNode() {
  try {
    execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", "-e", "0"], { stdio: "ignore", timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

describe(`MiniLM (${MINILM_Q8 ? "q8" : "f32"}) in Chromium`, { skip: !HAVE_MINILM && "no MiniLM (./build.sh model)" }, () => {
  let b;
  before(async () => (b = await newBrowser()));
  after(async () => b?.close());
  const texts = goldenSentences().slice(0, 5);
  // relaxed: "on" opts into the relaxed-SIMD kernel (opt-in: the last test loads without it)
  const params = { base: "/minilm/", index: "/minilm-adapters/index.json", setup: "sentiment", texts, relaxed: "on" };
  let cold;
  // the CLI's arguments for the recipe that ran: --relaxed-simd is its plain-Go twin of the 7-bit one
  const recipe = () => (cold?.relaxedSimd ? ["--relaxed-simd"] : []);

  test("cold load: sentiment labels match the Go CLI", async () => {
    cold = await load(b, params);
    report(`MiniLM ${MINILM_Q8 ? "q8" : "f32"} + sentiment, cold`, cold, "/minilm/");
    assert.ok(cold.bytes("/minilm/") > 20_000_000);
    // Chromium has relaxed SIMD: q8 products take the relaxed-SIMD kernel (7-bit activations),
    // whose answers are the CLI's with --relaxed-simd (the recipe in plain Go), bit for bit.
    assert.equal(cold.relaxedSimd, true, "Chromium has relaxed SIMD: relaxedSimd: true takes its kernel");
    assert.equal(cold.kernels, "wasm-simd+relaxed", "on relaxed-SIMD instructions");
    checkClassify(cold.first, cli(["classify", "--model", MINILM_BASE, "--adapter", join(MINILM_ADAPTERS, "sentiment"), ...recipe()], texts));
  });

  test("warm load: zero base-model and adapter bytes", async () => {
    const warm = await load(b, params);
    report(`MiniLM ${MINILM_Q8 ? "q8" : "f32"} + sentiment, warm`, warm, "/minilm/");
    assert.equal(warm.bytes("/minilm/"), 0);
    assert.equal(warm.bytes("/minilm-adapters/sentiment/"), 0);
    assert.deepEqual(warm.first, cold.first);
  });

  test("embeddings match the Go CLI", async () => {
    const got = await b.page.evaluate(async (texts) => (await window.model.embed(texts, { normalize: true })).map((a) => Array.from(a)), texts);
    checkEmbeddings(got, cli(["embed", "--model", MINILM_BASE, "--normalize", ...recipe()], texts));
    // The relaxed-SIMD kernel's answers do not depend on the engine: Node with relaxed SIMD
    // (helpers/relaxed-run.js) gives Chromium's embeddings exactly.
    if (cold?.relaxedSimd && relaxedNode()) {
      const node = JSON.parse(execFileSync(process.execPath, ["--experimental-wasm-relaxed-simd", join(import.meta.dirname, "../helpers/relaxed-run.js")], { env: { ...process.env, ADAPTERWASM_RELAXED: "on", ADAPTERS: "none", TEXTS: String(texts.length) }, maxBuffer: 1 << 28, encoding: "utf8", timeout: 300_000 }).trim().split("\n").at(-1));
      assert.equal(node.relaxedSimd, true);
      assert.deepEqual(got, node.embed.map((e) => Object.values(e)), "Chromium and Node, both relaxed SIMD: the same embeddings of the same batch");
    }
    // Nor does it depend on whether the engine has relaxed SIMD: Node running the recipe on the
    // plain-SIMD qgemm_u7 (ADAPTERWASM_RELAXED=plain, no flag) gives them exactly too.
    if (cold?.relaxedSimd) {
      const twin = JSON.parse(execFileSync(process.execPath, [join(import.meta.dirname, "../helpers/relaxed-run.js")], { env: { ...process.env, ADAPTERWASM_RELAXED: "plain", ADAPTERS: "none", TEXTS: String(texts.length) }, maxBuffer: 1 << 28, encoding: "utf8", timeout: 300_000 }).trim().split("\n").at(-1));
      assert.deepEqual([twin.relaxedSimd, twin.kernels], [true, "wasm-simd+u7"]);
      assert.deepEqual(got, twin.embed.map((e) => Object.values(e)), "Chromium on relaxed SIMD and Node on qgemm_u7: the same embeddings");
    }
  });

  test("the relaxed recipe on plain SIMD in Chromium (qgemm_u7, what an engine without relaxed SIMD runs): the relaxed kernel's answers", { skip: MINILM_DTYPE !== "q8" && "the f32 base has no Q8 products" }, async () => {
    const twin = await load(b, { ...params, relaxed: "plain" });
    assert.deepEqual([twin.relaxedSimd, twin.kernels], [true, "wasm-simd+u7"]);
    assert.deepEqual(twin.first, cold.first, "qgemm_u7 in Chromium: qgemm_r7's labels and scores, bit for bit");
  });

  test("by default the plain SIMD kernel, even where the engine has relaxed SIMD: the CLI's answers bit for bit", async () => {
    const plain = await load(b, { ...params, relaxed: undefined });
    assert.deepEqual([plain.relaxedSimd, plain.kernels], [false, "wasm-simd"], "relaxed SIMD is opt-in");
    assert.equal(plain.simd, true);
    checkClassify(plain.first, cli(["classify", "--model", MINILM_BASE, "--adapter", join(MINILM_ADAPTERS, "sentiment")], texts));
  });
});
