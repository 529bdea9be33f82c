// The demo page's "train your own" panel: labelled lines pasted or dropped (label<TAB>text, CSV
// or JSON lines), a small held-out dev split, model.trainAdapter in the page's Web Worker with
// the loss and dev accuracy plotted live and a cancel button, the trained adapter handed to the
// classifier above (app.js), and "Download zip": saveAdapter's AdapterHub directory, zipped.
//
// The parsing and splitting (parseExamples, splitDev) touch no DOM, so that Node tests them
// (site/test/train-parse.test.js); mountTrain builds the panel into <section id="train">. The
// package's zip writer is imported when first needed (the package sits beside the page only in
// the assembled site: ./build.sh site).

// Bounds, so that a wrong or hostile file gives a message, not a hung tab: the bytes read, the
// examples kept, the labels and each label's bytes (the trainer's own bounds: train.MaxLabels,
// MaxLabelBytes), a text's characters (the model reads at most MAX_LENGTH tokens anyway).
export const LIMITS = { bytes: 20e6, examples: 20_000, labels: 1024, labelBytes: 256, textChars: 10_000 };

// What training runs with: one step is BATCH texts of at most MAX_LENGTH tokens, which keeps the
// trainer's activations near 130 KB × 16 × 128 ≈ 270 MB on MiniLM (README, "Training adapters").
const BATCH = 16;
const MAX_LENGTH = 128;
const LR = 1e-3;
const METHODS = [
  { config: "seq_bn", words: "bottleneck adapter (seq_bn)" },
  { config: "lora", words: "LoRA (r 8, on q and v)" },
  { config: "ia3", words: "IA³" },
];

export class ParseError extends Error {
  constructor(message) {
    super(message);
    this.name = "ParseError";
  }
}

const utf8Bytes = (s) => new TextEncoder().encode(s).length;
const show = (s, n = 40) => JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s);

// clean makes a text or label plain: NFC, no byte-order mark, no control characters but spaces
// (a NUL or an escape sequence in a pasted file is noise to the tokenizer), lone surrogates
// replaced, whitespace runs collapsed.
function clean(s) {
  return s
    .normalize("NFC")
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD")
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b\u2028\u2029\uFEFF]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

// csvRows splits RFC 4180 CSV: fields separated by commas, quoted with "…" (a quote doubled
// inside), a quoted field may span lines. It yields [fields, line number].
function* csvRows(text) {
  let i = 0,
    line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const row = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new ParseError(`line ${start}: a quoted CSV field is never closed`);
          const c = text[i++];
          if (c === '"') {
            if (text[i] === '"') {
              field += '"';
              i++;
            } else break;
          } else {
            if (c === "\n") line++;
            field += c;
          }
        }
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") i++; // text after a closing quote: dropped
      } else {
        let j = i;
        while (j < n && text[j] !== "," && text[j] !== "\n" && text[j] !== "\r") j++;
        field = text.slice(i, j);
        i = j;
      }
      row.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    yield [row, start];
  }
}

