// The demo page: a base model in a Web Worker (the package's WorkerModelWithHeads), the adapter
// list from the index (listAdapters), adapters streamed when picked, and live classification of
// the text box with one card per head. Everything it fetches comes from this origin, but for the
// Hub listing the visitor may switch to (hublist.js).
//
// Progress: the worker posts { id, progress: { url, loaded, total, fromCache } } for every file
// the model reads, the Wasm runtime included (worker.js); the page listens on the worker it hands
// to the client and files each event under the runtime, the base model, an adapter or a fusion.
import { Fuse, listAdapters, Parallel, Stack } from "./adapterwasm/src/index.js";
import { WorkerModelWithHeads } from "./adapterwasm/src/worker-client.js";
import { mountHub } from "./hublist.js";
import { mountTrain } from "./train.js";

const BASE = new URL("models/minilm-q8/", location.href).href;
const INDEX = new URL("index.json", location.href).href;
const RUNTIME = new URL("adapterwasm/dist/", location.href).href;
const SITE = new URL("site.json", location.href).href; // the runtime's file sizes (./build.sh site)
const CACHE_NAME = "adapterwasm-v1"; // the package's Cache API store (js/src/store.js)
const MODEL_NAME = "all-MiniLM-L6-v2"; // what models/minilm-q8 was converted from (./build.sh site)
const SAVED = "adapterwasm-demo"; // localStorage key: { selected, composition, text }
const DEBOUNCE_MS = 250;
const UNKNOWN_WARN = 0.2; // flag a text when at least this share of its tokens is [UNK]
const COUNTED = 65536; // Go counts a text's tokens up to this many (adapters.MaxCountedTokens)

const $ = (id) => document.getElementById(id);

// What the demo adapters are for, in words: the index knows only "classification" and the labels.
// Keyed by adapter name; an adapter not listed here shows its index entry only.
const TASKS = {
  sentiment: { task: "sentiment", what: "Is a review positive or negative?", trained: "product, movie and restaurant reviews (UCI Sentiment Labelled Sentences)" },
  sentiment_lora: { task: "sentiment", what: "Is a review positive or negative? (the same task, as a LoRA adapter)", trained: "the same reviews as “sentiment”" },
  spam: { task: "spam", what: "Is an e-mail spam, or ham (a legitimate message)?", trained: "the SpamAssassin public e-mail corpus" },
  topic: { task: "topic", what: "Is a news story about corn, about grain other than corn, or neither (other)?", trained: "Reuters-21578 news wires" },
};
const LABEL_WORDS = { ham: "not spam", other: "neither corn nor grain", grain: "grain, not corn", corn: "corn" };
const EXAMPLES = [
  { task: "sentiment", label: "positive review", text: "The food was wonderful and the staff were friendly." },
  { task: "sentiment", label: "negative review", text: "Terrible service, cold food, and we waited an hour." },
  { task: "spam", label: "spam e-mail", text: "Congratulations! You have won a free cruise, reply now to claim your prize." },
  { task: "spam", label: "ordinary e-mail", text: "Hi Anna, the meeting moved to Thursday at 3pm. I attached the agenda, see you there. Bob" },
  { task: "topic", label: "corn news", text: "Corn futures rose as dry weather cut the estimate for the U.S. corn harvest, the Agriculture Department said." },
  { task: "topic", label: "grain news", text: "The Soviet Union bought 200,000 tonnes of U.S. wheat and barley under its grain agreement, exporters said." },
  { task: "topic", label: "other news", text: "The central bank raised its discount rate by half a point to curb inflation." },
];

const state = {
  model: null,
  ready: null, // Promise<model>
  adapters: [], // index entries of kind "adapter", in index order
  fusions: [], // index entries of kind "fusion"
  rows: new Map(), // adapter name -> { entry, row, box, status, fill, state, cached, files: Map(url -> {loaded,total,fromCache}) }
  selected: [], // adapter names in the order they were picked
  files: new Map(), // url -> { loaded, total, fromCache } of the runtime and the base model
  fusionFiles: new Map(), // url -> progress of fusion files
  runtimeSizes: {}, // file name -> bytes (site.json)
  baseBytes: 0, // the base model's files, from its manifest
  stats: { bytesFetched: 0, bytesFromCache: 0 },
  restoring: false,
};

// ---- formatting ----------------------------------------------------------------------------

// Sizes in decimal units (1 MB = 10^6 bytes, as the README); a no-break space joins number and
// unit, so that "3.8 s" never wraps.
function fmtBytes(n) {
  if (n < 1000) return `${n}\u00a0B`;
  if (n < 1e6) return `${Math.round(n / 1000)}\u00a0KB`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}\u00a0MB`;
}

const fmtMs = (ms) => (ms < 1000 ? `${Math.round(ms)}\u00a0ms` : `${(ms / 1000).toFixed(1)}\u00a0s`);
const pct = (p) => `${(100 * p).toFixed(1)}%`;
const pct0 = (p) => `${Math.round(100 * p)}%`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for" || k === "title" || k === "id" || k === "href") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const list = (names) => (names.length <= 2 ? names.join(" and ") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`);
const q = (s) => `“${s}”`;

