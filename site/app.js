// The demo page: a base model in a Web Worker (the package's WorkerModelWithHeads), the adapter
// list from the index (listAdapters), adapters streamed when picked, and live classification of
// the text box with one card per head. Everything it fetches comes from this origin.
//
// Progress: the worker posts { id, progress: { url, loaded, total, fromCache } } for every file
// the model reads (worker.js); the page listens on the worker it hands to the client and files
// each event under the base model or the adapter whose directory holds the URL.
import { Fuse, listAdapters, Parallel, Stack } from "./adapterwasm/src/index.js";
import { WorkerModelWithHeads } from "./adapterwasm/src/worker-client.js";

const BASE = new URL("models/minilm-q8/", location.href).href;
const INDEX = new URL("index.json", location.href).href;
const MODEL_NAME = "all-MiniLM-L6-v2"; // what models/minilm-q8 was converted from (./build.sh site)
const DEBOUNCE_MS = 250;

const $ = (id) => document.getElementById(id);

const state = {
  model: null,
  ready: null, // Promise<model>
  adapters: [], // index entries of kind "adapter", in index order
  fusions: [], // index entries of kind "fusion"
  rows: new Map(), // adapter name -> { entry, row, box, status, fill, state, files: Map(url -> {loaded,total,fromCache}) }
  selected: [], // adapter names in the order they were picked
  base: new Map(), // base file url -> { loaded, total, fromCache }
  stats: { bytesFetched: 0, bytesFromCache: 0 },
};

// ---- formatting ----------------------------------------------------------------------------

// Numbers and units are joined by a no-break space, so that "3.8 s" never wraps.
function fmtBytes(n) {
  if (n < 1024) return `${n}\u00a0B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}\u00a0KB`;
  return `${(n / 1024 / 1024).toFixed(1)}\u00a0MB`;
}

const fmtMs = (ms) => (ms < 1000 ? `${Math.round(ms)}\u00a0ms` : `${(ms / 1000).toFixed(1)}\u00a0s`);
const pct = (p) => `${(100 * p).toFixed(1)}%`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for" || k === "title" || k === "id") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---- errors --------------------------------------------------------------------------------

// showError adds a dismissable message to the page's alert region; the rest of the page keeps
// working.
function showError(what, err) {
  const msg = err ? `${err.message ?? err}` : "";
  console.error(what, err);
  const item = el(
    "div",
    { class: "error", "data-code": err?.code ?? "" },
    el("p", {}, el("strong", { text: what }), msg ? ": " : "", msg),
    el("button", { type: "button", class: "dismiss", text: "Dismiss", "aria-label": `Dismiss: ${what}`, onclick: () => item.remove() }),
  );
  const box = $("errors");
  box.append(item);
  while (box.children.length > 5) box.firstElementChild.remove();
  return item;
}

// ---- base model ----------------------------------------------------------------------------

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

function baseProgress() {
  const { loaded, total, fromCache } = sumFiles(state.base);
  const box = $("model-status");
  if (box.dataset.state === "ready" || box.dataset.state === "error") return;
  box.dataset.state = fromCache ? "reading-cache" : "downloading";
  $("model-text").textContent = fromCache ? `Reading the base model from this browser's cache: ${fmtBytes(loaded)}` : `Downloading the base model: ${fmtBytes(loaded)} of ${fmtBytes(total)}`;
  setBar($("model-bar-fill"), $("model-progress"), total ? loaded / total : 0);
}

