// The adapter list's switch: "This demo's adapters" (the site's own index.json, app.js) or "Hub
// listing": the package's listAdapters for the base's model name, from the Hugging Face hub
// (source "hf") and AdapterHub's index (source "ah"), each listed on its own, so that one source
// down or rate-limited never hides the other, nor the demo's own adapters. A picked hub entry is
// loaded by its id in the page's Web Worker (loadAdapter(id, {source, endpoint, adapterHubUrl}))
// and classified like any other adapter: app.js's rows, select and results.
//
// Nothing is asked of the hub until the visitor switches to it. The endpoints default to the
// package's (https://huggingface.co, AdapterHub's archived index on raw.githubusercontent.com);
// ?hub=URL and ?adapterhub=URL override them (tests, mirrors, self-hosted hubs). The page's
// Content-Security-Policy must allow them in connect-src (site/server.js --connect).
import { listAdapters } from "./adapterwasm/src/index.js";
import { DEFAULT_ENDPOINT } from "./adapterwasm/src/hub.js";
import { DEFAULT_ADAPTERHUB_URL } from "./adapterwasm/src/listing.js";

const SOURCES = [
  { source: "hf", title: "Hugging Face hub" },
  { source: "ah", title: "AdapterHub index" },
];

// hubSettings reads ?hub= and ?adapterhub= (absolute http(s) URLs); anything else is listed in
// bad, and then nothing is listed: a mistyped mirror must not fall back to the public hub.
export function hubSettings(search = location.search) {
  const p = new URLSearchParams(search);
  const out = { endpoint: DEFAULT_ENDPOINT, adapterHubUrl: DEFAULT_ADAPTERHUB_URL, bad: [] };
  for (const [param, key] of [["hub", "endpoint"], ["adapterhub", "adapterHubUrl"]]) {
    const v = p.get(param);
    if (!v) continue;
    let u = null;
    try {
      u = new URL(v);
    } catch {}
    if (u && (u.protocol === "http:" || u.protocol === "https:")) out[key] = key === "endpoint" ? u.href.replace(/\/+$/, "") : u.href.replace(/\/*$/, "/");
    else out.bad.push(`?${param}=${v.slice(0, 80)} is not an absolute http(s) URL`);
  }
  return out;
}

const host = (u) => {
  try {
    return new URL(u).host;
  } catch {
    return String(u);
  }
};

// why says in plain words why a listing failed, from the package's typed error.
export function why(err, where) {
  const h = host(where);
  switch (err?.code) {
    case "rate_limited":
      return `${h} is rate-limiting requests (HTTP 429)${err.retryAfter !== undefined ? `: try again in ${err.retryAfter} s` : ": try again later"}.`;
    case "unauthorized":
      return `${h} refused access (HTTP ${err.status ?? "401/403"}).`;
    case "not_found":
      return `${h} has no listing there (HTTP ${err.status ?? 404}): is it a hub?`;
    case "format":
      return `${h} answered something that is not a listing.`;
    case "invalid_argument":
      return `the address ${h} cannot be used.`;
    case "network":
      if (err.status !== undefined) return `${h} answered HTTP ${err.status}. Try again later.`;
      return `${h} could not be reached (offline, down, or not allowed by this page's Content-Security-Policy or CORS).`;
  }
  return `listing ${h} failed.`;
}

// mountHub adds the switch above the demo's list and the hub's list beside it.
//   app: { state, select, deselect, el, modelName }
export function mountHub(app) {
  const { el, state } = app;
  const cfg = hubSettings();
  const local = document.getElementById("adapter-list");
  const list = el("fieldset", { id: "hub-list", hidden: true }, el("legend", { class: "sr-only", text: "Adapters on the Hub" }));
  const where = el("p", { class: "hint hub-where" });
  where.append(`Adapters the package lists for ${app.modelName}, loaded by their id when picked (nothing is fetched from a hub until you switch here): `, el("code", { text: host(cfg.endpoint) }), " and ", el("code", { text: host(cfg.adapterHubUrl) }), ".");
  list.append(where);
  const groups = SOURCES.map((s) => {
    const status = el("div", { class: "hub-status muted", "aria-live": "polite" });
    const rows = el("div", { class: "hub-rows" });
    const retry = el("button", { type: "button", class: "hub-retry", text: "Try again", hidden: true, onclick: () => run(g) });
    const g = { ...s, status, rows, retry, box: el("div", { class: "hub-source", "data-source": s.source, "data-state": "idle" }, el("h3", { text: s.title }), el("div", { class: "hub-line" }, status, retry), rows) };
    list.append(g.box);
    return g;
  });
  const pick = el(
    "div",
    { id: "adapter-source", role: "radiogroup", "aria-label": "Which adapters to list" },
    ...[
      ["local", "This demo's adapters"],
      ["hub", "Hub listing"],
    ].map(([v, t]) => el("label", {}, el("input", { type: "radio", name: "adapter-source", value: v, checked: v === "local", onchange: () => show(v) }), ` ${t}`)),
  );
  local.before(pick);
  local.after(list);

  let started = false;
  function show(v) {
    local.hidden = v !== "local";
    list.hidden = v !== "hub";
    if (v === "hub" && !started) {
      started = true;
      for (const g of groups) run(g);
    }
  }

  function setState(g, st, text) {
    g.box.dataset.state = st;
    g.status.textContent = text;
    g.retry.hidden = st !== "error" || cfg.bad.length > 0; // a bad address stays bad
  }

  async function run(g) {
    setState(g, "listing", `Listing ${host(g.source === "hf" ? cfg.endpoint : cfg.adapterHubUrl)}…`);
    g.rows.replaceChildren();
    if (cfg.bad.length) {
      g.box.dataset.code = "invalid_argument";
      return setState(g, "error", `Not listed: ${cfg.bad.join("; ")}.`);
    }
    const where = g.source === "hf" ? `${cfg.endpoint}/api/models` : `${cfg.adapterHubUrl}all.json`;
    let entries;
    try {
      entries = await listAdapters({ source: g.source, modelName: app.modelName, endpoint: cfg.endpoint, adapterHubUrl: cfg.adapterHubUrl });
    } catch (e) {
      console.warn(`hub listing (${g.source}) failed:`, e);
      g.box.dataset.code = e?.code ?? "";
      setState(g, "error", `Could not list: ${why(e, where)}`);
      g.status.append(" ", el("details", {}, el("summary", { text: "Details" }), el("code", { text: String(e?.message ?? e) })));
      return;
    }
    g.box.dataset.code = "";
    if (!entries.length) return setState(g, "empty", `No adapters on the Hub for this base (${app.modelName}) in ${host(where)}.`);
    setState(g, "listed", `${entries.length} adapter${entries.length === 1 ? "" : "s"} for ${app.modelName}:`);
    g.rows.replaceChildren(...entries.map((e, i) => row(g, e, i)));
  }

  // row builds an app.js adapter row for a listing entry; its name (the key setups use) is the
  // id, so that a hub adapter never takes a demo adapter's name ("topic" is both).
  function row(g, e, i) {
    const name = g.source === "ah" ? `ah:${e.id}` : e.id;
    const opts = { source: g.source, name, endpoint: cfg.endpoint, adapterHubUrl: cfg.adapterHubUrl, modelName: app.modelName };
    const entry = { name, kind: "adapter", method: e.method || undefined, hub: e, url: g.source === "hf" ? `${cfg.endpoint}/${e.id}/resolve/` : undefined, load: (model) => model.loadAdapter(e.id, opts) };
    const had = state.rows.get(name);
    if (had) return had.row; // listed again (Try again): the same row, loaded or not
    const id = `hub-${g.source}-${i}`;
    const box = el("input", { type: "checkbox", id, value: name, "aria-describedby": `${id}-meta ${id}-status` });
    const status = el("span", { class: "ad-status", id: `${id}-status`, text: "not loaded" });
    const fill = el("span");
    const what = g.source === "ah" ? [e.task, e.subtask].filter(Boolean).join("/") : e.pipelineTag;
    const meta = [g.title, e.method, e.username && `by ${e.username}`].filter(Boolean).join(" · ");
    const r = { entry, box, status, fill, state: "idle", cached: false, files: new Map() };
    r.row = el(
      "div",
      { class: "adapter", "data-name": name, "data-source": g.source, "data-state": "idle" },
      box,
      el("label", { for: id }, el("span", { class: "ad-name", text: e.id }), what ? el("span", { class: "ad-what", text: what }) : null, el("span", { class: "ad-meta", id: `${id}-meta`, text: meta })),
      status,
      el("div", { class: "bar small", "aria-hidden": "true" }, fill),
    );
    state.rows.set(name, r);
    box.addEventListener("change", () => (box.checked ? app.select(r) : app.deselect(r)));
    return r.row;
  }
}
