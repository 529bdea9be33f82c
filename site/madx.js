// The demo page's cross-lingual section (MAD-X): one task adapter, "sentiment", under a language
// adapter the visitor picks, "lang_l1" or "lang_l2", on its own base model in its own Web Worker
// (the package's WorkerModelWithHeads), loaded when the visitor asks for it. Everything comes
// from madx/ on this origin (./build.sh site): the base (testdata/archs' random-weight XLM-R,
// converted to f32), the three adapters of testdata/madx_demo and their index, and demo.json
// (the held-out sentences, their labels, the lexicon l1 → l2 and the library's accuracies, from
// testdata/madx_demo/golden/demo.json).
//
// It is a SYNTHETIC demo and the page says so: a never-trained base, a toy English and an
// invented language (testdata/madx_demo/README.md). Kept apart from app.js, which it shares
// nothing with but the package and the styles; index.html mounts it into <section id="madx">.
import { listAdapters, Stack } from "./adapterwasm/src/index.js";
import { WorkerModelWithHeads } from "./adapterwasm/src/worker-client.js";

const DIR = new URL("madx/", location.href);
const BASE = new URL("model/", DIR).href;
const INDEX = new URL("index.json", DIR).href;
const DEMO = new URL("demo.json", DIR).href;
const TASK = "sentiment";
// The base's name, as its adapters' model_name gives it (make_archs.py; build.sh converts the base
// with this --name): the list below keeps the adapters trained for it, of a runnable architecture.
const MODEL_NAME = "adapterwasm/tiny-xlm-roberta";
const LANGS = [
  { adapter: "lang_l1", lang: "l1", name: "l1, a toy English" },
  { adapter: "lang_l2", lang: "l2", name: "l2, an invented language" },
];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || ["role", "for", "id", "name", "type", "value", "href"].includes(k)) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const fmtKB = (n) => `${Math.round(n / 1000)}\u00a0KB`;
const pct = (p) => `${Math.round(100 * p)}%`;
const setupOf = (adapter) => String(Stack(adapter, TASK));

const state = { model: null, demo: null, listed: null, pairs: [], running: false, again: false };

// mount renders the section's static part: what it is (synthetic, said plainly), and the button
// that loads it.
function mount(root) {
  root.replaceChildren(
    el("h2", { id: "madx-h", text: "Cross-lingual transfer (MAD-X): swap the language adapter" }),
    el(
      "p",
      { class: "synthetic", "data-synthetic": "" },
      el("strong", { text: "A synthetic demo, not a real language model. " }),
      "Its base is a tiny XLM-RoBERTa with random weights (hidden size 32, never pretrained: no multilingual encoder was available to build this demo from), and its two “languages” are made up: ",
      el("em", { text: "l1" }),
      " is a toy English (“the movie was not good”), ",
      el("em", { text: "l2" }),
      " the same sentences with every word swapped for another English word (“written all any other what”). What it shows is real: the AdapterHub adapters and the ",
      el("code", { text: "Stack" }),
      " run here exactly as the Python library runs them.",
    ),
    el(
      "p",
      {},
      "MAD-X trains one ",
      el("strong", { text: "language adapter" }),
      " per language (here with masked language modelling on unlabelled text) and one ",
      el("strong", { text: "task adapter" }),
      " on labelled text of one language only, stacked on that language's adapter. The task adapter ",
      el("code", { text: TASK }),
      " was trained on labelled l1 sentences only, under ",
      el("code", { text: "lang_l1" }),
      ". Put ",
      el("code", { text: "lang_l2" }),
      " under it instead, and it reads l2, whose labels it never saw.",
    ),
    el("button", { type: "button", id: "madx-start", text: "Load the cross-lingual demo" }),
    el("p", { id: "madx-status", class: "muted", "data-state": "idle", role: "status" }),
    el("div", { id: "madx-body", hidden: true }),
  );
  // listAdapters, as the Python library's list_adapters(model_name=…), of runnable architectures only
  state.listed = listAdapters({ index: INDEX, runnable: true, modelName: MODEL_NAME });
  state.listed.then(
    (entries) => {
      const size = entries.reduce((a, e) => a + (e.size ?? 0), 0);
      if (size) $("madx-start").textContent = `Load the cross-lingual demo (adapters ${fmtKB(size)}, plus a small base model)`;
    },
    () => {},
  );
  $("madx-start").addEventListener("click", start, { once: true });
}

