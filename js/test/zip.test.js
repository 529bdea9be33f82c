// node --test: zipFiles (src/zip.js), the store-only zip writer the demo's "Download zip" uses.
// Read back by Python's zipfile (an independent reader, with its CRC check) and checked against
// Node's zlib.crc32.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";

import { AdapterwasmError, crc32, zipFiles } from "../src/index.js";
import { tempDir } from "./helpers/fixtures.js";

test("crc32 is zlib's", () => {
  const big = new Uint8Array(100_003).map((_, i) => (i * 2654435761) >>> 24);
  for (const b of [new Uint8Array(0), new TextEncoder().encode("123456789"), big]) assert.equal(crc32(b), zlibCrc32(b));
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926); // the CRC-32 check value
});

test("zipFiles: Python's zipfile reads every file back, CRCs checked; same files, same bytes", () => {
  const bin = new Uint8Array(70_000).map((_, i) => (i * 7919) & 0xff);
  const files = { "adapter_config.json": '{"x": "é"}', "pytorch_adapter.bin": bin, "ünï 名.txt": new Uint8Array(0), "sub/dir.bin": bin.subarray(5, 10) };
  const zip = zipFiles(files, { folder: "mine" });
  assert.deepEqual(zipFiles(files, { folder: "mine" }), zip);
  const dir = tempDir("adapterwasm-zip-");
  writeFileSync(join(dir, "a.zip"), zip);
  const py = `import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: [i.compress_type, list(z.read(i))[:8], i.file_size, i.date_time[:3]] for i in z.infolist()}))`;
  const got = JSON.parse(execFileSync("python3", ["-c", py, join(dir, "a.zip")], { timeout: 60_000 }).toString());
  assert.deepEqual(Object.keys(got), ["mine/adapter_config.json", "mine/pytorch_adapter.bin", "mine/ünï 名.txt", "mine/sub/dir.bin"]);
  for (const [name, data] of Object.entries(files)) {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    assert.deepEqual(got[`mine/${name}`], [0, [...bytes.subarray(0, 8)], bytes.length, [1980, 1, 1]], name);
  }
  assert.equal(zipFiles({}).length, 22); // an empty archive: the end record only
});

test("zipFiles refuses names that would escape the folder, and what is not bytes", () => {
  for (const files of [{ "../x": "a" }, { "/abs": "a" }, { "a//b": "a" }, { "a\\b": "a" }, { x: 3 }, { x: null }]) {
    assert.throws(() => zipFiles(files), (e) => e instanceof AdapterwasmError && e.code === "invalid_argument", JSON.stringify(Object.keys(files)));
  }
});
