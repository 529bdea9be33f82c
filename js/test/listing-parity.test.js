// node --test: js/src/listing.js reads the hub's listings as the Go package hub does (hub/list.go
// parseModels, parseAllJSON, nextLink): the JS package cannot call those (they live in the Wasm
// module, and listAdapters must never wait for it, nor make a load wait), so each is held to what
// Go makes of the same inputs, testdata/hub/listing/parity.json (written and kept current by
// `go test ./hub -run TestListingParity`): the same entries, fields and refusals. No build needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { ROOT } from "./helpers/fixtures.js";

const { parseModels, parseAllJSON, nextLink } = await import("../src/listing.js");
const { AdapterwasmError } = await import("../src/errors.js");

// goShape is an entry as hub.AdapterInfo marshals it: Go's JSON names, empty fields left out.
const NAMES = { modelName: "model_name", sha1Checksum: "sha1_checksum", pipelineTag: "pipeline_tag", adapterConfig: "adapter_config" };
function goShape(e) {
  const out = {};
  for (const [k, v] of Object.entries(e)) if (v !== "" && v !== undefined) out[NAMES[k] ?? k] = v;
  return out;
}

test("parseModels, parseAllJSON and nextLink give what hub/list.go gives on the same inputs", () => {
  const { cases } = JSON.parse(readFileSync(join(ROOT, "testdata", "hub", "listing", "parity.json"), "utf8"));
  assert.ok(cases.length >= 20, `${cases.length} cases`);
  for (const c of cases) {
    const what = `${c.kind} ${c.body ?? c.link}`.slice(0, 120);
    if (c.kind === "link") {
      assert.equal(nextLink(c.link, c.cur) ?? "", c.next ?? "", what);
      continue;
    }
    const parse = c.kind === "models" ? parseModels : parseAllJSON;
    const body = JSON.parse(c.body);
    if (c.error) {
      assert.throws(() => parse(body), (e) => e instanceof AdapterwasmError && e.code === "format", what);
      continue;
    }
    assert.deepEqual(parse(body).map(goShape), c.want ?? [], what);
  }
});
