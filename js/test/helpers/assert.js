// Small helpers shared by the Node tests: typed-error checks and temporary directories.
import assert from "node:assert/strict";
import { tempDir } from "./fixtures.js";

// isErrOf returns isErr(code, re): a predicate for assert.rejects that wants an ErrorClass
// (AdapterwasmError) with that code and a message matching re.
export const isErrOf = (ErrorClass) => (code, re) => (e) => {
  assert.ok(e instanceof ErrorClass, `not an ${ErrorClass.name}: ${e}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

// tempDirs returns tmp(prefix?): a new temporary directory, removed when the test file's process
// exits (fixtures.js tempDir).
export function tempDirs(defaultPrefix) {
  return (p = defaultPrefix) => tempDir(p);
}