function onWorkerMessage(ev) {
  const p = ev.data?.progress;
  if (!p?.url) return;
  if (p.url.startsWith(BASE)) {
    state.base.set(p.url, p);
    baseProgress();
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
}

async function loadModel() {
  const t0 = performance.now();
  const worker = new Worker(new URL("adapterwasm/src/worker.js", import.meta.url), { type: "module", name: "adapterwasm" });
  worker.addEventListener("message", onWorkerMessage);
  const box = $("model-status");
  try {
    // onProgress is what makes the worker post progress; the events are read off the worker above.
    const model = await WorkerModelWithHeads.fromPretrained(BASE, { worker, index: INDEX, onProgress: () => {} });
    state.model = model;
    const { bytesFetched, bytesFromCache } = model.stats;
    const ms = performance.now() - t0;
    box.dataset.state = "ready";
    box.dataset.source = bytesFetched === 0 ? "cache" : "network";
    box.dataset.bytesFetched = String(bytesFetched);
    box.dataset.bytesFromCache = String(bytesFromCache);
    box.dataset.ms = String(Math.round(ms));
    $("model-text").replaceChildren(
      el("strong", { text: `${MODEL_NAME} (int8) ready` }),
      bytesFetched === 0
        ? ` — loaded from this browser's cache (${fmtBytes(bytesFromCache)}, 0 bytes downloaded) in ${fmtMs(ms)}.`
        : ` — downloaded ${fmtBytes(bytesFetched)} (${bytesFetched.toLocaleString("en")} bytes) in ${fmtMs(ms)}; later visits load it from the cache.`,
    );
    if (!globalThis.caches) $("model-text").append(el("span", { class: "muted", text: " This page has no Cache API here (it needs https or localhost), so the model is downloaded on every visit." }));
    setBar($("model-bar-fill"), $("model-progress"), 1);
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
  t.textContent = `This session: ${fmtBytes(stats.bytesFetched)} downloaded, ${fmtBytes(stats.bytesFromCache)} read from the cache; ${loaded} adapter${loaded === 1 ? "" : "s"} loaded.`;
}

// ---- adapters ------------------------------------------------------------------------------

function renderAdapters(entries) {
  state.adapters = entries.filter((e) => (e.kind ?? "adapter") === "adapter");
  state.fusions = entries.filter((e) => e.kind === "fusion");
  const list = $("adapter-list");
  list.replaceChildren(el("legend", { class: "sr-only", text: "Adapters" }));
  if (!state.adapters.length) list.append(el("p", { class: "muted", text: "The index lists no adapters." }));
  state.adapters.forEach((entry, i) => {
    const id = `adapter-${i}`;
    const labels = entry.labels ?? [];
    const box = el("input", { type: "checkbox", id, value: entry.name, "aria-describedby": `${id}-meta ${id}-status` });
    const status = el("span", { class: "ad-status", id: `${id}-status`, text: "not loaded" });
    const fill = el("span");
    const row = el(
      "div",
      { class: "adapter", "data-name": entry.name, "data-state": "idle" },
      box,
      el(
        "label",
        { for: id },
        el("span", { class: "ad-name", text: entry.name }),
        el("span", { class: "ad-meta", id: `${id}-meta`, text: [entry.task ?? "no head", methodName(entry.method), `${labels.length} labels`, fmtBytes(entry.size ?? 0)].join(" · ") }),
        labels.length ? el("span", { class: "ad-labels", text: labels.join(", ") }) : null,
      ),
      status,
      el("div", { class: "bar small", "aria-hidden": "true" }, fill),
    );
    const r = { entry, row, box, status, fill, state: "idle", files: new Map() };
    state.rows.set(entry.name, r);
    box.addEventListener("change", () => (box.checked ? select(r) : deselect(r)));
    list.append(row);
  });
}

function methodName(m) {
  return { bottleneck: "bottleneck (seq_bn)", lora: "LoRA", ia3: "IA³", prefix_tuning: "prefix tuning" }[m] ?? m ?? "?";
}

function setRow(r, st, text) {
  r.state = st;
  r.row.dataset.state = st;
  r.status.textContent = text;
}

async function select(r) {
  const name = r.entry.name;
  if (!state.selected.includes(name)) state.selected.push(name);
  updateComposition();
  if (r.state === "loaded") return schedule(0);
  if (r.state === "loading") return;
  r.files.clear();
  setRow(r, "loading", "waiting for the base model");
  setBar(r.fill, null, 0);
  try {
    const model = await state.ready;
    setRow(r, "loading", "loading");
    await model.loadAdapter(name);
    const { loaded, fromCache } = sumFiles(r.files);
    setBar(r.fill, null, 1);
    setRow(r, "loaded", fromCache ? `loaded from cache (${fmtBytes(loaded)})` : `loaded: ${fmtBytes(loaded)} downloaded`);
    r.row.dataset.source = fromCache ? "cache" : "network";
    updateTotals(await model.refreshStats());
  } catch (e) {
    setRow(r, "error", `failed to load (${e.code ?? "error"})`);
    setBar(r.fill, null, 0);
    r.box.checked = false;
    state.selected = state.selected.filter((n) => n !== name);
    updateComposition();
    showError(`Adapter “${name}” failed to load`, e);
  }
  schedule(0);
}

function deselect(r) {
  state.selected = state.selected.filter((n) => n !== r.entry.name);
  updateComposition();
  schedule(0);
}

// active is what classify runs: the picked adapters that are loaded, in the order picked.
const active = () => state.selected.filter((n) => state.rows.get(n)?.state === "loaded");

// fusionFor returns the fusion entry over exactly these adapters, if the index has one.
function fusionFor(names) {
  const key = [...names].sort().join(",");
  return state.fusions.find((f) => [...(f.fuses ?? [])].sort().join(",") === key);
}

function updateComposition() {
  const names = state.selected;
  const fs = $("composition");
  fs.hidden = names.length < 2;
  const fuse = fs.querySelector('input[value="Fuse"]');
  const fusion = names.length >= 2 ? fusionFor(names) : null;
  fuse.disabled = !fusion;
  $("fuse-note").textContent = fusion ? `AdapterFusion “${fusion.name}”, fetched when used` : "needs an AdapterFusion trained over exactly these adapters (the index has none for them)";
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
    case "Fuse":
      return String(Fuse(...fusionFor(names).fuses));
    default:
      return String(Parallel(...names));
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

async function classifyOnce() {
  const text = $("text").value.trim();
  const names = active();
  const results = $("results");
  if (!state.model || !text || !names.length) {
    const why = !state.model ? "The base model is still loading." : !names.length ? (state.selected.length ? "Waiting for the adapter to load…" : "Pick an adapter above.") : "Type some text above.";
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
    showError(`Classifying with ${setup} failed`, e);
  } finally {
    results.removeAttribute("aria-busy");
  }
}

// refused holds the Parallel setups Go refused (code "setup"), with the reason.
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
      refused.set(setup, e.message);
    }
  }
  const heads = {};
  for (const n of names) [heads[n]] = await state.model.classify(text, { adapters: n });
  return { res: { heads }, passes: names.length, note: refused.get(setup) };
}