// ---- errors in plain words -----------------------------------------------------------------

// plain turns a package error into a sentence for someone who never read the code; the original
// message stays under "Details".
function plain(err, context = {}) {
  const msg = String(err?.message ?? err ?? "");
  const file = msg.match(/https?:\/\/\S*?\/([^/\s]+): /)?.[1];
  const http = msg.match(/HTTP (\d{3})/)?.[1];
  switch (err?.code) {
    case "network":
      return http ? `the server answered HTTP ${http} for ${file ?? "a file"}. Try again later.` : `a download failed (${file ?? "network error"}). Check the connection and try again.`;
    case "integrity":
      return `${file ?? "a downloaded file"} did not match its published checksum, so it was not used. Try again; if it persists, the site is out of date.`;
    case "exited":
      return "the model stopped (most likely out of memory). Reload the page to start it again.";
    case "closed":
      return "the model was closed. Reload the page.";
    case "unsupported":
    case "format":
      return `${context.what ?? "the file"} uses something this runtime cannot read.`;
    case "setup":
      return context.setupWords ?? "these adapters cannot be combined this way.";
    case "not_found":
    case "missing_file":
    case "unauthorized":
    case "rate_limited":
      if (/^hub: |AdapterHub index/.test(msg)) return `the hub answered: ${msg.replace(/^hub: /, "")}`; // hublist.js loads
      break;
  }
  return "something went wrong.";
}

// showError adds a dismissable message to the page's alert region; the rest of the page keeps
// working.
function showError(what, err, context) {
  const msg = err ? `${err.message ?? err}` : "";
  console.error(what, err);
  const item = el(
    "div",
    { class: "error", "data-code": err?.code ?? "" },
    el("div", { class: "error-body" }, el("p", {}, el("strong", { text: what }), ": ", plain(err, context)), msg ? el("details", {}, el("summary", { text: "Details" }), el("code", { text: msg })) : null),
    el("button", { type: "button", class: "dismiss", text: "Dismiss", "aria-label": `Dismiss: ${what}`, onclick: () => item.remove() }),
  );
  const box = $("errors");
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
  return item;
}

// ---- loading: runtime, kernels, base model, verify/build ----------------------------------------

// The steps shown under the base model's bar, in order. A file step is done when its bytes are in;
// "kernels" (imported by the runtime, no progress events) when the base files start; "build"
// (the SHA-256 check of the base files and the Go model's construction) when the model is ready.
const STEPS = [
  { id: "runtime", label: "WebAssembly runtime", file: "adapterwasm.wasm" },
  { id: "kernels", label: "SIMD kernels", file: "kernels.js" },
  { id: "base", label: "Base model weights (int8)", file: "adapterwasm.safetensors" },
  { id: "build", label: "Check SHA-256, build the model" },
];

function renderSteps() {
  const ol = $("model-files");
  ol.replaceChildren(
    ...STEPS.map((s) => {
      const size = s.id === "base" ? null : state.runtimeSizes[s.file];
      return el(
        "li",
        { id: `step-${s.id}`, "data-state": "waiting" },
        el("span", { class: "step-name" }, s.label, s.file ? el("code", { class: "step-file", text: ` ${s.file}` }) : null),
        el("span", { class: "step-status", text: size ? `${fmtBytes(size)}, waiting` : "waiting" }),
      );
    }),
  );
}

function setStep(id, st, text) {
  const li = $(`step-${id}`);
  if (!li) return;
  li.dataset.state = st;
  li.querySelector(".step-status").textContent = text;
}

function sumFiles(files) {
  let loaded = 0,
    total = 0,
    fromCache = files.size > 0;
  for (const f of files.values()) {
    loaded += f.loaded;
    total += f.total ?? f.loaded;
    fromCache &&= f.fromCache;
  }
  return { loaded, total, fromCache };
}

function setBar(fill, progress, frac) {
  const f = Math.max(0, Math.min(1, frac));
  fill.style.width = `${(100 * f).toFixed(1)}%`;
  if (progress) progress.value = f;
}

