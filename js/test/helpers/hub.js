// A local stand-in for the Hugging Face hub, its CDN and the AdapterHub index on 127.0.0.1, for
// tests that must not reach the internet: the JS twin of internal/hubtest (read its comment for
// where each shape comes from in huggingface_hub and adapters). It serves real files.
//
//   endpoint  /{id}/resolve/{revision}/{file}: a small file answers 200 with its bytes, ETag and
//             X-Repo-Commit; an LFS file (.bin, .safetensors) answers 302 to the CDN host with
//             X-Repo-Commit, X-Linked-Etag, X-Linked-Size and Location. Errors carry
//             X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and
//             X-Error-Message; a missing repo answers 401 without a token, 404 with one.
//             /api/models?filter=F&full=True&config=True: ModelInfo dicts, paged by Link.
//   cdn       /blobs/{sha256}: the bytes.
//   ah        /Adapter-Hub/Hub/master/dist/v2/all.json: AdapterInfo dicts; and the files of
//             hub.ahFiles (path under dist/v2/ -> bytes), e.g. index/{model_name}.json, the
//             per-model index pull_from_hub reads (testdata/hub/ah holds ones in its layout).
// Every request is logged with its host and Authorization header. CORS headers expose the hub's
// headers, as huggingface.co does, so a page on another origin can read them.
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const AH_PREFIX = "/Adapter-Hub/Hub/master/dist/v2/";
const EXPOSE = "X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, X-Error-Code, X-Error-Message, Retry-After, Link, Content-Length";

const isLFS = (n) => n.endsWith(".bin") || n.endsWith(".safetensors");
const hex = (alg, b) => createHash(alg).update(b).digest("hex");

function listen(handler) {
  const s = createServer(handler);
  s.keepAliveTimeout = 120_000;
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r(s)));
}

