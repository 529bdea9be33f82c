// The package as its users get it: `npm pack` of js/, installed with npm into a throwaway project
// (not the source tree), then used from Node (ESM, require, an esbuild bundle), type-checked with
// TypeScript, and bundled for the browser with Vite, esbuild and webpack, each bundle run in
// headless Chromium. The apps are in app/; the tools are this folder's devDependencies (npm ci
// from package-lock.json; ./build.sh test installs them).
//
// Needs ./build.sh wasm (js/dist), Chromium at /usr/bin/chromium and npm ci in js/ and here.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { checkClassify, cli, cliRun, HAVE_MINILM, indexOf, MINILM, MINILM_ADAPTERS, MINILM_Q8, requireBuild, ROOT, TINY, tinyIndex } from "../helpers/fixtures.js";
import { startServer } from "../helpers/server.js";

requireBuild();
const here = fileURLToPath(new URL(".", import.meta.url));
const JS = join(ROOT, "js");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SENTENCE = "I love this movie";
const STATUSES = ["done", "download", "initiate", "progress", "progress_total", "ready"]; // sorted
const tool = (p) => join(here, "node_modules", p);

const tmp = mkdtempSync(join(tmpdir(), "adapterwasm-packaging-"));
const app = join(tmp, "app");
let tarball;
let srv;
let want; // the CLI's answer on SENTENCE with seq_bn on the tiny model

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: app, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 600_000, ...opts });
// node runs a script of the app and parses its last line; asynchronously, since the test server
// answering it runs in this process.
const node = async (args, opts = {}) => {
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: app, encoding: "utf8", timeout: 120_000, ...opts });
  return JSON.parse(stdout.trim().split("\n").pop());
};

before(async () => {
  // npm pack runs prepack (the dist/ guard); the tarball goes into a project of its own.
  tarball = join(tmp, run("npm", ["pack", "--silent", "--pack-destination", tmp], { cwd: JS }).trim().split("\n").pop());
  mkdirSync(app);
  cpSync(join(here, "app"), app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "packaging-app", private: true, type: "module" }));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball]);
  symlinkSync(tool("@types"), join(app, "node_modules", "@types")); // for tsc's Node project
  want = cli(["classify", "--model", join(TINY, "model"), "--adapter", join(TINY, "adapters/seq_bn")], [SENTENCE]);
  srv = await startServer({
    mounts: {
      "/tiny/": { dir: join(TINY, "model"), manifest: true },
      "/adapters/": { dir: join(TINY, "adapters") },
      "/vite/": { dir: join(app, "out-vite") },
      "/esbuild/": { dir: join(app, "out-esbuild") },
      "/webpack/": { dir: join(app, "out-webpack") },
      ...(MINILM_Q8 ? { "/minilm/": { dir: MINILM_Q8 }, "/minilm-adapters/": { dir: MINILM_ADAPTERS } } : {}),
    },
    pages: {
      "/adapters/index.json": { body: tinyIndex() },
      ...(MINILM_Q8 ? { "/minilm-adapters/index.json": { body: indexOf(MINILM_ADAPTERS) } } : {}),
      "/esbuild/index.html": '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>',
      "/webpack/index.html": '<!doctype html><meta charset="utf-8"><script src="./main.js"></script>',
    },
  });
});

