// A Hugging Face base (config.json, tokenizer.json, model.safetensors or pytorch_model.bin) is
// converted by the Wasm module (wasm/engine Convert = `adapterwasm convert`: the same bytes) into
// adapterwasm's single file, q8 by default, on its first load; that file alone is cached, under a
// key naming the source's version and the dtype, so the next load reads it as a prepared model's
// and downloads no weights. The source is never cached.
//
//   hub id   key: {endpoint}/{id}/resolve/{commit}/adapterwasm.safetensors?adapterwasm-converted={dtype}
//            (the commit from the first file's X-Repo-Commit, as every hub load: a new commit
//            converts again)
//   URL      key: {weights URL}?adapterwasm-converted={dtype}&source={validator}, the validator
//            from a HEAD request (ETag, else Last-Modified and Content-Length): a changed file
//            converts again. The key last used is recorded for when the server cannot be reached.
import { AdapterwasmError } from "./errors.js";
import { fetchRetry, sha256Hex } from "./fetch.js";

export const DTYPES = ["q8", "f16", "f32"];
export const DEFAULT_DTYPE = "q8";
export const MODEL_FILE = "adapterwasm.safetensors";

// checkDType returns the dtype a Hugging Face base is converted to (options.dtype, default q8).
function checkDType(dtype) {
  const d = dtype ?? DEFAULT_DTYPE;
  if (!DTYPES.includes(d)) throw new AdapterwasmError("invalid_argument", `dtype ${JSON.stringify(String(d).slice(0, 40))}: want "q8", "f16" or "f32"`);
  return d;
}

// Q8_BLOCKS are the q8 blocks the converter writes (`adapterwasm convert --block`, options.q8Block).
export const Q8_BLOCKS = [32, 64, 128];

// conversionOf says how a Hugging Face base is converted, from options.dtype and options.q8Block:
// { dtype, block: the converter's --block (0: the default, 32), tag: what the cache keys name,
// the dtype, or "q8b64" / "q8b128" for those blocks (32 is plain "q8": the same bytes) }. It
// throws invalid_argument on another dtype or block, or a block with another dtype.
export function conversionOf(dtype, q8Block) {
  const d = checkDType(dtype);
  if (q8Block === undefined || q8Block === null) return { dtype: d, tag: d, block: 0 };
  if (!Q8_BLOCKS.includes(q8Block)) throw new AdapterwasmError("invalid_argument", `q8Block ${JSON.stringify(String(q8Block).slice(0, 40))}: want 32, 64 or 128`);
  if (d !== "q8") throw new AdapterwasmError("invalid_argument", `q8Block with dtype ${d}: blocks are q8's`);
  return q8Block === 32 ? { dtype: d, tag: d, block: 0 } : { dtype: d, tag: `q8b${q8Block}`, block: q8Block };
}

// hubKey is the cache key of id's base converted to tag (conversionOf) at commit.
export const hubKey = (endpoint, id, commit, tag) => `${endpoint}/${id}/resolve/${commit}/${MODEL_FILE}?adapterwasm-converted=${tag}`;

// urlKey finds the cache key of the base at directory URL base converted to dtype (a conversionOf tag): the weights
// file's validator from a HEAD request ({ key, weights: the name found }), or, when the server
// cannot be reached, the key recorded by the last load (null if none). A HEAD answered 404 for
// both names leaves weights null (the load then says which file is missing).
export async function urlKey(base, dtype, { fetch: fetchImpl, signal, store }) {
  const record = `${base}?adapterwasm-converted-last=${dtype}`;
  for (const name of ["model.safetensors", "pytorch_model.bin"]) {
    const url = new URL(name, base).href;
    let res;
    try {
      res = await fetchRetry((u, init) => fetchImpl(u, { ...init, method: "HEAD" }), url, signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      const hit = await store?.get(record).catch(() => undefined);
      const key = hit ? new TextDecoder().decode(hit.bytes) : null;
      return { key: key?.startsWith(`${base}`) ? key : null, record, weights: null, offline: true };
    }
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) continue;
    if (!res.ok) return { key: null, record, weights: name };
    const h = res.headers;
    const validator = h.get("etag") ?? `${h.get("last-modified") ?? ""}|${h.get("content-length") ?? ""}`;
    return { key: `${url}?adapterwasm-converted=${dtype}&source=${encodeURIComponent(validator)}`, record, weights: name };
  }
  return { key: null, record, weights: null };
}

// readConverted returns the cached converted file under key when its bytes still hash to the
// sha256 stored with them (as a prepared model's file is checked), else null (a bad entry is
// dropped).
export async function readConverted(store, key) {
  if (!store || !key) return null;
  let hit;
  try {
    hit = await store.get(key);
  } catch {
    return null;
  }
  if (!hit) return null;
  if (hit.sha256 && (await sha256Hex(hit.bytes)) === hit.sha256) return hit.bytes;
  await store.delete(key).catch(() => {});
  return null;
}

// convertInWasm converts files (the Hugging Face files' bytes) to dtype in the Go instance rt,
// reporting "converting" and "converted" on progress. It resolves to { file, manifest (parsed),
// sha256, ms }. opts: { name, fallback, revision, block } as `adapterwasm convert` takes them
// (block: --block, 0 for the default).
export async function convertInWasm(rt, files, dtype, opts, progress) {
  const weights = files["model.safetensors"] ? "model.safetensors" : "pytorch_model.bin";
  const sourceBytes = files[weights]?.byteLength ?? 0;
  progress.converting({ dtype, file: weights, sourceBytes });
  const t0 = Date.now();
  const out = await rt.call(rt.api, "convert", files, { dtype, name: opts.name ?? "", fallback: opts.fallback ?? "", revision: opts.revision ?? "", block: opts.block ?? 0 });
  const manifest = JSON.parse(out.manifest);
  const ms = Date.now() - t0;
  progress.converted({ dtype, file: weights, sourceBytes, bytes: out.file.byteLength, ms });
  return { file: out.file, manifest, sha256: manifest.files[0].sha256, ms };
}

// storeConverted keeps a converted file that Go has loaded (and the URL's record); a full cache
// does not fail the load.
export async function storeConverted(store, key, conv, record) {
  if (!store || !key) return;
  try {
    await store.put(key, conv.file, conv.sha256);
    if (record) await store.put(record, new TextEncoder().encode(key));
  } catch {}
}