// parseExamples reads labelled examples from text: JSON lines {"text": …, "label": …} when the
// first line starts with "{", label<TAB>text lines when it has a tab, else CSV with a header
// naming "text" and "label" columns or, without one, label,text rows. Empty lines are skipped.
// It returns { examples: [{text, label}], labels (sorted), format, skipped }, or throws a
// ParseError whose message says what is wrong and where.
export function parseExamples(input) {
  if (typeof input !== "string") throw new ParseError("no text");
  if (input.length > LIMITS.bytes) throw new ParseError(`${(input.length / 1e6).toFixed(1)} MB of text; at most ${LIMITS.bytes / 1e6} MB`);
  const text = input.replace(/^\uFEFF/, "");
  const first = text.split("\n", 64).find((l) => l.trim() !== "") ?? "";
  if (!first) throw new ParseError("nothing to train on: paste labelled lines (label<TAB>text, CSV or JSON lines)");
  const format = first.trimStart().startsWith("{") ? "jsonl" : first.includes("\t") ? "tsv" : "csv";
  const examples = [];
  let skipped = 0;
  const add = (label, txt, where) => {
    const l = clean(String(label ?? ""));
    const t = clean(String(txt ?? ""));
    if (!l && !t) {
      skipped++;
      return;
    }
    if (!l) throw new ParseError(`${where}: no label (${format === "tsv" ? "label<TAB>text: the label comes first" : "an empty label"})`);
    if (!t) throw new ParseError(`${where}: no text for label ${show(l)}`);
    if (utf8Bytes(l) > LIMITS.labelBytes) throw new ParseError(`${where}: a label of ${utf8Bytes(l)} bytes (${show(l)}); at most ${LIMITS.labelBytes}. Is the label column the right one?`);
    if (examples.length >= LIMITS.examples) throw new ParseError(`more than ${LIMITS.examples.toLocaleString("en")} examples; this page trains on at most that many (training in a browser tab is slow: use the command line, adapterwasm train, for more)`);
    examples.push({ text: t.length > LIMITS.textChars ? t.slice(0, LIMITS.textChars) : t, label: l });
  };
  if (format === "csv") {
    let cols = null;
    for (const [row, line] of csvRows(text)) {
      if (row.length === 1 && row[0].trim() === "") {
        skipped++;
        continue;
      }
      if (cols === null) {
        const names = row.map((f) => f.trim().toLowerCase());
        const ti = names.indexOf("text"),
          li = names.indexOf("label");
        cols = ti >= 0 && li >= 0 ? { text: ti, label: li, n: row.length } : { text: 1, label: 0, n: 2 };
        if (ti >= 0 && li >= 0) continue;
      }
      if (row.length < 2) throw new ParseError(`line ${line}: one CSV field; want label,text (or a header row naming the "text" and "label" columns), or label<TAB>text lines`);
      if (cols.n === 2 && row.length > 2) add(row[0], row.slice(1).join(","), `line ${line}`);
      else add(row[cols.label], row[cols.text], `line ${line}`);
    }
  } else {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i].replace(/\r$/, "");
      if (raw.trim() === "") {
        skipped++;
        continue;
      }
      const where = `line ${i + 1}`;
      if (format === "jsonl") {
        let o;
        try {
          o = JSON.parse(raw);
        } catch {
          throw new ParseError(`${where}: not JSON (${show(raw)}); JSON lines are {"text": …, "label": …}, one per line`);
        }
        if (!o || typeof o !== "object" || Array.isArray(o)) throw new ParseError(`${where}: not a JSON object`);
        if (typeof o.text !== "string") throw new ParseError(`${where}: no "text" string`);
        if (typeof o.label !== "string" && typeof o.label !== "number") throw new ParseError(`${where}: "label" must be a string or a number`);
        add(o.label, o.text, where);
      } else {
        const tab = raw.indexOf("\t");
        if (tab < 0) throw new ParseError(`${where}: no tab; want label<TAB>text (${show(raw)})`);
        const label = raw.slice(0, tab),
          txt = raw.slice(tab + 1);
        if (i === 0 && label.trim().toLowerCase() === "label" && txt.trim().toLowerCase() === "text") continue; // a header
        add(label, txt, where);
      }
    }
  }
  const counts = new Map();
  for (const e of examples) {
    counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
    if (counts.size > LIMITS.labels) {
      throw new ParseError(`more than ${LIMITS.labels.toLocaleString("en")} different labels; a head may have at most ${LIMITS.labels.toLocaleString("en")}. Is the label column the right one? (${format === "tsv" ? "label<TAB>text: the label comes first" : format === "csv" ? "without a header, CSV rows are label,text" : '"label" holds the class'})`);
    }
  }
  if (counts.size < 2) throw new ParseError(examples.length ? `only one label (${show(examples[0].label)}); a classifier needs at least two` : "no examples");
  return { examples, labels: [...counts.keys()].sort(), counts, format, skipped };
}