function modelProgress() {
  const box = $("model-status");
  if (box.dataset.state === "ready" || box.dataset.state === "error") return;
  const runtime = [...state.files].filter(([u]) => u.startsWith(RUNTIME));
  const base = new Map([...state.files].filter(([u]) => u.startsWith(BASE)));
  const wasmSize = state.runtimeSizes["adapterwasm.wasm"];
  if (runtime.length) {
    const [, p] = runtime[0];
    const total = p.total ?? wasmSize;
    const done = total !== undefined && p.loaded >= total;
    setStep("runtime", done ? "done" : "active", done ? `${fmtBytes(p.loaded)}, compiled` : `${fmtBytes(p.loaded)}${total ? ` of ${fmtBytes(total)}` : ""}`);
  }
  const b = sumFiles(base);
  if (base.size) {
    if (runtime.length) setStep("runtime", "done", `${fmtBytes(runtime[0][1].loaded)}, compiled`);
    else setStep("runtime", "done", "from the HTTP cache");
    setStep("kernels", "done", state.runtimeSizes["kernels.js"] ? `${fmtBytes(state.runtimeSizes["kernels.js"])}, ready` : "ready");
    const done = b.total > 0 && b.loaded >= b.total;
    setStep("base", done ? "done" : "active", b.fromCache ? `${fmtBytes(b.loaded)} from this browser's cache` : done ? `${fmtBytes(b.loaded)}, downloaded` : `${fmtBytes(b.loaded)} of ${fmtBytes(b.total)}`);
    if (done) setStep("build", "active", "working…");
  }
  // One bar over every byte: the runtime's, then the base model's.
  const rt = runtime.length ? runtime[0][1] : { loaded: 0 };
  const rtTotal = rt.total ?? wasmSize ?? 0;
  const baseTotal = b.total || state.baseBytes; // the manifest's size until the first base event
  const loaded = Math.min(rt.loaded, rtTotal || rt.loaded) + b.loaded;
  const total = rtTotal + baseTotal;
  let text;
  if (!base.size) {
    box.dataset.state = "runtime";
    text = runtime.length ? `Downloading the WebAssembly runtime: ${fmtBytes(rt.loaded)}${rtTotal ? ` of ${fmtBytes(rtTotal)}` : ""}` : "Starting the WebAssembly runtime…";
  } else if (b.total > 0 && b.loaded >= b.total) {
    box.dataset.state = "building";
    text = `Checking the base model's SHA-256 and building it (${fmtBytes(b.total)})…`;
  } else if (b.fromCache) {
    box.dataset.state = "reading-cache";
    text = `Reading the base model from this browser's cache: ${fmtBytes(b.loaded)}`;
  } else {
    box.dataset.state = "downloading";
    text = `Downloading the base model: ${fmtBytes(b.loaded)} of ${fmtBytes(b.total)}`;
  }
  $("model-text").textContent = text;
  setBar($("model-bar-fill"), $("model-progress"), total ? loaded / total : 0);
}

// onProgress: the package's progress events (js/README.md); the per-file ones carry url, loaded,
// total and fromCache, and are summed here per file group (runtime + base, each adapter, fusions).
function onProgress(p) {
  if (!p?.url) return;
  if (p.url.startsWith(BASE) || p.url.startsWith(RUNTIME)) {
    state.files.set(p.url, p);
    modelProgress();
    return;
  }
  for (const r of state.rows.values()) {
    if (p.url.startsWith(r.entry.url)) {
      r.files.set(p.url, p);
      if (r.state === "loading") {
        const { loaded } = sumFiles(r.files);
        const total = r.entry.size || loaded;
        setBar(r.fill, null, loaded / total);
        r.status.textContent = `loading ${fmtBytes(loaded)} of ${fmtBytes(total)}`;
      }
      return;
    }
  }
  for (const f of state.fusions) {
    if (p.url.startsWith(f.url)) {
      state.fusionFiles.set(p.url, p);
      const { loaded, fromCache } = sumFiles(new Map([...state.fusionFiles].filter(([u]) => u.startsWith(f.url))));
      const results = $("results");
      results.dataset.state = "loading-fusion";
      const line = results.querySelector(".fusion-progress") ?? results.appendChild(el("p", { class: "fusion-progress muted" }));
      line.textContent = fromCache ? `Reading AdapterFusion ${q(f.name)} from this browser's cache: ${fmtBytes(loaded)}` : `Downloading AdapterFusion ${q(f.name)}: ${fmtBytes(loaded)} of ${fmtBytes(f.size)}`;
      return;
    }
  }
}

async function loadModel() {
  const t0 = performance.now();
  const worker = new Worker(new URL("adapterwasm/src/worker.js", import.meta.url), { type: "module", name: "adapterwasm" });
  const box = $("model-status");
  try {
    // onProgress stays set on the model: adapters and fusions loaded later report through it too.
    const model = await WorkerModelWithHeads.fromPretrained(BASE, { worker, index: INDEX, onProgress });
    state.model = model;
    const { bytesFetched, bytesFromCache } = model.stats;
    const ms = performance.now() - t0;
    box.dataset.state = "ready";
    box.dataset.source = bytesFetched === 0 ? "cache" : "network";
    box.dataset.bytesFetched = String(bytesFetched);
    box.dataset.bytesFromCache = String(bytesFromCache);
    box.dataset.ms = String(Math.round(ms));
    setStep("build", "done", "done");
    $("model-text").replaceChildren(
      el("strong", { text: `${MODEL_NAME} (int8) ready` }),
      bytesFetched === 0
        ? ` — loaded from this browser's cache (${fmtBytes(bytesFromCache)}, 0 bytes downloaded) in ${fmtMs(ms)}.`
        : ` — downloaded ${fmtBytes(bytesFetched)} (${bytesFetched.toLocaleString("en")} bytes) in ${fmtMs(ms)}; later visits load it from the cache.`,
    );
    if (!globalThis.caches) $("model-text").append(el("span", { class: "muted", text: " This page has no Cache API here (it needs https or localhost), so the model is downloaded on every visit." }));
    setBar($("model-bar-fill"), $("model-progress"), 1);
    announce(`Base model ready${bytesFetched === 0 ? ", from the cache" : ""}.`);
    updateTotals(model.stats);
    return model;
  } catch (e) {
    box.dataset.state = "error";
    $("model-text").textContent = "The base model could not be loaded.";
    showError("Base model failed to load", e);
    throw e;
  }
}

