// Progress of a load (a base model with the Wasm runtime, or an adapter), as events shaped like
// Transformers.js's progress_callback ones, so that code written for it needs no change:
//
//   { status: "initiate", name, file, url, loaded: 0, total, fromCache: false }  a file is about to be read
//   { status: "download", name, file, url, loaded: 0, total, fromCache: false }  its download starts (not for a cache hit)
//   { status: "progress", name, file, url, loaded, total, progress, fromCache }   per chunk; once for a cache hit
//   { status: "done",     name, file, url, loaded, total, progress, fromCache }   the file is read and verified
//   { status: "progress_total", name, loaded, total, progress, files }          after each progress and done: sums over the load
//   { status: "converting", name, file, dtype, sourceBytes }                     a Hugging Face base's weights (file) are being converted in the Wasm module (first load only)
//   { status: "converted", name, file, dtype, sourceBytes, bytes, ms }           done: the single file of bytes, kept in the cache for the next load
//   { status: "ready", name, kind }                                             the model ("model") or adapter ("adapter") is loaded
//
// name is the base model's directory URL or the adapter's name (for a directory, its URL until
// its config is read: "ready" has the name); total is undefined while no one has said (a server
// without Content-Length); progress is a percentage. File events carry url, loaded and total
// always, so listeners that only sum those keep working (the demo page's).
export class LoadProgress {
  constructor(name, kind, onProgress) {
    this.name = name;
    this.kind = kind;
    this.emit = onProgress ?? null;
    this.files = new Map(); // url -> { loaded, total }
  }

  // file announces a file (initiate) and returns its reporter: onChunk is fetchFile's onProgress,
  // done(bytes) reports it read.
  file(url, total) {
    let file = url;
    try {
      file = decodeURIComponent(new URL(url, globalThis.location?.href).pathname.split("/").pop());
    } catch {}
    const st = { loaded: 0, total };
    this.files.set(url, st);
    let downloading = false;
    let fromCache = false;
    const send = (status) => {
      if (!this.emit) return;
      const ev = { status, name: this.name, file, url, loaded: st.loaded, total: st.total, fromCache };
      if (status === "progress" || status === "done") ev.progress = percent(st.loaded, st.total);
      this.emit(ev);
      if (status !== "initiate" && status !== "download") this._total();
    };
    send("initiate");
    return {
      onChunk: (p) => {
        fromCache = !!p.fromCache;
        if (!fromCache && !downloading) {
          downloading = true;
          send("download");
        }
        st.loaded = p.loaded;
        if (p.total !== undefined) st.total = p.total;
        send("progress");
      },
      done: (bytes) => {
        st.loaded = typeof bytes === "number" ? bytes : (bytes?.byteLength ?? 0);
        st.total ??= st.loaded;
        send("done");
      },
    };
  }

  _total() {
    let loaded = 0;
    let total = 0;
    for (const f of this.files.values()) {
      loaded += f.loaded;
      total = total === undefined || f.total === undefined ? undefined : total + f.total;
    }
    this.emit({ status: "progress_total", name: this.name, loaded, total, progress: percent(loaded, total), files: this.files.size });
  }

  converting(info) {
    this.emit?.({ status: "converting", name: this.name, ...info });
  }

  converted(info) {
    this.emit?.({ status: "converted", name: this.name, ...info });
  }

  ready() {
    this.emit?.({ status: "ready", name: this.name, kind: this.kind });
  }
}

function percent(loaded, total) {
  if (total === undefined) return undefined;
  return total === 0 ? 100 : (100 * loaded) / total;
}

// countBody wraps a Response so that reading its body reports progress through onChunk (a
// LoadProgress file's), keeping it a Response for WebAssembly.instantiateStreaming. bytes()
// tells how many were read.
export function countBody(res, onChunk) {
  if (!res.body || typeof TransformStream === "undefined") return { res, bytes: () => 0 };
  const encoded = !!res.headers.get("content-encoding");
  const declared = encoded ? undefined : Number(res.headers.get("content-length") || NaN);
  const total = Number.isFinite(declared) ? declared : undefined;
  let loaded = 0;
  const counted = res.body.pipeThrough(
    new TransformStream({
      transform(chunk, ctl) {
        loaded += chunk.byteLength;
        onChunk({ loaded, total, fromCache: false });
        ctl.enqueue(chunk);
      },
    }),
  );
  return { res: new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers }), bytes: () => loaded };
}
