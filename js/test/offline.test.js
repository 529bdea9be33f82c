// node --test: offline after the first load, for URLs as for hub ids. manifest.json, index.json and
// hub listings are kept in the cache (FsStore) with the files; with the servers stopped, a new
// process on the same cache directory loads the same base (with a manifest, or plain Hugging Face
// files) and adapter (by index name) and lists the same adapters. Build first: ./build.sh wasm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { startHub } from "./helpers/hub.js";
import { startServer } from "./helpers/server.js";
import { requireBuild, TINY } from "./helpers/fixtures.js";

requireBuild();

// indexFor lists adapter directories with their files' sizes and sha256, as `adapterwasm index` does.
function indexFor(dir, names) {
  return {
    adapters: names.map((name) => ({
      name,
      files: readdirSync(join(dir, name)).map((f) => {
        const b = readFileSync(join(dir, name, f));
        return { name: f, size: b.length, sha256: createHash("sha256").update(b).digest("hex") };
      }),
    })),
  };
}

let srv, hub;
const cache = mkdtempSync(join(tmpdir(), "adapterwasm-offline-"));
before(async () => {
  srv = await startServer({
    mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true }, "/hf/": { dir: join(TINY, "model") }, "/adapters/": { dir: join(TINY, "adapters") } },
    pages: { "/adapters/index.json": { body: indexFor(join(TINY, "adapters"), ["seq_bn", "lora_qv"]) } },
  });
  hub = await startHub();
  for (const id of ["org/a", "org/b", "org/c"]) {
    hub.addFiles(id, { "adapter_config.json": Buffer.from("{}") });
    hub.repos.get(id).info = { tags: ["adapters"], config: { adapters: { model_name: "bert-base-uncased" } } };
  }
  hub.ahList = [{ adapter_id: "sentiment/sst-2@ukp", model_name: "bert-base-uncased", adapter_config: { architecture: "lora" } }];
});
after(async () => {
  await srv?.close();
  await hub?.close();
  rmSync(cache, { recursive: true, force: true });
});

// inChild loads and lists in a new process (nothing in memory) with the cache directory.
const SCRIPT = `
const [cache, srv, endpoint, ah] = JSON.parse(process.argv[1]);
const { AutoModelWithHeads, listAdapters } = await import(${JSON.stringify(new URL("../src/node.js", import.meta.url).href)});
const out = {};
const run = async (k, f) => { try { out[k] = await f(); } catch (e) { out[k] = { error: e.code, message: e.message }; } };
for (const base of ["/tiny/", "/hf/"]) {
  await run(base, async () => {
    const m = await AutoModelWithHeads.fromPretrained(srv + base, { cache, index: srv + "/adapters/index.json" });
    const r = await m.classify(["I love this movie", "awful"], { adapters: await m.loadAdapter("seq_bn") });
    const fetched = m.stats.bytesFetched;
    m.dispose();
    return { r, fetched };
  });
}
await run("list", async () => (await listAdapters({ source: "all", index: srv + "/adapters/index.json", endpoint, adapterHubUrl: ah, cache })).map((a) => a.source + ":" + (a.id ?? a.name)));
console.log(JSON.stringify(out));
`;
const inChild = async () => JSON.parse((await promisify(execFile)(process.execPath, ["--input-type=module", "-e", SCRIPT, JSON.stringify([cache, srv.url, hub.endpoint, hub.ahURL])], { timeout: 180_000 })).stdout);

test("with the servers stopped, a new process loads what loaded before (manifest, plain files, index) and lists what was listed", async () => {
  const online = await inChild();
  for (const k of ["/tiny/", "/hf/"]) assert.ok(Array.isArray(online[k].r), JSON.stringify(online[k]));
  assert.deepEqual(online.list, ["index:seq_bn", "index:lora_qv", "ah:sentiment/sst-2@ukp", "hf:org/a", "hf:org/b", "hf:org/c"]);
  await srv.close();
  await hub.close();
  const offline = await inChild();
  for (const k of ["/tiny/", "/hf/"]) {
    assert.deepEqual(offline[k].r, online[k].r, `${k}: ${JSON.stringify(offline[k])}`);
    assert.equal(offline[k].fetched, 0);
  }
  assert.deepEqual(offline.list, online.list, "listed from the cache, every page");
});
