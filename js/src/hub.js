// Hugging Face hub ids ("owner/name" at a revision) for fromPretrained and loadAdapter(id,
// {source: "hf"}), as the Go package hub (hub/hub.go) resolves them: files come from
// `{endpoint}/{id}/resolve/{revision}/{file}`, the first file's X-Repo-Commit pins the commit and
// every other file is fetched at that commit, so a load never mixes two. Downloads go through
// fetch.js (timeouts, sizes, the store); files are kept under their commit URL, and two small
// records (revision -> commit, commit -> which files the repository has) are kept beside them,
// all only once Go has accepted the load (fetch.js Unverified). With the network gone, an id
// loaded before loads again from the store.
import { AdapterwasmError } from "./errors.js";
import { defaultFetch, fetchFile } from "./fetch.js";

// DEFAULT_ENDPOINT is the public hub; options.endpoint, or HF_ENDPOINT in Node, overrides it.
export const DEFAULT_ENDPOINT = "https://huggingface.co";

// The files of a base model and of an adapter (hub.BaseModelFiles, hub.AdapterFiles): of each
// group the first name the repository has is fetched.
export const BASE_GROUPS = [
  { names: ["config.json"] },
  { names: ["tokenizer.json"] },
  { names: ["model.safetensors", "pytorch_model.bin"] },
  { names: ["sentence_bert_config.json"], optional: true },
];
export const ADAPTER_GROUPS = [
  { names: ["adapter_config.json"] },
  { names: ["adapter.safetensors", "pytorch_adapter.bin"] },
  { names: ["head_config.json"], optional: true },
  { names: ["model_head.safetensors", "pytorch_model_head.bin"], optional: true },
];

const ID_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/;
const COMMIT = /^[0-9a-f]{40}$/;

// isHubId tells whether s has the form of a hub id: "name" or "owner/name" (hub.IsID).
export function isHubId(s) {
  if (typeof s !== "string" || s.includes("..")) return false;
  const parts = s.split("/");
  return parts.length <= 2 && parts.every((p) => ID_PART.test(p));
}

let localPath = () => false; // Node: does a path exist here (then it is not an id)
export function setLocalPathCheck(f) {
  localPath = f;
}

// asHubId returns s when it is to be resolved on the hub: it has an id's form and (in Node) is no
// existing path.
export function asHubId(s) {
  return isHubId(s) && !localPath(s) ? s : null;
}