after(async () => {
  await srv?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  test("holds the built files, the licenses and the metadata; nothing else", () => {
    const files = run("tar", ["-tzf", tarball]).trim().split("\n").map((f) => f.replace(/^package\//, "")).sort();
    for (const f of ["LICENSE", "README.md", "package.json", "index.d.ts", "node.d.ts", "worker.d.ts", "dist/adapterwasm.wasm", "dist/kernels.js", "dist/kernels.wasm", "dist/kernels_relaxed.js", "dist/kernels_relaxed.wasm", "dist/wasm_exec.js", "dist/wasm_exec.LICENSE", "src/node.js", "src/workerd.js", "src/pipeline.js"]) {
      assert.ok(files.includes(f), `${f} not packed: ${files}`);
    }
    assert.deepEqual(files.filter((f) => !/^(src\/[\w-]+\.js|bin\/adapterwasm\.js$|dist\/|[\w.]+\.d\.ts$|LICENSE$|README\.md$|package\.json$)/.test(f)), []);
    const pkg = JSON.parse(readFileSync(join(app, "node_modules/adapterwasm/package.json"), "utf8"));
    assert.match(readFileSync(join(app, "node_modules/adapterwasm/LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
    assert.equal(pkg.license, "Apache-2.0");
    assert.ok(pkg.repository?.url && pkg.homepage && pkg.bugs?.url, "repository, homepage, bugs");
    for (const f of pkg.sideEffects) assert.ok(existsSync(join(app, "node_modules/adapterwasm", f)), `sideEffects names ${f}`);
  });

  test("npm pack refuses a package without its built files", () => {
    const bare = join(tmp, "bare");
    mkdirSync(bare);
    for (const f of ["package.json", "prepack.mjs", "README.md", "index.d.ts", "src", "bin"]) cpSync(join(JS, f), join(bare, f), { recursive: true });
    const r = spawnSync("npm", ["pack", "--dry-run"], { cwd: bare, encoding: "utf8", timeout: 120_000 });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /missing dist\/adapterwasm\.wasm.*run \.\/build\.sh wasm/);
  });
});

describe("Node", () => {
  const base = () => `${srv.url}/tiny/`;
  const index = () => `${srv.url}/adapters/index.json`;

  test("ESM: install, then the first classification (in process, in a worker thread, in a pool of two, by pipeline) equals the CLI's; no globals", async () => {
    const out = await node(["node-app.mjs", base(), index(), "seq_bn", join(tmp, "cache-esm")]);
    checkClassify([out.result, out.inWorker, ...out.inPool], [want[0], want[0], want[0], want[0]], "node");
    assert.deepEqual(out.top, [{ label: want[0].label, score: out.result.score }]);
    assert.deepEqual(out.dims, [2, 32]);
    assert.deepEqual(out.statuses.sort(), STATUSES);
    assert.equal(out.fsStore, "function");
    assert.equal(out.setup, true, "AdapterSetup is exported by adapterwasm/worker");
    assert.deepEqual(out.globals, [], "wasm_exec.js left globals behind");
  });

  test("the real model: config.name is what the adapters' model_name says, so listAdapters({modelName}) finds them", { skip: !MINILM_Q8 && "no q8 MiniLM (./build.sh test makes it)" }, async () => {
    const out = await node(["node-app.mjs", `${srv.url}/minilm/`, `${srv.url}/minilm-adapters/index.json`, "sentiment", join(tmp, "cache-minilm")]);
    assert.equal(out.name, "sentence-transformers/all-MiniLM-L6-v2");
    assert.deepEqual(out.listed.sort(), readdirSync(MINILM_ADAPTERS).sort());
    assert.equal(out.result.label, "positive");
  });

  test("npx adapterwasm convert and index (the package's Wasm in Node, no Go): the Go CLI's files byte for byte and its JSON line", { skip: !HAVE_MINILM && "no MiniLM (./build.sh test fetches it)" }, async () => {
    const goOut = join(tmp, "convert-go");
    const npxOut = join(tmp, "convert-npx");
    const args = (out) => ["convert", "--in", MINILM, "--out", out, "--name", "sentence-transformers/all-MiniLM-L6-v2"];
    const goLine = JSON.parse(cliRun(args(goOut)));
    const { stdout } = await promisify(execFile)("npx", ["--no-install", "adapterwasm", ...args(npxOut)], { cwd: app, encoding: "utf8", timeout: 300_000 });
    const npxLine = JSON.parse(stdout.trim());
    for (const f of ["adapterwasm.safetensors", "manifest.json"]) assert.ok(readFileSync(join(npxOut, f)).equals(readFileSync(join(goOut, f))), `${f} differs from the Go CLI's`);
    assert.deepEqual({ ...npxLine, file: undefined }, { ...goLine, file: undefined });
    assert.equal(Object.keys(npxLine).join(), Object.keys(goLine).join());
    for (const dir of [MINILM_ADAPTERS, join(TINY, "adapters")]) {
      const { stdout: idx } = await promisify(execFile)("npx", ["--no-install", "adapterwasm", "index", "--out", "-", dir], { cwd: app, encoding: "utf8", timeout: 120_000 });
      assert.equal(idx, cliRun(["index", "--out", "-", dir], { cwd: app }));
    }
    const bad = spawnSync("npx", ["--no-install", "adapterwasm", "convert", "--in", MINILM], { cwd: app, encoding: "utf8", timeout: 120_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--in and --out are required/);
  });

  test("require() of the package works (Node >= 20.19, the engines floor)", async () => {
    assert.deepEqual(await node(["node-require.cjs"]), { model: "function", error: "network" });
  });

  test("esbuild --platform=node: the bundle keeps the Node entry's setup (file cache, Wasm from disk); without the module it says what to pass", async () => {
    const esbuild = await import(tool("esbuild/lib/main.js"));
    await esbuild.build({ absWorkingDir: app, entryPoints: ["node-bundle.mjs"], bundle: true, platform: "node", format: "esm", outdir: "out-node", loader: { ".wasm": "file" }, logLevel: "error" });
    const env = { ...process.env, ADAPTERWASM_CACHE_DIR: join(tmp, "cache-bundle") };
    const first = await node(["out-node/node-bundle.js", base(), index(), "seq_bn"], { env });
    assert.ok(!first.error, JSON.stringify(first.error));
    checkClassify([first.result], want, "bundle");
    const second = await node(["out-node/node-bundle.js", base(), index(), "seq_bn"], { env });
    assert.equal(second.stats.bytesFetched, 0, "the second run read the file cache");
    assert.equal(second.stats.bytesFromCache, first.stats.bytesFetched);
    const bare = await node(["out-node/node-bundle.js", base(), index(), "seq_bn", "forget"], { env });
    assert.equal(bare.error?.code, "missing_file", JSON.stringify(bare));
    assert.match(bare.error.message, /adapterwasm\.wasm: no such file.*options\.wasm/);
  });

  test("TypeScript: a Node-only project and a browser one type-check with skipLibCheck false", () => {
    const tsc = tool("typescript/bin/tsc");
    for (const p of ["tsconfig.node.json", "tsconfig.dom.json"]) {
      const r = spawnSync(process.execPath, [tsc, "-p", p], { cwd: app, encoding: "utf8", timeout: 300_000 });
      assert.equal(r.status, 0, `${p}:\n${r.stdout}${r.stderr}`);
    }
  });
});

describe("bundled for the browser, run in Chromium", () => {
  let browser;
  before(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const esbuild = await import(tool("esbuild/lib/main.js"));
    const vite = await import(tool("vite/dist/node/index.js"));
    const webpack = (await import(tool("webpack/lib/index.js"))).default;
    await vite.build({ root: app, base: "./", logLevel: "error", build: { outDir: "out-vite", emptyOutDir: true } });
    await esbuild.build({
      absWorkingDir: app,
      entryPoints: { main: "main-esbuild.js", "adapterwasm-worker": "adapterwasm/worker-script" },
      bundle: true,
      format: "esm",
      outdir: "out-esbuild",
      loader: { ".wasm": "file" },
      logLevel: "error",
    });
    await new Promise((resolve, reject) =>
      webpack({ mode: "production", context: app, entry: "./main.js", output: { path: join(app, "out-webpack"), filename: "main.js" } }, (err, stats) =>
        err || stats.hasErrors() ? reject(err ?? new Error(stats.toString("errors-only"))) : resolve(),
      ),
    );
  });
  after(() => browser?.close());

  async function open(path) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const logs = [];
    page.on("console", (m) => logs.push(m.text()));
    try {
      await page.goto(`${srv.url}${path}`);
      await page.waitForFunction(() => window.__done, null, { timeout: 60_000 });
      return await page.evaluate(() => window.__done);
    } catch (e) {
      throw new Error(`${path}: ${e.message}\n${logs.join("\n")}`);
    } finally {
      await ctx.close();
    }
  }

  function checkPage(out, what) {
    assert.ok(out.ok, `${what}: ${out.code} ${out.message}`);
    checkClassify([out.main, out.inWorker], [want[0], want[0]], what);
    assert.equal(out.simd, true, `${what}: the SIMD kernels (dist/kernels.js) did not load`);
    assert.deepEqual(out.statuses.sort(), STATUSES, what);
    assert.deepEqual(out.globals, [], `${what}: wasm_exec.js left globals on the page`);
  }

  test("Vite (vite build, no configuration): page and Web Worker classify as the CLI", async () => {
    checkPage(await open("/vite/index.html"), "vite");
  });

  test("webpack 5 (no configuration beyond entry and output): page and Web Worker classify as the CLI", async () => {
    checkPage(await open("/webpack/index.html"), "webpack");
  });

  test("esbuild with the README's recipe: page and Web Worker classify as the CLI", async () => {
    checkPage(await open("/esbuild/index.html"), "esbuild");
  });

  test("esbuild without the recipe: the errors say what to pass (wasm, worker) and where the file was looked for", async () => {
    const noWasm = await open("/esbuild/index.html?forget=wasm");
    assert.equal(noWasm.code, "missing_file", JSON.stringify(noWasm));
    assert.match(noWasm.message, /\/dist\/adapterwasm\.wasm: HTTP 404.*options\.wasm/);
    const noWorker = await open("/esbuild/index.html?forget=worker");
    assert.equal(noWorker.code, "exited", JSON.stringify(noWorker));
    assert.match(noWorker.message, /worker script http:\/\/127\.0\.0\.1:\d+\/esbuild\/worker\.js did not load.*options\.worker/);
  });
});
