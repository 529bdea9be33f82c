// Listing adapters as adapters' list_adapters(source, model_name) does, with the Go package hub's
// queries and reading (hub/list.go): "ah" is AdapterHub's archived all.json, "hf" the hub's model
// API for both libraries' filters, paged by Link. Listings are kept in memory for LISTING_TTL_MS;
// when a source cannot be reached, an older copy of this realm serves. A load never waits on one.
import { AdapterwasmError } from "./errors.js";
import { fetchJSON } from "./fetch.js";
import { hubEndpoint, hubError, withToken } from "./hub.js";

// DEFAULT_ADAPTERHUB_URL is the archived AdapterHub index (ADAPTER_HUB_URL in adapters 1.x utils.py).
export const DEFAULT_ADAPTERHUB_URL = "https://raw.githubusercontent.com/Adapter-Hub/Hub/master/dist/v2/";

// Bounds (hub.MaxListingBytes, MaxListingPages, ListingTTL).
export const MAX_LISTING_BYTES = 64 << 20;
// An AdapterHub index file: the Wasm module's bound (engine.MaxAdapterHubIndexBytes).
export const MAX_AH_INDEX_BYTES = 16 << 20;
export const MAX_LISTING_PAGES = 200;
export const LISTING_TTL_MS = 10 * 60_000;

// HF_FILTERS: adapters 1.x lists filter="adapters", adapter-transformers 3.x
// filter="adapter-transformers" (the hub's pf adapters carry the latter); an id in both appears once.
const HF_FILTERS = ["adapters", "adapter-transformers"];

// listingCache: url -> { at, body, link } (exported for tests).
export const listingCache = new Map();
const listings = listingCache;

// fetchListing GETs a listing, or the copy fetched within LISTING_TTL_MS; an older copy serves
// when the source cannot be reached (code network).
// With net.keep (listAdapters' cache), each answer is also stored under its URL, with its Link,
// and serves a new process when the source cannot be reached.
async function fetchListing(url, what, net, maxBytes = MAX_LISTING_BYTES) {
  const had = listings.get(url);
  if (had && Date.now() - had.at <= LISTING_TTL_MS) return had;
  let link = null;
  try {
    const body = await fetchJSON(url, {
      ...net,
      keep: null,
      maxBytes,
      onResponse: (res) => (link = res.headers.get("link")),
      httpError: (res) => hubError(res, { where: `${what} listing`, token: net.token }),
    });
    const got = { at: Date.now(), body, link };
    listings.set(url, got);
    await net.keep?.put(url, new TextEncoder().encode(JSON.stringify({ link, body }))).catch(() => {});
    return got;
  } catch (e) {
    if (e?.code !== "network" || e.status !== undefined || net.signal?.aborted) throw e;
    if (had) return had;
    try {
      const hit = await net.keep?.get(url);
      if (hit) {
        const rec = JSON.parse(new TextDecoder().decode(hit.bytes));
        return { at: 0, body: rec.body, link: typeof rec.link === "string" ? rec.link : null };
      }
    } catch {}
    throw e;
  }
}

// nextLink reads `<url>; rel="next"` from a Link header, resolved against the current URL.
export function nextLink(h, cur) {
  for (const part of (h ?? "").split(",")) {
    const p = part.trim();
    const i = p.indexOf(">");
    if (!p.startsWith("<") || i < 0) continue;
    const params = p.slice(i + 1);
    if (!params.includes('rel="next"') && !params.includes("rel=next")) continue;
    try {
      return new URL(p.slice(1, i), cur).href;
    } catch {
      return null;
    }
  }
  return null;
}

const bad = (what) => new AdapterwasmError("format", what);
const str = (v, what) => {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw bad(what);
  return v;
};
const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// methodOf names a config's method: its "architecture", "bottleneck" for a config without one
// (adapter_config.py), "" for no config or an architecture that is not a string (hub.methodOf).
function methodOf(cfg) {
  if (!isObj(cfg)) return "";
  const a = cfg.architecture;
  if (a === undefined || a === null || a === "") return "bottleneck";
  return typeof a === "string" ? a : "";
}

// parseAllJSON reads AdapterHub's all.json: [{source, adapter_id, model_name, task, subtask,
// username, adapter_config, sha1_checksum}].
export function parseAllJSON(body) {
  const what = "AdapterHub all.json: not a JSON list of adapters";
  if (!Array.isArray(body)) throw bad(what);
  return body.map((r) => {
    if (!isObj(r)) throw bad(what);
    const e = { source: str(r.source, what) || "ah", id: str(r.adapter_id, what), modelName: str(r.model_name, what), task: str(r.task, what), subtask: str(r.subtask, what), username: str(r.username, what), method: methodOf(r.adapter_config), sha1Checksum: str(r.sha1_checksum, what) };
    if (isObj(r.adapter_config)) e.adapterConfig = r.adapter_config;
    return e;
  });
}

