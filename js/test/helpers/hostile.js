// Hostile fixtures shared by the Node and Chromium tests (issue 10): adapter directories that
// must be refused, and a server whose bodies never end.
import { createServer } from "node:http";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { tempDir, TINY } from "./fixtures.js";

// hostileDir writes adapter directories that must be refused: copies of adapters_st/seq_bn with
// one file broken.
export function hostileDir() {
  const root = tempDir("adapterwasm-hostile-");
  const src = join(TINY, "adapters_st/seq_bn");
  const variant = (name, edit) => {
    const d = join(root, name);
    mkdirSync(d);
    cpSync(src, d, { recursive: true });
    edit(d);
  };
  // A NaN in the first float of the first tensor of adapter.safetensors.
  variant("nan", (d) => {
    const b = readFileSync(join(d, "adapter.safetensors"));
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + n).toString());
    const first = Object.entries(header).find(([k, v]) => k !== "__metadata__" && v.dtype === "F32" && v.data_offsets[1] > v.data_offsets[0]);
    b.writeFloatLE(NaN, 8 + n + first[1].data_offsets[0]);
    writeFileSync(join(d, "adapter.safetensors"), b);
  });
  variant("deep", (d) => writeFileSync(join(d, "adapter_config.json"), "[".repeat(1e6) + "]".repeat(1e6)));
  variant("cut", (d) => {
    const b = readFileSync(join(d, "adapter.safetensors"));
    writeFileSync(join(d, "adapter.safetensors"), b.subarray(0, b.length >> 1));
  });
  variant("bits", (d) => {
    const b = readFileSync(join(d, "adapter.safetensors"));
    for (let i = 0; i < 64; i++) b[8 + ((i * 7919) % 200)] ^= 1 << (i % 8); // inside the JSON header
    writeFileSync(join(d, "adapter.safetensors"), b);
  });
  variant("other-model", (d) => {
    const c = JSON.parse(readFileSync(join(d, "adapter_config.json")));
    c.hidden_size = 768;
    writeFileSync(join(d, "adapter_config.json"), JSON.stringify(c));
  });
  return root;
}

// An endless body: chunks of 64 KiB until the client goes away; counts what it sent.
export async function endlessServer() {
  const sent = { bytes: 0, closed: false };
  const chunk = Buffer.alloc(64 << 10, 7);
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "access-control-allow-origin": "*" });
    const pump = () => {
      while (!res.destroyed && sent.bytes < 1 << 30) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
    };
    res.on("close", () => (sent.closed = true));
    pump();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, sent, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

// HOSTILE_CASES: each directory of hostileDir() and what its error message must say (code format).
export const HOSTILE_CASES = [
  ["nan", "adapter\\.safetensors: tensor .* holds NaN"],
  ["deep", "adapter_config\\.json: JSON nests deeper than 64 levels"],
  ["cut", "adapter\\.safetensors"],
  ["bits", "adapter\\.safetensors"],
  ["other-model", "adapter_config\\.json: hidden_size is 768 but the base model has 32"],
];