// mulberry32: a small seeded PRNG, so that the same data always gives the same split.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// splitDev holds out a dev split: share of each label's examples (at most max in all), never a
// label's last two; none when there are fewer than 20 examples. Seeded: the same examples give
// the same split.
export function splitDev(examples, { share = 0.1, max = 200, seed = 1 } = {}) {
  if (examples.length < 20) return { train: examples.slice(), dev: [] };
  const r = rng(seed);
  const order = examples.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const per = new Map();
  for (const i of order) per.set(examples[i].label, [...(per.get(examples[i].label) ?? []), i]);
  const want = Math.min(max, Math.round(share * examples.length));
  const dev = new Set();
  for (const idx of per.values()) for (const i of idx.slice(0, Math.min(Math.floor(share * idx.length), idx.length - 2))) dev.add(i);
  const kept = [...dev].slice(0, want);
  const isDev = new Set(kept);
  return { train: order.filter((i) => !isDev.has(i)).map((i) => examples[i]), dev: kept.map((i) => examples[i]) };
}

// ---- the panel ------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (/^(data-|aria-)|^(role|for|id|title|viewBox|d|points|x|y|x1|x2|y1|y2|cx|cy|r|width|height|class|preserveAspectRatio)$/.test(k)) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (k === "text") e.textContent = v;
  else e.setAttribute(k, v);
  return e;
}

// thin returns at most n points: the means of equal runs of consecutive points when there are
// more (a run of 20 epochs is thousands of steps; redrawing them all at every step would not scale).
function thin(points, n) {
  if (points.length <= n) return points;
  const out = [];
  for (let i = 0; i < n; i++) {
    const run = points.slice(Math.floor((i * points.length) / n), Math.floor(((i + 1) * points.length) / n));
    out.push([run.reduce((a, [s]) => a + s, 0) / run.length, run.reduce((a, [, v]) => a + v, 0) / run.length]);
  }
  return out;
}

const fmtTime = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;

// Plot draws the loss after every step (left axis, from 0 to the largest seen) and the dev
// accuracy after every epoch (right axis, 0 to 100%) over the steps, in an SVG.
class Plot {
  constructor(steps) {
    this.W = 320;
    this.H = 140;
    this.pad = { l: 34, r: 34, t: 8, b: 18 };
    this.steps = Math.max(1, steps);
    this.loss = [];
    this.acc = [];
    this.el = svg("svg", { viewBox: `0 0 ${this.W} ${this.H}`, class: "train-plot", role: "img", "aria-label": "Training loss and dev accuracy" });
    const { l, r, t, b } = this.pad;
    const axes = svg("g", { class: "axes" });
    axes.append(svg("line", { x1: l, y1: this.H - b, x2: this.W - r, y2: this.H - b }), svg("line", { x1: l, y1: t, x2: l, y2: this.H - b }), svg("line", { x1: this.W - r, y1: t, x2: this.W - r, y2: this.H - b }));
    this.lossMax = svg("text", { x: l - 4, y: t + 8, "text-anchor": "end", class: "loss-label", text: "" });
    axes.append(
      this.lossMax,
      svg("text", { x: l - 4, y: this.H - b, "text-anchor": "end", class: "loss-label", text: "0" }),
      svg("text", { x: this.W - r + 4, y: t + 8, class: "acc-label", text: "100%" }),
      svg("text", { x: this.W - r + 4, y: this.H - b, class: "acc-label", text: "0%" }),
      svg("text", { x: (l + this.W - r) / 2, y: this.H - 4, "text-anchor": "middle", class: "step-label", text: "steps" }),
    );
    this.lossLine = svg("polyline", { class: "loss-line", points: "" });
    this.accLine = svg("polyline", { class: "acc-line", points: "" });
    this.accDots = svg("g", { class: "acc-dots" });
    this.el.append(axes, this.lossLine, this.accLine, this.accDots);
  }
  x(step) {
    return this.pad.l + ((this.W - this.pad.l - this.pad.r) * step) / this.steps;
  }
  y(v) {
    return this.H - this.pad.b - (this.H - this.pad.t - this.pad.b) * v;
  }
  add(p) {
    this.loss.push([p.step, p.stepLoss]);
    if (p.devAccuracy !== undefined) this.acc.push([p.step, p.devAccuracy]);
    this.max = Math.max(this.max ?? 1e-6, p.stepLoss);
    const max = this.max;
    this.lossMax.textContent = max.toFixed(2);
    this.lossLine.setAttribute("points", thin(this.loss, 300).map(([s, v]) => `${this.x(s).toFixed(1)},${this.y(v / max).toFixed(1)}`).join(" "));
    this.accLine.setAttribute("points", this.acc.map(([s, v]) => `${this.x(s).toFixed(1)},${this.y(v).toFixed(1)}`).join(" "));
    this.accDots.replaceChildren(...this.acc.map(([s, v]) => svg("circle", { cx: this.x(s).toFixed(1), cy: this.y(v).toFixed(1), r: 2.5 })));
    this.el.dataset.points = String(this.loss.length);
    this.el.dataset.accPoints = String(this.acc.length);
  }
}