// parseModels reads one page of `GET /api/models?…&full=True&config=True` (ModelInfo: id, sha,
// pipeline_tag, config); the model name sits in config.adapters.model_name (adapters 1.x) or
// config.adapter_transformers.model_name (adapter-transformers 3.x). Entries without an id are skipped.
export function parseModels(body) {
  const what = "hub model listing: not a JSON list of models";
  if (!Array.isArray(body)) throw bad(what);
  const out = [];
  for (const m of body) {
    if (!isObj(m)) throw bad(what);
    const id = str(m.id, what) || str(m.modelId, what);
    if (!id) continue;
    const cfg = m.config === undefined || m.config === null ? {} : m.config;
    if (!isObj(cfg)) throw bad(what);
    const part = (k) => {
      if (cfg[k] === undefined || cfg[k] === null) return null;
      if (!isObj(cfg[k])) throw bad(what);
      return cfg[k];
    };
    const ad = part("adapters"), at = part("adapter_transformers");
    const sub = ad ?? at;
    out.push({ source: "hf", id, modelName: sub ? str(sub.model_name, what) : "", username: id.split("/")[0], sha1Checksum: str(m.sha, what), pipelineTag: str(m.pipeline_tag, what) });
  }
  return out;
}

async function listAH(o, net) {
  const base = (o.adapterHubUrl ?? DEFAULT_ADAPTERHUB_URL).replace(/\/+$/, "");
  const { body } = await fetchListing(`${base}/all.json`, "ah", net);
  return parseAllJSON(body);
}

// fetchAHIndex gets AdapterHub's index of a base model, `{adapterHubUrl}index/{modelName}.json`
// (ADAPTER_HUB_INDEX_FILE in adapters 1.x utils.py), kept as listings are (LISTING_TTL_MS in
// memory; with net.keep in the store, for offline loads), and returns it as bytes for the Wasm
// module's resolveAdapterHub.
export async function fetchAHIndex(modelName, o, net) {
  const base = (o.adapterHubUrl ?? DEFAULT_ADAPTERHUB_URL).replace(/\/+$/, "");
  const { body } = await fetchListing(`${base}/index/${modelName}.json`, `AdapterHub index of ${modelName}`, net, MAX_AH_INDEX_BYTES);
  if (!isObj(body)) throw new AdapterwasmError("format", `AdapterHub index of ${modelName}: not a JSON object`);
  let text;
  try {
    text = JSON.stringify(body); // recursive: an index nested thousands deep overflows the stack
  } catch (e) {
    throw new AdapterwasmError("format", `AdapterHub index of ${modelName}: malformed AdapterHub index (${e instanceof RangeError ? "nested too deep" : e.message})`);
  }
  return new TextEncoder().encode(text);
}

async function listHF(o, net) {
  const endpoint = hubEndpoint(o.endpoint);
  const token = o.token ?? globalThis.process?.env?.HF_TOKEN ?? "";
  const hnet = { ...net, fetch: withToken(net.fetch, endpoint, token), token };
  const seen = new Set();
  const out = [];
  for (const filter of HF_FILTERS) {
    let next = `${endpoint}/api/models?${new URLSearchParams({ filter, full: "True", config: "True" })}`;
    for (let page = 0; next; page++) {
      if (page === MAX_LISTING_PAGES) throw new AdapterwasmError("format", `hub model listing: more than ${MAX_LISTING_PAGES} pages`);
      const { body, link } = await fetchListing(next, "hf", hnet);
      for (const a of parseModels(body)) {
        if (seen.has(a.id)) continue;
        seen.add(a.id);
        out.push(a);
      }
      next = nextLink(link, next);
    }
  }
  return out;
}

// listHub lists source "ah", "hf" or both ("ah" first, as list_adapters), for modelName exactly
// when given. o: { source, modelName, endpoint, token, adapterHubUrl }; net: fetchJSON's.
export async function listHub(o, net) {
  const sources = o.source === "ah" || o.source === "hf" ? [o.source] : ["ah", "hf"];
  let out = [];
  for (const s of sources) out = out.concat(s === "ah" ? await listAH(o, net) : await listHF(o, net));
  return o.modelName ? out.filter((a) => a.modelName === o.modelName) : out;
}

// RUNNABLE_MODEL_TYPES are the model_type values the Go runtime runs (runtime/bert/arch.go
// ModelTypes; runtime/bert's TestModelTypesMirroredInJS holds this and NAME_MODEL_TYPES equal to Go's).
export const RUNNABLE_MODEL_TYPES = ["bert", "roberta", "xlm-roberta", "distilbert"];

// NAME_MODEL_TYPES: the leading word of a base model's name → its model_type, longer first
// (runtime/bert/arch.go nameModelTypes).
const NAME_MODEL_TYPES = [["xlm-roberta", "xlm-roberta"], ["distilroberta", "roberta"], ["roberta", "roberta"], ["distilbert", "distilbert"], ["bert", "bert"]];

// modelTypeOfName is bert.ModelTypeOfName: the model_type of a runnable architecture a base
// model's name says (its last path segment, lower-cased, is bert, roberta, distilroberta,
// xlm-roberta or distilbert, alone or followed by "-" or "_"), else "".
export function modelTypeOfName(name) {
  const n = String(name ?? "").split("/").pop().toLowerCase();
  for (const [p, t] of NAME_MODEL_TYPES) {
    if (n.startsWith(p) && (n.length === p.length || n[p.length] === "-" || n[p.length] === "_")) return t;
  }
  return "";
}

// isRunnable is cmd/adapterwasm's runnableEntry: the model_type an entry records (index
// entries), else the one its model name says, is one the runtime runs.
export function isRunnable(e) {
  const t = e.modelType || e.model_type || modelTypeOfName(e.modelName);
  return RUNNABLE_MODEL_TYPES.includes(t);
}