function status(st, text) {
  const p = $("madx-status");
  p.dataset.state = st;
  p.textContent = text;
}

// start loads demo.json, the base model (in its own worker) and the three adapters, then shows
// the controls and classifies.
async function start() {
  $("madx-start").disabled = true;
  status("loading", "Loading the base model and the adapters…");
  const t0 = performance.now();
  try {
    const [demo, model] = await Promise.all([
      fetch(DEMO).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status} for demo.json`);
        return r.json();
      }),
      WorkerModelWithHeads.fromPretrained(BASE, { worker: new Worker(new URL("adapterwasm/src/worker.js", import.meta.url), { type: "module", name: "adapterwasm-madx" }), index: INDEX }),
    ]);
    // (listed again if the first listing failed)
    const entries = await state.listed.catch(() => (state.listed = listAdapters({ index: INDEX, runnable: true, modelName: MODEL_NAME })));
    const listed = new Set(entries.map((e) => e.name));
    for (const a of [...LANGS.map((l) => l.adapter), TASK]) {
      if (!listed.has(a)) throw new Error(`the index lists no adapter ${a} for ${MODEL_NAME}`);
      await model.loadAdapter(a);
    }
    state.model = model;
    state.demo = demo;
    // the held-out sentences as pairs: an l1 sentence and its l2 translation
    demo.texts.forEach((t, i) => {
      if (demo.languages[i] === "l1") state.pairs.push({ l1: t, l2: translate(t, demo.lexicon), label: demo.label_names[demo.labels[i]] });
    });
    const stats = await model.refreshStats();
    $("madx-start").hidden = true;
    status("ready", `Ready in ${((performance.now() - t0) / 1000).toFixed(1)}\u00a0s (${fmtKB(stats.bytesFetched)} downloaded).`);
    render();
    await classify();
    await accuracy();
  } catch (e) {
    console.error("cross-lingual demo", e);
    status("error", `The cross-lingual demo failed to load: ${e.message ?? e}`);
    $("madx-start").disabled = false;
    $("madx-start").addEventListener("click", start, { once: true });
  }
}

function translate(text, lexicon) {
  return text
    .split(/\s+/)
    .map((w) => lexicon[w] ?? w)
    .join(" ");
}

function render() {
  const body = $("madx-body");
  const langs = el(
    "fieldset",
    { id: "madx-langs" },
    el("legend", {}, "Language adapter under ", el("code", { text: TASK })),
    ...LANGS.map((l, i) =>
      el("label", {}, el("input", { type: "radio", name: "madx-lang", value: l.adapter, checked: i === 0, onchange: classify }), " ", el("code", { text: l.adapter }), ` (${l.name})`),
    ),
  );
  const pick = el(
    "label",
    { class: "madx-pick" },
    "Held-out sentence (neither adapter saw its label) ",
    el("select", { id: "madx-sentence", onchange: classify }, ...state.pairs.map((p, i) => el("option", { value: String(i), text: `${p.l1} (${p.label})` }))),
  );
  body.replaceChildren(
    langs,
    pick,
    el("p", { id: "madx-setup", class: "muted" }),
    el(
      "table",
      { id: "madx-pair", class: "madx-table" },
      el("thead", {}, el("tr", {}, el("th", { text: "language" }), el("th", { text: "sentence" }), el("th", { text: "true label" }), el("th", { text: "answer" }))),
      el("tbody"),
    ),
    // one polite line per answer, for screen readers (the table itself is not a live region)
    el("p", { id: "madx-announce", class: "sr-only", "aria-live": "polite", "aria-atomic": "true" }),
    el("h3", { text: "All 60 held-out sentences, each in both languages" }),
    el(
      "table",
      { id: "madx-accuracy", class: "madx-table" },
      el("thead", {}, el("tr", {}, el("th", { text: "setup" }), el("th", { text: "accuracy on l1" }), el("th", { text: "accuracy on l2" }))),
      el("tbody"),
    ),
    el("p", { class: "muted", id: "madx-accuracy-note", text: "Computed in this page; the Python library's own figures in parentheses. Chance is 50%." }),
  );
  body.hidden = false;
}

const chosen = () => document.querySelector('input[name="madx-lang"]:checked')?.value ?? LANGS[0].adapter;

// classify runs the chosen stack on the chosen sentence in both languages; calls never overlap,
// and a change during one runs once more after it.
async function classify() {
  if (state.running) {
    state.again = true;
    return;
  }
  state.running = true;
  try {
    do {
      state.again = false;
      const adapter = chosen();
      const setup = setupOf(adapter);
      const pair = state.pairs[Number($("madx-sentence").value)];
      const res = await state.model.classify([pair.l1, pair.l2], { adapters: setup });
      const lang = LANGS.find((l) => l.adapter === adapter).lang;
      $("madx-setup").replaceChildren("Running ", el("code", { text: setup }), `: the task adapter reads ${lang} through ${adapter}.`);
      const tbody = $("madx-pair").querySelector("tbody");
      tbody.replaceChildren(
        ...["l1", "l2"].map((l, i) => {
          const r = res[i];
          const right = r.label === pair.label;
          return el(
            "tr",
            { "data-lang": l, "data-label": r.label, "data-score": String(r.score), "data-right": String(right), "data-own": String(l === lang) },
            el("th", { scope: "row", text: l }),
            el("td", {}, el("q", { text: l === "l1" ? pair.l1 : pair.l2 })),
            el("td", { text: pair.label }),
            el("td", { class: right ? "right" : "wrong" }, `${r.label} ${pct(r.score)} `, el("span", { class: "mark", text: right ? "✓" : "✗", "aria-label": right ? "right" : "wrong" })),
          );
        }),
      );
      $("madx-pair").dataset.setup = setup;
      if (!state.again) $("madx-announce").textContent = `${setup}: ${["l1", "l2"].map((l, i) => `${l} ${res[i].label}, ${res[i].label === pair.label ? "right" : "wrong"}`).join("; ")}.`;
    } while (state.again);
  } catch (e) {
    console.error("cross-lingual demo", e);
    status("error", `Classifying failed: ${e.message ?? e}`);
  } finally {
    state.running = false;
  }
}

// accuracy classifies every held-out sentence of both languages under both stacks, in this page,
// beside the library's figures (demo.json).
async function accuracy() {
  const d = state.demo;
  const tbody = $("madx-accuracy").querySelector("tbody");
  const rows = [];
  for (const l of LANGS) {
    const setup = setupOf(l.adapter);
    const res = await state.model.classify(d.texts, { adapters: setup });
    const acc = {};
    for (const lang of ["l1", "l2"]) {
      const idx = d.texts.map((_, i) => i).filter((i) => d.languages[i] === lang);
      acc[lang] = idx.filter((i) => res[i].label === d.label_names[d.labels[i]]).length / idx.length;
    }
    const lib = d.accuracy[setup];
    rows.push(
      el(
        "tr",
        { "data-setup": setup, "data-l1": String(acc.l1), "data-l2": String(acc.l2) },
        el("th", { scope: "row" }, el("code", { text: setup })),
        ...["l1", "l2"].map((lang) => el("td", { class: lang === l.lang ? "own" : "" }, `${pct(acc[lang])} `, el("span", { class: "muted", text: `(${pct(lib[lang])})` }))),
      ),
    );
  }
  tbody.replaceChildren(...rows);
  $("madx-accuracy").dataset.state = "done";
}

const root = $("madx");
if (root) mount(root);
