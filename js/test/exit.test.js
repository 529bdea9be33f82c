// node --test: when the Go program ends (a fatal runtime error such as running out of memory
// cannot be recovered), calls in flight and later calls reject with code "exited" instead of
// hanging, and the next fromPretrained starts a fresh instance. Its own file: it ends the
// process's shared instance.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import { startServer } from "./helpers/server.js";
import { requireBuild, TINY } from "./helpers/fixtures.js";

requireBuild();
const { AutoModelWithHeads, AdapterwasmError } = await import("../src/node.js");

let srv;
before(async () => (srv = await startServer({ mounts: { "/tiny/": { dir: join(TINY, "model"), manifest: true } } })));
after(() => srv.close());

test("an ended Go instance fails calls cleanly and a new model starts a new one", async () => {
  const m1 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false });
  const [before] = await m1.embed("I love this movie");
  const exited = (e) => e instanceof AdapterwasmError && e.code === "exited";
  await assert.rejects(m1._rt.call(m1._rt.api, "_exit"), exited);
  await assert.rejects(m1.embed("I love this movie"), exited);
  m1.dispose(); // no throw
  const m2 = await AutoModelWithHeads.fromPretrained(`${srv.url}/tiny/`, { cache: false });
  assert.notEqual(m2._rt, m1._rt);
  const [again] = await m2.embed("I love this movie");
  assert.deepEqual(again, before);
  m2.dispose();
});
