// train-run.js: run by train.test.js in a child Node with ADAPTERWASM_KERNELS=off (the plain-Go
// kernels, as a host without the SIMD kernel module): trains the toy adapter on the tiny model
// exactly as the test does and prints one JSON line with the kernels and the saved files (base64).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "./server.js";
import { TINY } from "./fixtures.js";

if (process.env.ADAPTERWASM_KERNELS === "off") globalThis.ADAPTERWASM_KERNELS = "off"; // read by src/runtime.js
const { AutoModelWithHeads, MemoryStore } = await import("../../src/node.js");
const srv = await startServer({ mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true } } });
const { examples, options } = JSON.parse(readFileSync(0, "utf8"));
const model = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: new MemoryStore() });
await model.trainAdapter("toy", examples, options);
const files = await model.saveAdapter("toy");
console.log(JSON.stringify({ kernels: model.kernels, files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("base64")])) }));
model.dispose();
await srv.close();