function updateTotals(stats) {
  state.stats = stats;
  const loaded = [...state.rows.values()].filter((r) => r.state === "loaded").length;
  const t = $("totals");
  t.dataset.bytesFetched = String(stats.bytesFetched);
  t.textContent = `This session, model and adapter files: ${fmtBytes(stats.bytesFetched)} downloaded, ${fmtBytes(stats.bytesFromCache)} read from the cache; ${loaded} adapter${loaded === 1 ? "" : "s"} loaded.`;
}

// ---- adapters ------------------------------------------------------------------------------

function methodName(m) {
  return { bottleneck: "bottleneck adapter (seq_bn)", lora: "LoRA", ia3: "IA³", prefix_tuning: "prefix tuning", fusion: "AdapterFusion" }[m] ?? m ?? "?";
}

const headBytes = (entry) => (entry.files ?? []).filter((f) => /^(pytorch_model_head\.bin|model_head\.safetensors|head_config\.json)$/.test(f.name)).reduce((n, f) => n + (f.size ?? 0), 0);
const taskOf = (name) => TASKS[name]?.task ?? name;

function renderAdapters(entries) {
  state.adapters = entries.filter((e) => (e.kind ?? "adapter") === "adapter");
  state.fusions = entries.filter((e) => e.kind === "fusion");
  const sizes = state.adapters.map((e) => e.size ?? 0).filter(Boolean);
  if (sizes.length) {
    const lo = Math.min(...sizes),
      hi = Math.max(...sizes);
    $("adapter-sizes").textContent = fmtBytes(lo) === fmtBytes(hi) ? fmtBytes(lo) : `${fmtBytes(lo)}–${fmtBytes(hi)}`;
  }
  const listEl = $("adapter-list");
  listEl.replaceChildren(el("legend", { class: "sr-only", text: "Adapters" }));
  if (!state.adapters.length) listEl.append(el("p", { class: "muted", text: "The index lists no adapters." }));
  state.adapters.forEach((entry, i) => {
    const id = `adapter-${i}`;
    const labels = entry.labels ?? [];
    const t = TASKS[entry.name];
    const head = headBytes(entry);
    const box = el("input", { type: "checkbox", id, value: entry.name, "aria-describedby": `${id}-what ${id}-meta ${id}-status` });
    const status = el("span", { class: "ad-status", id: `${id}-status`, text: "not loaded" });
    const fill = el("span");
    const labelText = labels.map((l) => (LABEL_WORDS[l] && LABEL_WORDS[l] !== l ? `${l} (${LABEL_WORDS[l]})` : l)).join(" · ");
    const row = el(
      "div",
      { class: "adapter", "data-name": entry.name, "data-state": "idle" },
      box,
      el(
        "label",
        { for: id },
        el("span", { class: "ad-name", text: entry.name }),
        el("span", { class: "ad-what", id: `${id}-what`, text: t ? t.what : `${entry.task ?? "no head"}` }),
        labels.length ? el("span", { class: "ad-labels", text: `Answers: ${labelText}` }) : null,
        el("span", { class: "ad-meta", id: `${id}-meta`, text: [methodName(entry.method), `${fmtBytes(entry.size ?? 0)}${head ? ` (head ${fmtBytes(head)})` : ""}`, t ? `trained on ${t.trained}` : null].filter(Boolean).join(" · ") }),
      ),
      status,
      el("div", { class: "bar small", "aria-hidden": "true" }, fill),
    );
    const r = { entry, row, box, status, fill, state: "idle", cached: false, files: new Map() };
    state.rows.set(entry.name, r);
    box.addEventListener("change", () => (box.checked ? select(r) : deselect(r)));
    listEl.append(row);
  });
  renderExamples();
  markCached();
}

// markCached tells, for every adapter not loaded yet, whether its files are all in this
// browser's cache (picking it then downloads nothing) or not.
async function markCached() {
  if (!globalThis.caches) return;
  let cache;
  try {
    if (!(await caches.has(CACHE_NAME))) return;
    cache = await caches.open(CACHE_NAME);
  } catch {
    return;
  }
  for (const r of state.rows.values()) {
    const files = r.entry.files ?? [];
    if (!files.length) continue;
    const hits = await Promise.all(files.map((f) => cache.match(new URL(f.name, r.entry.url).href).then(Boolean, () => false)));
    r.cached = hits.every(Boolean);
    if (r.state === "idle" && r.cached) {
      r.row.dataset.cached = "true";
      r.status.textContent = "cached";
    }
  }
}

