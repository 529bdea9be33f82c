// Node only: local paths and file: URLs where the package takes URLs. A path that exists here is
// a directory or file URL (never a hub id), and file: URLs are read from disk by the default
// fetch, with the file's size as Content-Length (checked against the bounds before reading).
// Local files are not copied into the cache (fetch.js).
import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setDefaultFetch } from "./fetch.js";
import { setLocalPathCheck } from "./hub.js";
import { setLocalPathUrl } from "./registry.js";

setLocalPathCheck((p) => existsSync(p));
setLocalPathUrl((p) => (existsSync(p) ? pathToFileURL(resolve(p)) : null));
setDefaultFetch(async (url, init) => {
  if (!String(url).startsWith("file:")) return globalThis.fetch(url, init);
  const path = fileURLToPath(url);
  let st;
  try {
    st = await stat(path);
  } catch {
    st = null;
  }
  if (!st?.isFile()) return new Response("not found", { status: 404 });
  // Last-Modified and the size tell a changed file (convert.js keys a converted base by them).
  const headers = { "content-length": String(st.size), "last-modified": st.mtime.toUTCString() };
  if (init?.method === "HEAD") return new Response(null, { headers });
  const body = Readable.toWeb(createReadStream(path, { signal: init?.signal }));
  return new Response(body, { headers });
});