// hubEndpoint is options.endpoint, else HF_ENDPOINT (Node), else the public hub, without a
// trailing slash.
export function hubEndpoint(endpoint) {
  const e = endpoint ?? globalThis.process?.env?.HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  let u;
  try {
    u = new URL(e);
  } catch {
    throw new AdapterwasmError("invalid_argument", `endpoint ${JSON.stringify(String(e).slice(0, 120))}: not an absolute URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new AdapterwasmError("invalid_argument", `endpoint ${u.href.slice(0, 120)}: want http: or https:`);
  return u.href.replace(/\/+$/, "");
}

// resolveURL is `{endpoint}/{id}/resolve/{revision}/{file}`, the revision escaped as
// huggingface_hub's hf_hub_url does (quote with safe="").
export function resolveURL(endpoint, id, revision, file) {
  return `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file}`;
}

// withToken wraps fetch to send token as "Authorization: Bearer" to the endpoint's origin only.
// fetch follows the hub's redirect to its CDN itself; the Fetch standard (and Node's fetch) drop
// Authorization on a cross-origin redirect, so the CDN never sees it.
export function withToken(fetchImpl, endpoint, token) {
  const base = fetchImpl ?? defaultFetch;
  if (!token) return base;
  const origin = new URL(endpoint).origin;
  return (u, init) => base(u, new URL(u).origin === origin ? { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } } : init);
}

const recordKey = (endpoint, id, what) => `${endpoint}/${id}/resolve/${what}/?adapterwasm-record`;

// hubError turns the hub's answer into a typed error, as hub.statusError (and huggingface_hub's
// hf_raise_for_status) reads it: X-Error-Code first; a 401 without a token is "not found" (the
// hub answers missing and private repositories alike).
export function hubError(res, { id, revision, file, token, repoKnown, where = `${id}@${revision}: ${file}` }) {
  const code = res.headers.get("x-error-code") ?? "";
  const msg = (res.headers.get("x-error-message") ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, 120);
  const status = res.status;
  const make = (c, words, extra = {}) => Object.assign(new AdapterwasmError(c, `hub: ${where}: ${words} (HTTP ${status})${msg && !words.includes(msg) ? `: ${msg}` : ""}`), { status, ...extra });
  if (code === "EntryNotFound" || (status === 404 && repoKnown && code === "")) return make("missing_file", "no such file in the repository", { entryMissing: true });
  if (code === "RevisionNotFound") return make("not_found", "no such revision");
  if (code === "RepoNotFound") return make("not_found", "no such repository (or private: pass a token)");
  if (code === "GatedRepo") return make("unauthorized", "access denied (gated or private repository; pass a token)");
  if (status === 404) return make("not_found", "not found");
  if (status === 401 && !token) return make("not_found", "no such repository (or private: pass a token)");
  if (status === 401 || status === 403) return make("unauthorized", "access denied (gated or private repository; pass a token)");
  if (status === 429) {
    const ra = res.headers.get("retry-after");
    const secs = ra && /^\d+$/.test(ra.trim()) ? Number(ra) : undefined;
    return make("rate_limited", `rate limited${secs !== undefined ? `, retry after ${secs} s` : ""}`, { retryAfter: secs });
  }
  return make("network", "unexpected answer");
}

// fetchRepo fetches the files of groups for id at revision and returns
//   { files: {name: bytes}, id, revision, commit, endpoint, fromCache, unverified }
// opts: { endpoint, revision, token (default HF_TOKEN in Node), offline (default HF_HUB_OFFLINE
// in Node), store, stats, unverified, fetch, signal, timeout, maxBytes, atCommit
// (for all files together), onFile(url) -> {onChunk, done} }. The records are put into
// unverified, so they are stored only when Go accepts the files.
export async function fetchRepo(id, groups, opts) {
  const endpoint = hubEndpoint(opts.endpoint);
  const revision = opts.revision ?? "main";
  if (typeof revision !== "string" || !REVISION.test(revision) || revision.includes("..") || revision.includes("//")) {
    throw new AdapterwasmError("invalid_argument", `hub: ${id}: bad revision ${JSON.stringify(String(revision).slice(0, 120))}`);
  }
  const { store, unverified } = opts;
  const env = globalThis.process?.env ?? {};
  const token = opts.token ?? env.HF_TOKEN ?? "";
  // Offline (option, or HF_HUB_OFFLINE as the Python libraries read it): no request at all; the
  // commit recorded for the revision and the cached files answer, as when the network is gone.
  const offline = opts.offline ?? ["1", "true", "yes", "on"].includes(String(env.HF_HUB_OFFLINE ?? "").toLowerCase());
  const fetchImpl = offline ? async () => Promise.reject(new TypeError("offline (HF_HUB_OFFLINE or options.offline)")) : withToken(opts.fetch, endpoint, token);
  let headers = null;
  const net = { fetch: fetchImpl, signal: opts.signal, timeout: opts.timeout, onResponse: (res) => (headers = res.headers) };
  let left = opts.maxBytes;
  const get = async (url, name, extra) => {
    const p = opts.onFile?.(url);
    headers = null;
    const bytes = await fetchFile(url, { ...net, stats: opts.stats, onProgress: p?.onChunk, maxBytes: left, ...extra });
    p?.done(bytes);
    if (bytes && left !== undefined) left -= bytes.byteLength;
    return bytes;
  };
  const readRecord = async (key) => {
    try {
      const hit = await store?.get(key);
      return hit ? JSON.parse(new TextDecoder().decode(hit.bytes)) : null;
    } catch {
      return null;
    }
  };

  // 1. The commit: the revision itself, else the first file's X-Repo-Commit, else (network gone)
  // the commit the store recorded for this revision.
  let commit = COMMIT.test(revision) ? revision : null;
  let first = null;
  const firstName = groups[0].names[0];
  let fromCache = false;
  if (!commit) {
    try {
      first = await get(resolveURL(endpoint, id, revision, firstName), firstName, { httpError: (res) => hubError(res, { id, revision, file: firstName, token }) });
      commit = headers?.get("x-repo-commit") ?? "";
    } catch (e) {
      if (e?.code !== "network" || e.status !== undefined || opts.signal?.aborted) throw e;
      const ref = await readRecord(recordKey(endpoint, id, `refs/${encodeURIComponent(revision)}`));
      if (!ref || !COMMIT.test(ref.commit ?? "")) throw Object.assign(new AdapterwasmError("network", `${e.message}; and ${id}@${revision} is not in the cache`, { cause: e }), { notCached: true });
      commit = ref.commit;
      first = null;
      fromCache = true;
    }
    // An answer that is not the hub's is an error, not a reason to fall back on the cache.
    if (!commit) throw new AdapterwasmError("network", `hub: ${id}@${revision}: ${firstName}: no X-Repo-Commit header: is ${endpoint} a hub (and does it expose the header to this page: CORS)?`);
    if (!COMMIT.test(commit)) throw new AdapterwasmError("network", `hub: ${id}@${revision}: X-Repo-Commit is not a commit hash`);
  }

  const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
  const refRecord = () => {
    if (revision !== commit) unverified?.fetched.push([recordKey(endpoint, id, `refs/${encodeURIComponent(revision)}`), enc({ commit })]);
  };
  // opts.atCommit(commit) may end the load here (a base whose conversion is cached: convert.js):
  // no file is fetched, and only the revision's record is kept.
  if (await opts.atCommit?.(commit)) {
    refRecord();
    return { files: first ? { [firstName]: first } : {}, id, revision, commit, endpoint, fromCache, stopped: true };
  }

  // 2. The files, at the commit; which of each group's names the repository has is recorded, so
  // a cached load asks nothing.
  const snapKey = recordKey(endpoint, id, commit);
  const snap = await readRecord(snapKey);
  const files = {};
  const chosen = {};
  for (const [gi, g] of groups.entries()) {
    let known = snap?.chosen && Object.hasOwn(snap.chosen, g.names[0]) ? snap.chosen[g.names[0]] : undefined;
    if (known !== null && !g.names.includes(known)) known = undefined; // a record that names no file of the group is ignored
    const names = known === undefined ? g.names : known === null ? [] : [known];
    let got = null;
    for (const name of names) {
      const url = resolveURL(endpoint, id, commit, name);
      let bytes;
      if (gi === 0 && first && name === firstName) {
        bytes = first;
        unverified?.fetched.push([url, first]); // kept under the commit's URL
      } else {
        bytes = await get(url, name, { store, unverified, optional: true, httpError: (res) => hubError(res, { id, revision, file: name, token, repoKnown: true }) });
      }
      if (bytes) {
        files[name] = bytes;
        got = name;
        break;
      }
    }
    if (!got && !g.optional) throw new AdapterwasmError("missing_file", `hub: ${id}@${revision}: ${g.names.join(" or ")}: no such file in the repository`);
    chosen[g.names[0]] = got;
  }
  unverified?.fetched.push([snapKey, enc({ id, commit, chosen })]);
  refRecord();
  return { files, id, revision, commit, endpoint, fromCache };
}