function setRow(r, st, text) {
  r.state = st;
  r.row.dataset.state = st;
  r.status.textContent = text;
}

async function select(r) {
  const name = r.entry.name;
  if (!state.selected.includes(name)) state.selected.push(name);
  if (!r.box.checked) r.box.checked = true;
  updateComposition();
  save();
  if (r.state === "loaded") return schedule(0);
  if (r.state === "loading") return;
  r.files.clear();
  setRow(r, "loading", "waiting for the base model");
  setBar(r.fill, null, 0);
  try {
    const model = await state.ready;
    setRow(r, "loading", "loading");
    await (r.entry.load ? r.entry.load(model) : model.loadAdapter(name)); // load: a hub entry (hublist.js)
    const { loaded, fromCache } = sumFiles(r.files);
    setBar(r.fill, null, 1);
    setRow(r, "loaded", !r.files.size ? "loaded" : fromCache ? `loaded from cache (${fmtBytes(loaded)})` : `loaded: ${fmtBytes(loaded)} downloaded`);
    r.row.dataset.source = fromCache ? "cache" : "network";
    r.cached = true;
    updateTotals(await model.refreshStats());
  } catch (e) {
    setRow(r, "error", `failed to load (${e.code ?? "error"})`);
    setBar(r.fill, null, 0);
    r.box.checked = false;
    state.selected = state.selected.filter((n) => n !== name);
    updateComposition();
    save();
    showError(`Adapter ${q(name)} failed to load`, e, { what: `the adapter ${q(name)}` });
  }
  schedule(0);
}

function deselect(r) {
  state.selected = state.selected.filter((n) => n !== r.entry.name);
  if (r.state !== "loaded" && r.state !== "loading") setRow(r, "idle", r.cached ? "cached" : "not loaded");
  updateComposition();
  save();
  schedule(0);
}

// active is what classify runs: the picked adapters that are loaded, in the order picked.
const active = () => state.selected.filter((n) => state.rows.get(n)?.state === "loaded");

// fusionFor returns the fusion entry over exactly these adapters, if the index has one.
function fusionFor(names) {
  const key = [...names].sort().join(",");
  return state.fusions.find((f) => [...(f.fuses ?? [])].sort().join(",") === key);
}

// whatItDoes is the one line under each composition choice, for the adapters picked.
function whatItDoes(kind, names) {
  const tasks = [...new Set(names.map(taskOf))];
  const last = names.at(-1);
  switch (kind) {
    case "Parallel":
      return `${list(names)} each read the text in one shared forward pass: one answer per adapter.`;
    case "Stack": {
      const warn = tasks.length > 1 ? ` These were trained alone, for unrelated tasks: the answer is ${last}'s, bent by the others, and means nothing more.` : ` These were trained alone, not to be stacked: expect ${last}'s answer, bent.`;
      return `the text passes through ${list(names)} in that order; ${last}'s head answers.${warn}`;
    }
    case "Fuse": {
      const f = fusionFor(names);
      if (f) return `AdapterFusion ${q(f.name)} (${fmtBytes(f.size ?? 0)}, fetched when first used) weighs ${list(names)} at every layer, with its own head trained for ${TASKS[f.fuses?.[0]]?.task ?? "its task"}.`;
      const any = state.fusions[0];
      return `needs an AdapterFusion trained over exactly these adapters${any ? `; this demo has one, over ${list(any.fuses ?? [])}` : ""}.`;
    }
  }
  return "";
}

function updateComposition() {
  const names = state.selected;
  const fs = $("composition");
  fs.hidden = names.length < 2;
  const fuse = fs.querySelector('input[value="Fuse"]');
  const fusion = names.length >= 2 ? fusionFor(names) : null;
  fuse.disabled = !fusion;
  for (const k of ["Parallel", "Stack", "Fuse"]) $(`what-${k}`).textContent = names.length >= 2 ? whatItDoes(k, names) : "";
  if (fuse.checked && fuse.disabled) fs.querySelector('input[value="Parallel"]').checked = true;
}

function composition() {
  return document.querySelector('input[name="composition"]:checked')?.value ?? "Parallel";
}

function setupFor(names) {
  if (names.length === 1) return names[0];
  switch (composition()) {
    case "Stack":
      return String(Stack(...names));
    case "Fuse": {
      const f = fusionFor(names);
      return f ? String(Fuse(...f.fuses)) : String(Parallel(...names));
    }
    default:
      return String(Parallel(...names));
  }
}

// ---- examples and saved state -------------------------------------------------------------------

