// Reading what a server offers: a base model's manifest and the adapter index (index.json from
// `adapterwasm index`). Both list files with their size and sha256, so every download can be
// verified before it is used or cached.
import { AdapterwasmError } from "./errors.js";
import { fetchJSON } from "./fetch.js";

// Files of a Hugging Face model directory, when there is no manifest (pretrained.Load).
const HF_BASE_FILES = [
  { name: "config.json" },
  { name: "tokenizer.json" },
  { name: "model.safetensors" },
  { name: "sentence_bert_config.json", optional: true },
];

// Files of an AdapterHub adapter directory (adapters/utils.py), in the order they are tried when
// there is no index entry; of each group, the first that exists is used.
const ADAPTER_FILE_GROUPS = [
  { names: ["adapter_config.json"], required: true },
  { names: ["adapter.safetensors", "pytorch_adapter.bin"] },
  { names: ["head_config.json"] },
  { names: ["model_head.safetensors", "pytorch_model_head.bin"] },
  { names: ["adapter_fusion_config.json"] },
  { names: ["model_adapter_fusion.safetensors", "pytorch_model_adapter_fusion.bin"] },
];

// isDirUrl tells a directory URL ("https://…", "/adapters/x/", "./x", "x/") from an adapter name
// or index id ("sentiment", "sentiment/imdb@ukp").
export function isDirUrl(s) {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) || s.startsWith("/") || s.startsWith("./") || s.startsWith("../") || s.endsWith("/");
}

export function dirUrl(u, base) {
  const url = absUrl(u, base);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

let localPathUrl = () => null;
// setLocalPathUrl sets how a path that exists here becomes a file: URL (Node, node-local.js).
export function setLocalPathUrl(f) {
  localPathUrl = f;
}

// absUrl resolves u against base, or the page's or worker's location. Where there is none (Node,
// Cloudflare Workers) a relative URL is refused with code invalid_argument.
export function absUrl(u, base) {
  base ??= globalThis.location?.href;
  try {
    return new URL(u, base);
  } catch {
    const local = !base && typeof u === "string" ? localPathUrl(u) : null; // Node: an existing path
    if (local) return local;
    throw new AdapterwasmError("invalid_argument", `${JSON.stringify(String(u))}: not a URL${base ? ` relative to ${base}` : "; with no location to resolve it against (Node, Cloudflare Workers), URLs must be absolute"}`);
  }
}

// fileList normalizes a list of files: [{name, size, sha256}] or {name: {size, sha256}}.
export function fileList(files) {
  if (Array.isArray(files)) return files.map((f) => (typeof f === "string" ? { name: f } : { ...f, name: f.name ?? f.path }));
  if (files && typeof files === "object") return Object.entries(files).map(([name, f]) => ({ name, ...f }));
  return null;
}

// baseFiles returns the files to fetch for a base model at base (a directory URL): those its
// manifest.json lists, with sizes and hashes, or the Hugging Face layout (unverified).
// opts: fetchJSON's (fetch, signal, timeout).
export async function baseFiles(base, opts) {
  const manifest = await fetchJSON(new URL("manifest.json", base), { ...opts, optional: true });
  if (!manifest) return { verified: false, files: HF_BASE_FILES.map((f) => ({ ...f, url: new URL(f.name, base).href })) };
  const files = fileList(manifest.files);
  if (!files?.length) throw new AdapterwasmError("format", `${new URL("manifest.json", base)}: no "files"`);
  return { verified: true, manifest, files: files.map((f) => ({ ...f, url: new URL(f.name, base).href })) };
}

// adapterFileGroups is how an adapter directory without an index entry is fetched.
export function adapterFileGroups() {
  return ADAPTER_FILE_GROUPS;
}

// Index is a parsed adapter index. Entries are normalized to
//   { name, modelName, task, method, labels, size, url (directory), files: [{name, size, sha256}] }
export class Index {
  constructor(url, json) {
    this.url = url;
    this.json = json;
    const list = Array.isArray(json) ? json : Array.isArray(json?.adapters) ? json.adapters : Object.entries(json?.adapters ?? {}).map(([name, a]) => ({ name, ...a }));
    this.entries = list.map((a) => normalizeEntry(a, url));
  }

  // find returns the entry called name (or with that id), for modelName if one is given (an
  // entry without a model name fits every model).
  find(name, modelName) {
    const fits = (e) => !modelName || !e.modelName || e.modelName === modelName;
    return this.entries.find((e) => e.name === name && fits(e)) ?? this.entries.find((e) => e.id === name && fits(e));
  }
}

function normalizeEntry(a, indexUrl) {
  const dir = a.url ?? a.path ?? a.dir ?? a.name;
  const files = fileList(a.files) ?? [];
  return {
    ...a,
    name: a.name,
    modelName: a.modelName ?? a.model_name,
    modelType: a.modelType ?? a.model_type,
    task: a.task,
    method: a.method ?? a.architecture ?? a.config?.architecture,
    labels: a.labels,
    size: a.size ?? files.reduce((n, f) => n + (f.size ?? 0), 0),
    url: dirUrl(dir, indexUrl).href,
    files,
  };
}

const indexes = new Map(); // index URL -> Promise<Index>

// loadIndex fetches and parses an index once per URL. opts: fetchJSON's (fetch, signal, timeout).
export function loadIndex(url, opts = {}) {
  const key = absUrl(url).href;
  if (!indexes.has(key)) {
    const p = fetchJSON(key, opts).then((j) => new Index(key, j));
    p.catch(() => indexes.delete(key));
    indexes.set(key, p);
  }
  return indexes.get(key);
}
