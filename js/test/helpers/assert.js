// Small helpers shared by the Node tests: typed-error checks and temporary directories.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

// isErrOf returns isErr(code, re): a predicate for assert.rejects that wants an ErrorClass
// (AdapterwasmError) with that code and a message matching re.
export const isErrOf = (ErrorClass) => (code, re) => (e) => {
  assert.ok(e instanceof ErrorClass, `not an ${ErrorClass.name}: ${e}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

// tempDirs returns tmp(prefix?): a new temporary directory, removed after the test file.
export function tempDirs(defaultPrefix) {
  const dirs = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return (p = defaultPrefix) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
}