function renderExamples() {
  const box = $("examples");
  const have = new Set(state.adapters.map((e) => taskOf(e.name)));
  const groups = new Map();
  for (const ex of EXAMPLES) if (have.has(ex.task)) groups.set(ex.task, [...(groups.get(ex.task) ?? []), ex]);
  box.replaceChildren(
    ...[...groups].map(([task, exs]) =>
      el(
        "div",
        { class: "ex-group", role: "group", "aria-label": `Examples for ${task}` },
        el("span", { class: "ex-task", text: `${task}:` }),
        ...exs.map((ex) => el("button", { type: "button", class: "example", "data-task": task, title: ex.text, text: ex.label, onclick: () => useExample(ex) })),
      ),
    ),
  );
}

// useExample fills the text box and, when no picked adapter does the example's task, picks the
// first adapter that does.
function useExample(ex) {
  $("text").value = ex.text;
  save();
  if (!state.selected.some((n) => taskOf(n) === ex.task)) {
    const r = [...state.rows.values()].find((r) => taskOf(r.entry.name) === ex.task);
    if (r) select(r);
  }
  schedule(0);
}

function save() {
  if (state.restoring) return;
  try {
    localStorage.setItem(SAVED, JSON.stringify({ selected: state.selected, composition: composition(), text: $("text").value }));
  } catch {
    // storage full or disabled: the page works without it
  }
}

function restore() {
  let saved;
  try {
    saved = JSON.parse(localStorage.getItem(SAVED) ?? "null");
  } catch {
    saved = null;
  }
  if (!saved || typeof saved !== "object") return;
  state.restoring = true;
  try {
    if (typeof saved.text === "string" && !$("text").value) $("text").value = saved.text;
    const radio = document.querySelector(`input[name="composition"][value="${CSS.escape(String(saved.composition ?? ""))}"]`);
    if (radio) radio.checked = true;
    for (const n of Array.isArray(saved.selected) ? saved.selected : []) {
      const r = state.rows.get(n);
      if (r) select(r);
    }
    updateComposition();
    if (saved.composition === "Fuse" && !document.querySelector('input[value="Fuse"]').disabled) document.querySelector('input[value="Fuse"]').checked = true;
  } finally {
    state.restoring = false;
  }
}

// ---- classification ------------------------------------------------------------------------

let timer = 0;
let running = false;
let again = false;

function schedule(delay = DEBOUNCE_MS) {
  clearTimeout(timer);
  timer = setTimeout(run, delay);
}

// run classifies the current text; calls never overlap, and a change during a call runs once more
// after it with the newest text.
async function run() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  try {
    do {
      again = false;
      await classifyOnce();
    } while (again);
  } finally {
    running = false;
  }
}

// announce tells screen readers one thing, once (the results area itself is not a live region:
// it changes with every keystroke).
function announce(text) {
  $("announce").textContent = text;
}

async function classifyOnce() {
  const text = $("text").value.trim();
  const names = active();
  const results = $("results");
  if (!state.model || !text || !names.length) {
    const why = !state.model ? "The base model is still loading." : !names.length ? (state.selected.length ? "Waiting for the adapter to load…" : "Pick an adapter above, or click an example.") : "Type some text above, or click an example.";
    results.replaceChildren(el("p", { class: "muted", text: why }));
    results.dataset.state = "idle";
    return;
  }
  const setup = setupFor(names);
  results.dataset.state = "running";
  results.setAttribute("aria-busy", "true");
  const t0 = performance.now();
  try {
    const { res, passes, note } = await classifySetup(text, setup, names);
    const ms = performance.now() - t0;
    const stats = await state.model.refreshStats();
    updateTotals(stats);
    renderResults(text, setup, names, res, ms, stats, passes, note);
  } catch (e) {
    results.replaceChildren(el("p", { class: "muted", text: `No result for ${setup}.` }));
    results.dataset.state = "error";
    showError(`Classifying with ${setup} failed`, e, { setupWords: setupWords(names, e) });
  } finally {
    results.removeAttribute("aria-busy");
  }
}

// setupWords says in plain words why a setup was refused.
function setupWords(names, err) {
  const lora = names.filter((n) => state.rows.get(n)?.entry.method === "lora");
  const other = names.filter((n) => !lora.includes(n));
  if (lora.length && other.length) {
    return `${list(lora)} ${lora.length === 1 ? "is a LoRA adapter: it changes" : "are LoRA adapters: they change"} the attention weights themselves, while ${list(other)} ${other.length === 1 ? "adds its own layers" : "add their own layers"}; the two kinds cannot share one forward pass (the AdapterHub library refuses it too).`;
  }
  return /LoRA/.test(String(err?.message)) ? "a LoRA adapter cannot be combined this way." : undefined;
}

// refused holds the Parallel setups Go refused (code "setup"), with the reason in plain words.
const refused = new Map();

// classifySetup runs setup on text. A Parallel the model refuses, such as a LoRA adapter beside
// bottleneck adapters (the reference library refuses it too: LoRA branches must line up), runs as
// one pass per adapter instead, with the reason as a note.
async function classifySetup(text, setup, names) {
  if (!refused.has(setup)) {
    try {
      const [res] = await state.model.classify(text, { adapters: setup });
      return { res, passes: 1 };
    } catch (e) {
      if (!(names.length > 1 && setup.startsWith("Parallel(") && e.code === "setup")) throw e;
      refused.set(setup, { words: setupWords(names, e) ?? "the model refused to run them in one pass.", detail: e.message });
    }
  }
  const heads = {};
  let input;
  for (const n of names) {
    [heads[n]] = await state.model.classify(text, { adapters: n });
    input ??= heads[n].input;
    delete heads[n].input;
  }
  return { res: { heads, input }, passes: names.length, note: refused.get(setup) };
}