export async function startHub() {
  const repos = new Map(); // id -> { refs: {branch: commit}, commits: {commit: {name: bytes}}, gated, info }
  const blobs = new Map(); // sha256 -> bytes
  const log = [];
  const hub = { repos, log, token: "", rateLimit: 0, noCommit: false, pageSize: 2, ahList: [], ahFiles: {} };
  const cors = (res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-allow-headers", "authorization");
    res.setHeader("access-control-expose-headers", EXPOSE);
  };
  const error = (res, status, code, msg) => {
    if (code) res.setHeader("x-error-code", code);
    res.setHeader("x-error-message", msg);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: msg }));
  };
  const note = (req, host) => log.push({ host, path: new URL(req.url, "http://x").pathname, auth: req.headers.authorization ?? "" });

  const endpoint = await listen((req, res) => {
    cors(res);
    if (req.method === "OPTIONS") return res.writeHead(204).end();
    note(req, "endpoint");
    const u = new URL(req.url, "http://x");
    if (hub.rateLimit > 0) {
      res.setHeader("retry-after", String(hub.rateLimit));
      return error(res, 429, "", "You have been rate-limited");
    }
    if (u.pathname === "/api/models") return models(u, res);
    const parts = u.pathname.slice(1).split("/");
    const i = parts.indexOf("resolve");
    if (i < 1 || i > 2 || parts.length !== i + 3) return error(res, 404, "", "Not Found");
    const id = parts.slice(0, i).join("/");
    const rev = decodeURIComponent(parts[i + 1]);
    const name = decodeURIComponent(parts[i + 2]);
    const rp = repos.get(id);
    const authorized = hub.token !== "" && req.headers.authorization === `Bearer ${hub.token}`;
    if (!rp) return error(res, authorized ? 404 : 401, "RepoNotFound", "Repository not found");
    if (rp.gated && !authorized) return error(res, req.headers.authorization ? 403 : 401, "GatedRepo", `Access to model ${id} is restricted.`);
    const commit = rp.refs[rev] ?? rev;
    const files = rp.commits[commit];
    if (!files) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    const b = files[name];
    if (!b) return error(res, 404, "EntryNotFound", "Entry not found");
    if (!hub.noCommit) res.setHeader("x-repo-commit", commit); // noCommit: a server that is no hub
    if (isLFS(name)) {
      const sum = hex("sha256", b);
      res.writeHead(302, { "x-linked-etag": `"${sum}"`, "x-linked-size": String(b.length), etag: `W/"${sum.slice(0, 16)}"`, location: `${hub.cdn}/blobs/${sum}`, "content-length": "0" });
      return res.end();
    }
    res.writeHead(200, { etag: `"${hex("sha1", b)}"`, "content-length": String(b.length) });
    res.end(b);
  });

  function models(u, res) {
    const filter = u.searchParams.get("filter");
    const ids = [...repos.keys()].filter((id) => (repos.get(id).info.tags ?? []).includes(filter)).sort();
    const start = Number(u.searchParams.get("cursor") ?? 0);
    const end = Math.min(start + hub.pageSize, ids.length);
    const out = ids.slice(start, end).map((id) => {
      const rp = repos.get(id);
      const m = { _id: "x", id, modelId: id, sha: rp.refs.main, private: false };
      if (u.searchParams.get("full") === "True") m.siblings = Object.keys(rp.commits[rp.refs.main]).map((rfilename) => ({ rfilename }));
      for (const [k, v] of Object.entries(rp.info)) if (k !== "config" || u.searchParams.get("config") === "True") m[k] = v;
      return m;
    });
    if (end < ids.length) {
      const next = new URL(u);
      next.searchParams.set("cursor", String(end));
      res.setHeader("link", `<${hub.endpoint}${next.pathname}${next.search}>; rel="next"`);
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
  }

  const cdn = await listen((req, res) => {
    cors(res);
    if (req.method === "OPTIONS") return res.writeHead(204).end();
    note(req, "cdn");
    const b = blobs.get(new URL(req.url, "http://x").pathname.replace(/^\/blobs\//, ""));
    if (!b) return res.writeHead(404).end();
    res.writeHead(200, { "content-length": String(b.length), "content-type": "application/octet-stream" });
    res.end(b);
  });

  const ah = await listen((req, res) => {
    cors(res);
    note(req, "ah");
    const p = new URL(req.url, "http://x").pathname;
    const file = p.startsWith(AH_PREFIX) ? hub.ahFiles[decodeURIComponent(p.slice(AH_PREFIX.length))] : undefined;
    if (file !== undefined) {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(file.length) });
      return res.end(file);
    }
    if (p !== `${AH_PREFIX}all.json`) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(hub.ahList));
  });

  const servers = [endpoint, cdn, ah];
  const addr = (s) => `http://127.0.0.1:${s.address().port}`;
  Object.assign(hub, {
    endpoint: addr(endpoint),
    cdn: addr(cdn),
    ahURL: addr(ah) + AH_PREFIX,
    // addFiles publishes files ({name: bytes}) as id's new "main" commit and returns the commit.
    addFiles(id, files) {
      const rp = repos.get(id) ?? { refs: {}, commits: {}, gated: false, info: {} };
      repos.set(id, rp);
      const h = createHash("sha1").update(`${id}\n${Object.keys(rp.commits).length}\n`);
      for (const n of Object.keys(files).sort()) {
        h.update(`${n} ${files[n].length}\n`).update(files[n]);
        blobs.set(hex("sha256", files[n]), files[n]);
      }
      const commit = h.digest("hex");
      rp.commits[commit] = files;
      rp.refs.main = commit;
      return commit;
    },
    // addDir publishes every regular file of dir (skip: names to leave out).
    addDir(id, dir, skip = []) {
      const files = {};
      for (const n of readdirSync(dir)) if (!skip.includes(n) && statSync(join(dir, n)).isFile()) files[n] = readFileSync(join(dir, n));
      return hub.addFiles(id, files);
    },
    requests: (host) => log.filter((e) => !host || e.host === host),
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise((r) => {
              s.closeAllConnections?.();
              s.close(r);
            }),
        ),
      ),
  });
  return hub;
}