// mountTrain builds the panel into section (#train). app: { ready: Promise<model> (the page's
// WorkerModelWithHeads), has(name) (the page has an adapter so named), addAdapter(info,
// {examples, config}) (lists a trained adapter in the classifier, loaded and picked),
// showError(what, err) }.
export function mountTrain(section, app) {
  const id = (s) => `train-${s}`;
  const data = el("textarea", { id: id("data"), rows: 6, spellcheck: false, "aria-describedby": id("format"), placeholder: "positive\tThe food was wonderful and the staff were friendly.\nnegative\tTerrible service, cold food, and we waited an hour.\n…" });
  const file = el("input", { type: "file", id: id("file"), accept: ".txt,.tsv,.csv,.jsonl,.json,text/plain,text/csv" });
  const parsed = el("p", { id: id("parsed"), class: "hint", "aria-live": "polite" });
  const name = el("input", { type: "text", id: id("name"), value: "my_adapter", size: 14, maxLength: 64, pattern: "[A-Za-z0-9_.\\-]+", autocomplete: "off" });
  const method = el("select", { id: id("method") }, ...METHODS.map((m) => el("option", { value: m.config, text: m.words })));
  const epochs = el("input", { type: "number", id: id("epochs"), value: 3, min: 1, max: 20, step: 1 });
  const start = el("button", { type: "button", id: id("start"), text: "Train", disabled: true });
  const cancel = el("button", { type: "button", id: id("cancel"), text: "Cancel", hidden: true });
  const download = el("button", { type: "button", id: id("download"), text: "Download zip", hidden: true });
  const status = el("p", { id: id("status"), class: "train-status" });
  const fill = el("span");
  const bar = el("div", { class: "bar", "aria-hidden": "true", hidden: true }, fill);
  const plotBox = el("div", { id: id("plot"), class: "plot-box" });
  const announce = el("p", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  section.replaceChildren(
    el("h2", { id: "train-h", text: "3. Train your own adapter" }),
    el("p", { class: "hint", id: id("format") }, "Paste or drop labelled examples, one per line: ", el("code", { text: "label<TAB>text" }), ", CSV (", el("code", { text: "label,text" }), ", or a header naming ", el("code", { text: "text" }), " and ", el("code", { text: "label" }), ") or JSON lines (", el("code", { text: '{"text": …, "label": …}' }), "). A few dozen per label go a long way; training runs in this tab, on this device, and nothing is uploaded."),
    el("label", { for: id("data"), class: "sr-only", text: "Labelled examples" }),
    data,
    el("div", { class: "train-row" }, el("label", { for: id("file"), text: "or open a file: " }), file),
    parsed,
    el(
      "div",
      { class: "train-row" },
      el("label", { for: id("name") }, "Name ", name),
      el("label", { for: id("method") }, "Method ", method),
      el("label", { for: id("epochs") }, "Epochs ", epochs),
    ),
    el("div", { class: "train-row" }, start, cancel, download),
    bar,
    status,
    plotBox,
    announce,
  );
  section.hidden = false;

  let current = null; // the parse result
  let run = null; // { ac, name } while training
  let trained = null; // { name, model } after training
  const setStatus = (st, text) => {
    section.dataset.state = st;
    status.textContent = text;
  };

  // reparse parses the text box, or a file's text (fromFile: a file too big to show in the text
  // box, SHOW_BYTES, is parsed without being shown: a textarea of megabytes hangs a tab).
  const SHOW_BYTES = 1e6;
  const reparse = (fromFile) => {
    current = null;
    section.dataset.examples = "";
    const input = fromFile?.text ?? data.value;
    if (!input.trim()) {
      parsed.textContent = "";
      parsed.dataset.state = "empty";
      start.disabled = true;
      return;
    }
    try {
      current = parseExamples(input);
      const split = splitDev(current.examples);
      current.split = split;
      const per = current.labels.map((l) => `${l} ${current.counts.get(l)}`).join(" · ");
      parsed.textContent = `${fromFile ? `${fromFile.name}: ` : ""}${current.examples.length.toLocaleString("en")} examples (${{ tsv: "label<TAB>text", csv: "CSV", jsonl: "JSON lines" }[current.format]}), ${current.labels.length} labels: ${current.labels.length > 12 ? `${current.labels.slice(0, 12).join(" · ")} …` : per}. ${split.dev.length ? `${split.dev.length} held out to measure accuracy, ${split.train.length} to train on.` : "Too few to hold any out: the plot shows the loss only."}${current.skipped ? ` ${current.skipped} empty lines skipped.` : ""}`;
      parsed.dataset.state = "ok";
      section.dataset.examples = String(current.examples.length);
      section.dataset.labels = current.labels.join("\n");
      start.disabled = !!run;
    } catch (e) {
      parsed.textContent = e instanceof ParseError ? `Cannot train on this: ${e.message}.` : `Cannot read this: ${e.message}`;
      parsed.dataset.state = "error";
      start.disabled = true;
    }
  };
  let parseTimer = 0;
  data.addEventListener("input", () => {
    clearTimeout(parseTimer);
    parseTimer = setTimeout(() => reparse(), 200);
  });
  const readFile = async (f) => {
    if (!f) return;
    if (f.size > LIMITS.bytes) {
      parsed.textContent = `Cannot train on this: ${f.name} is ${(f.size / 1e6).toFixed(1)} MB; at most ${LIMITS.bytes / 1e6} MB.`;
      parsed.dataset.state = "error";
      start.disabled = true;
      return;
    }
    const text = await f.text();
    data.value = text.length <= SHOW_BYTES ? text : "";
    data.placeholder = text.length <= SHOW_BYTES ? data.placeholder : `${f.name} (${(f.size / 1e6).toFixed(1)} MB) is read but not shown here; type or paste here to replace it.`;
    reparse({ text, name: f.name });
  };
  file.addEventListener("change", () => readFile(file.files?.[0]));
  for (const t of [data, section]) {
    t.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      section.dataset.drop = "true";
    });
    t.addEventListener("dragleave", () => delete section.dataset.drop);
    t.addEventListener("drop", (ev) => {
      ev.preventDefault();
      delete section.dataset.drop;
      readFile(ev.dataTransfer?.files?.[0]);
    });
  }

  start.addEventListener("click", async () => {
    if (!current || run) return;
    start.disabled = true;
    const n = name.value.trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(n)) {
      setStatus("error", "The name may have letters, digits, “_”, “.” and “-” only.");
      start.disabled = false;
      name.focus();
      return;
    }
    if (app.has(n)) {
      setStatus("error", `The page already has an adapter named “${n}”: pick another name.`);
      start.disabled = false;
      name.focus();
      return;
    }
    setStatus("waiting", "Waiting for the base model…");
    let model;
    try {
      model = await app.ready;
    } catch {
      setStatus("error", "The base model did not load, so there is nothing to train on: reload the page.");
      return;
    }
    const { train, dev } = current.split;
    const ep = Math.max(1, Math.min(20, Math.round(Number(epochs.value) || 3)));
    const ac = new AbortController();
    run = { ac, name: n };
    trained = null;
    start.disabled = true;
    cancel.hidden = false;
    download.hidden = true;
    bar.hidden = false;
    fill.style.width = "0%";
    const steps = Math.ceil(train.length / BATCH) * ep;
    const plot = new Plot(steps);
    plotBox.replaceChildren(plot.el, el("p", { class: "plot-legend hint" }, el("span", { class: "key loss", text: "loss" }), " per step", dev.length ? [", ", el("span", { class: "key acc", text: "dev accuracy" }), ` after each epoch (${dev.length} held-out examples)`] : ""));
    const t0 = performance.now();
    let prevLoss = 0;
    let last = null;
    setStatus("training", `Starting: ${train.length} examples, ${ep} epoch${ep === 1 ? "" : "s"}, ${steps} steps of ${BATCH}…`);
    try {
      const info = await model.trainAdapter(n, train, {
        config: method.value,
        epochs: ep,
        lr: LR,
        batchSize: BATCH,
        maxLength: MAX_LENGTH,
        dev: dev.length ? dev : undefined,
        signal: ac.signal,
        onProgress: (p) => {
          // p.loss is the epoch's running mean; the plot wants each step's own loss
          const k = p.step - (p.epoch - 1) * Math.ceil(train.length / BATCH);
          const stepLoss = k <= 1 ? p.loss : p.loss * k - prevLoss * (k - 1);
          prevLoss = p.loss;
          last = p;
          plot.add({ ...p, stepLoss: Math.max(0, stepLoss) });
          const secs = (performance.now() - t0) / 1000;
          const done = (p.epoch - 1) * train.length + p.examples;
          const rate = done / secs;
          const left = (ep * train.length - done) / rate;
          fill.style.width = `${((100 * p.step) / p.steps).toFixed(1)}%`;
          section.dataset.step = String(p.step);
          section.dataset.steps = String(p.steps);
          section.dataset.loss = String(p.loss);
          section.dataset.examplesPerSecond = rate.toFixed(2);
          if (p.devAccuracy !== undefined) section.dataset.devAccuracy = String(p.devAccuracy);
          setStatus("training", `Epoch ${p.epoch} of ${p.epochs} · step ${p.step} of ${p.steps} · loss ${p.loss.toFixed(3)}${section.dataset.devAccuracy ? ` · dev accuracy ${(100 * Number(section.dataset.devAccuracy)).toFixed(1)}%` : ""} · ${rate.toFixed(1)} examples/s · ${fmtTime(secs)} elapsed${p.done ? "" : `, about ${fmtTime(left)} left`}`);
          if (p.epochDone) announce.textContent = `Epoch ${p.epoch} of ${p.epochs} done, loss ${p.loss.toFixed(2)}${p.devAccuracy !== undefined ? `, dev accuracy ${Math.round(100 * p.devAccuracy)}%` : ""}.`;
        },
      });
      const secs = (performance.now() - t0) / 1000;
      section.dataset.seconds = secs.toFixed(1);
      trained = { name: n, model };
      setStatus("done", `Trained “${n}” in ${fmtTime(secs)}${last?.devAccuracy !== undefined ? `: ${(100 * last.devAccuracy).toFixed(1)}% right on the ${dev.length} held-out examples` : ""}. It is picked in step 1 above: type a text to try it.`);
      announce.textContent = `Training done in ${fmtTime(secs)}.`;
      download.hidden = false;
      app.addAdapter(info, { examples: train.length, config: method.value });
      // the next run needs a new name
      name.value = nextName(n);
    } catch (e) {
      if (e?.code === "aborted") setStatus("cancelled", `Cancelled after ${last?.step ?? 0} of ${steps} steps; nothing was kept.`);
      else {
        setStatus("error", `Training failed: ${e?.message ?? e}`);
        app.showError("Training failed", e);
      }
    } finally {
      run = null;
      cancel.hidden = true;
      bar.hidden = section.dataset.state !== "done";
      start.disabled = !current;
    }
  });
  cancel.addEventListener("click", () => run?.ac.abort(new Error("cancelled")));
  download.addEventListener("click", async () => {
    if (!trained) return;
    try {
      const { zipFiles } = await import("./adapterwasm/src/zip.js");
      const files = await trained.model.saveAdapter(trained.name);
      const zip = zipFiles(files, { folder: trained.name });
      const url = URL.createObjectURL(new Blob([zip], { type: "application/zip" }));
      const a = el("a", { href: url, download: `${trained.name}.zip` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      app.showError("Download failed", e);
    }
  });
  return { reparse };
}

function nextName(n) {
  const m = n.match(/^(.*?)(?:_(\d+))?$/);
  return `${m[1]}_${Number(m[2] ?? 1) + 1}`;
}