// nonLatinShare is the share of the text's letters outside the Latin script: the base model
// learned English, and a mostly non-Latin text is outside what it was trained on even when its
// vocabulary can spell it (it has many CJK characters, for one).
function nonLatinShare(text) {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (!letters.length) return 0;
  return letters.filter((c) => !/\p{Script=Latin}/u.test(c)).length / letters.length;
}

// inputWarnings lists what the model could not read well, from the package's result.input.
function inputWarnings(text, input) {
  const out = [];
  const max = state.model?.config?.maxLength ?? 256;
  if (input?.truncated) {
    const of = input.tokens >= COUNTED ? `more than ${COUNTED.toLocaleString("en")}` : input.tokens.toLocaleString("en");
    out.push({ kind: "truncated", text: `Truncated to ${max} of ${of} tokens: the model read only the beginning of this text, and its answer says nothing about the rest.` });
  }
  if (input && input.unknownShare >= UNKNOWN_WARN) out.push({ kind: "unknown", text: `${pct0(input.unknownShare)} of the tokens are unknown to the model's vocabulary ([UNK]: emoji, unusual symbols or scripts): it cannot see what they say, so the answer below is a guess.` });
  if (nonLatinShare(text) >= 0.5) out.push({ kind: "language", text: "This does not look like English: the base model was trained on English text, so answers on other languages are unreliable." });
  return out;
}

function renderResults(text, setup, names, res, ms, stats, passes = 1, note = null) {
  const results = $("results");
  // Parallel: one result per head, in the order the adapters were picked. Otherwise one result,
  // from the head the setup implies: the adapter's own; for Stack the last adapter's; for Fuse
  // the fusion's (as the Python library picks them).
  const fusion = setup.startsWith("Fuse(") ? fusionFor(names) : null;
  let heads;
  if (res.heads) {
    const order = (h) => (names.indexOf(h) < 0 ? names.length : names.indexOf(h));
    heads = Object.entries(res.heads).sort(([a], [b]) => order(a) - order(b));
  } else heads = [[res.head ?? fusion?.name ?? names.at(-1), res]];
  const summary = el(
    "p",
    { class: "run-meta", "data-ms": String(Math.round(ms)) },
    el("code", { text: setup }),
    passes === 1 ? ` · ${heads.length} head${heads.length === 1 ? "" : "s"} in one forward pass` : ` · ${passes} passes, one per adapter`,
    ` · ${fmtMs(ms)} · ${res.input ? `${res.input.tokens.toLocaleString("en")} tokens · ` : ""}${fmtBytes(stats.bytesFetched)} downloaded so far`,
  );
  const notes = [];
  if (note) notes.push(el("div", { class: "note" }, el("p", { text: `These adapters cannot share one pass, so each ran on its own: ${note.words}` }), el("details", {}, el("summary", { text: "Details" }), el("code", { text: note.detail }))));
  if (setup.startsWith("Stack(")) {
    const tasks = new Set(names.map(taskOf));
    notes.push(el("p", { class: "note", "data-note": "stack", text: `Stacked adapters that were trained alone: read this as ${names.at(-1)}'s answer, bent by ${list(names.slice(0, -1))}${tasks.size > 1 ? ", not a judgement that combines their tasks" : ""}.` }));
  }
  const warnings = inputWarnings(text, res.input);
  for (const w of warnings) notes.push(el("p", { class: "warn", "data-warning": w.kind, text: w.text }));
  const title = (head) => {
    if (res.heads || names.length === 1) return head;
    if (fusion) return `${setup} → the fusion's head`;
    return `${setup} → ${head}'s head`;
  };
  const cards = heads.map(([head, r]) => card(head, title(head), r, text, fusion));
  results.replaceChildren(summary, ...notes, ...cards);
  results.dataset.state = "done";
  results.dataset.setup = setup;
  results.dataset.passes = String(passes);
  results.dataset.text = text;
  results.dataset.tokens = String(res.input?.tokens ?? "");
  results.dataset.truncated = String(!!res.input?.truncated);
  results.dataset.unknownShare = String(res.input?.unknownShare ?? "");
  results.dataset.warnings = warnings.map((w) => w.kind).join(" ");
  // Once per classification, and only for the newest text (not for one typed over meanwhile).
  if (!again) announce(`${heads.map(([h, r]) => `${h}: ${labelOf(r) ?? "no label"}${r.score !== undefined ? ` ${pct0(r.score)}` : ""}`).join("; ")}.${warnings.length ? ` ${warnings.map((w) => w.text.split(":")[0]).join(". ")}.` : ""}`);
}

