// AdapterwasmError is every error this package throws or rejects with. `code` says what kind:
// the Go module's codes (wasm/engine/errors.go: invalid_argument, format, unsupported,
// missing_file, not_found, setup, closed, internal) and the package's own:
//   network    a download failed (HTTP status, connection, cut short)
//   integrity  bytes did not match the sha256 or size the manifest/index promised
//   aborted    the caller's AbortSignal (options.signal) aborted the load
//   exited     the Go instance ended (a fatal runtime error); a new model starts a new one
export class AdapterwasmError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "AdapterwasmError";
    this.code = code;
  }
}

// fromGo turns an Error rejected by the Go module (name "AdapterwasmError", a code) into an
// AdapterwasmError, so callers can use instanceof.
export function fromGo(e) {
  if (e instanceof AdapterwasmError) return e;
  if (e && e.name === "AdapterwasmError") {
    const err = new AdapterwasmError(e.code, e.message);
    if (e.goStack) err.goStack = e.goStack;
    return err;
  }
  return e;
}

// toPlain / fromPlain carry an error across postMessage, which drops custom properties.
export function toPlain(e) {
  return { name: e?.name ?? "Error", code: e?.code, message: String(e?.message ?? e) };
}

export function fromPlain(p) {
  if (p.name === "AdapterwasmError") return new AdapterwasmError(p.code, p.message);
  const e = new Error(p.message);
  e.name = p.name;
  return e;
}