function renderResults(text, setup, names, res, ms, stats, passes = 1, note = null) {
  const results = $("results");
  // Parallel: one result per head. Otherwise one result, from the head the setup implies: the
  // adapter's own, or for Stack/Fuse the last adapter's (as the Python library picks it).
  const heads = res.heads ? Object.entries(res.heads) : [[res.head ?? names.at(-1), res]];
  const summary = el(
    "p",
    { class: "run-meta" },
    el("code", { text: setup }),
    passes === 1 ? ` · ${heads.length} head${heads.length === 1 ? "" : "s"} in one forward pass · ${fmtMs(ms)}` : ` · ${passes} passes, one per adapter · ${fmtMs(ms)}`,
    note ? el("span", { class: "note", text: `These adapters cannot share one pass (${note.replace(/^adapters: /, "").replace(/^setup [^:]*: /, "")}).` }) : null,
  );
  const title = (head) => (res.heads || names.length === 1 ? head : `${setup} → ${head} head`);
  const cards = heads.map(([head, r]) => card(head, title(head), r, text, ms, stats));
  results.replaceChildren(summary, ...cards);
  results.dataset.state = "done";
  results.dataset.setup = setup;
  results.dataset.passes = String(passes);
  results.dataset.text = text;
}

function card(head, title, r, text, ms, stats) {
  const entry = state.rows.get(head)?.entry;
  const order = entry?.labels?.length && r.scores && entry.labels.every((l) => l in r.scores) ? entry.labels : Object.keys(r.scores ?? {});
  let label = r.label;
  if (Array.isArray(r.labels)) label = r.labels.length ? r.labels.join(", ") : "(none)";
  const c = el("article", { class: "result", "data-head": head, "data-label": label ?? "", "data-score": r.score, "data-text": text });
  c.append(
    el("header", {}, el("h3", { text: title }), el("span", { class: "label", text: label ?? "—" }), r.score !== undefined ? el("span", { class: "score", text: pct(r.score) }) : null),
  );
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
  c.append(el("p", { class: "meta", "data-ms": String(Math.round(ms)) }, `${fmtMs(ms)} · ${fmtBytes(stats.bytesFetched)} fetched so far`));
  return c;
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  const text = $("text");
  text.addEventListener("input", () => schedule());
  text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      schedule(0);
    }
  });
  for (const r of document.querySelectorAll('input[name="composition"]')) r.addEventListener("change", () => schedule(0));

  listAdapters({ index: INDEX }).then(renderAdapters, (e) => {
    $("adapter-list").replaceChildren(el("p", { class: "muted", text: "No adapters: the index could not be read." }));
    showError("Adapter index failed to load", e);
  });
  state.ready = loadModel();
  state.ready.then(
    () => schedule(0),
    () => {},
  );
}

start();