function labelOf(r) {
  if (Array.isArray(r.labels)) return r.labels.length ? r.labels.join(", ") : "(none)";
  return r.label;
}

function card(head, title, r, text, fusion) {
  const entry = state.rows.get(head)?.entry ?? (fusion?.name === head ? fusion : undefined);
  const order = entry?.labels?.length && r.scores && entry.labels.every((l) => l in r.scores) ? entry.labels : Object.keys(r.scores ?? {});
  const label = labelOf(r);
  const c = el("article", { class: "result", "data-head": head, "data-label": label ?? "", "data-score": r.score, "data-text": text });
  c.append(el("header", {}, el("h3", { text: title }), el("span", { class: "label", text: label ?? "—" }), r.score !== undefined ? el("span", { class: "score", text: pct(r.score) }) : null));
  if (label && LABEL_WORDS[label] && LABEL_WORDS[label] !== label) c.querySelector("header").append(el("span", { class: "label-words", text: `(${LABEL_WORDS[label]})` }));
  if (order.length) {
    const ul = el("ul", { class: "probs", "aria-label": `class probabilities for ${head}` });
    for (const l of order) {
      const p = r.scores[l];
      const fill = el("span");
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      ul.append(el("li", { class: l === r.label ? "top" : "" }, el("span", { class: "cls", text: l }), el("span", { class: "pbar", role: "img", "aria-label": `${l} ${pct(p)}` }, fill), el("span", { class: "pct", text: pct(p) })));
    }
    c.append(ul);
  }
  if (r.words) {
    c.append(el("p", { class: "tags" }, ...r.words.map((w) => el("span", { class: "tag", title: pct(w.score ?? 0) }, `${w.word} `, el("small", { text: w.label })))));
  }
  return c;
}

// ---- adapters trained in this page (train.js) ------------------------------------------------

// addTrained lists an adapter the "train your own" panel trained after the index's, loaded (the
// worker holds it), and picks it: the classifier then runs it like any other.
function addTrained(info, { examples, config }) {
  const entry = { name: info.name, kind: "adapter", method: info.method, labels: info.labels ?? [], trained: true };
  const id = `adapter-trained-${state.rows.size}`;
  const box = el("input", { type: "checkbox", id, value: entry.name, "aria-describedby": `${id}-what ${id}-status` });
  const status = el("span", { class: "ad-status", id: `${id}-status` });
  const fill = el("span");
  const row = el(
    "div",
    { class: "adapter", "data-name": entry.name, "data-trained": "true" },
    box,
    el(
      "label",
      { for: id },
      el("span", { class: "ad-name", text: entry.name }),
      el("span", { class: "ad-what", id: `${id}-what`, text: `Trained in this page on ${examples} examples (${config})` }),
      el("span", { class: "ad-labels", text: `Answers: ${entry.labels.join(" · ")}` }),
    ),
    status,
    el("div", { class: "bar small", "aria-hidden": "true" }, fill),
  );
  const r = { entry, row, box, status, fill, state: "idle", cached: false, files: new Map() };
  state.rows.set(entry.name, r);
  state.adapters.push(entry);
  box.addEventListener("change", () => (box.checked ? select(r) : deselect(r)));
  $("adapter-list").append(row);
  document.querySelector('input[name="adapter-source"][value="local"]:not(:checked)')?.click(); // the Hub listing hides this list
  setBar(fill, null, 1);
  setRow(r, "loaded", "trained here");
  select(r);
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  const text = $("text");
  text.addEventListener("input", () => {
    save();
    schedule();
  });
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      schedule(0);
    }
  });
  for (const r of document.querySelectorAll('input[name="composition"]'))
    r.addEventListener("change", () => {
      save();
      schedule(0);
    });

  const json = (u) =>
    fetch(u)
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
  json(SITE).then((s) => {
    state.runtimeSizes = s?.runtime ?? {};
    renderSteps();
    if (state.model) for (const st of STEPS) setStep(st.id, "done", "done");
    else modelProgress();
  });
  // The base model's true size, from its manifest (the package reads the same file).
  json(new URL("manifest.json", BASE)).then((m) => {
    const n = (m?.files ?? []).reduce((a, f) => a + (f.size ?? 0), 0);
    if (!n) return;
    state.baseBytes = n;
    $("base-size").textContent = fmtBytes(n);
  });
  renderSteps();
  mountHub({ state, select, deselect, el, modelName: `sentence-transformers/${MODEL_NAME}` });
  listAdapters({ index: INDEX }).then(
    (entries) => {
      renderAdapters(entries);
      restore();
    },
    (e) => {
      $("adapter-list").replaceChildren(el("p", { class: "muted", text: "No adapters: the index could not be read." }));
      showError("Adapter index failed to load", e);
    },
  );
  state.ready = loadModel();
  mountTrain($("train"), { ready: state.ready, has: (n) => state.rows.has(n), addAdapter: addTrained, showError });
  state.ready.then(
    () => schedule(0),
    () => {},
  );
}

start();
