// devserver starts `wrangler dev --local` on a free loopback port in its own process group and
// stops that group (wrangler, esbuild, workerd) by its id, however the caller ends.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// wrangler as installed in workers/node_modules (workers/package-lock.json), for every Worker under workers/.
export const WRANGLER = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "wrangler", "bin", "wrangler.js");

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set(); // process group ids still to stop

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

// Whatever ends this process, the servers it started go with it.
process.on("exit", () => {
  for (const pgid of live) killGroup(pgid, "SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    for (const pgid of live) killGroup(pgid, "SIGKILL");
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig]);
  });
}

// startDev runs wrangler dev in cwd (a directory with wrangler.jsonc) and resolves once it
// listens. Local state (the Cache API, local R2 buckets) goes to a fresh temporary directory, so
// every run starts cold; seed(dir), if given, runs before the server starts (e.g. `wrangler r2
// object put --local --persist-to dir`), and the server's persist dir stays the caller's to
// write into (server.persist) until stop() removes it.
export async function startDev(cwd, { readyTimeoutMs = 120_000, args = [], seed } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = mkdtempSync(join(tmpdir(), "adapterwasm-wrangler-"));
  try {
    await seed?.(persist);
  } catch (e) {
    rmSync(persist, { recursive: true, force: true });
    throw e;
  }
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [WRANGLER, "dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persist, "--log-level", process.env.WRANGLER_LOG_LEVEL ?? "info", ...args],
    { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" } },
  );
  live.add(child.pid);
  let output = "";
  const log = process.env.ADAPTERWASM_WRANGLER_LOG; // a file to keep wrangler's whole output in
  if (log) writeFileSync(log, "");
  const onData = (d) => {
    if (log) appendFileSync(log, d);
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const server = {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    persist,
    output: () => output,
    async stop() {
      if (!live.has(child.pid)) return;
      killGroup(child.pid, "SIGTERM");
      const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      if (!done) killGroup(child.pid, "SIGKILL");
      // wrangler's children may outlive it: make sure the whole group is gone.
      await new Promise((r) => setTimeout(r, 200));
      killGroup(child.pid, "SIGKILL");
      live.delete(child.pid);
      rmSync(persist, { recursive: true, force: true });
    },
    // workerdRSS is the resident memory of the group's workerd processes, in bytes (Linux).
    workerdRSS() {
      let rss = 0;
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
          if (Number(fields[2]) !== child.pid || !comm.startsWith("workerd")) continue; // fields[2]: pgrp
          const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
          if (m) rss += Number(m[1]) * 1024;
        } catch {
          // the process ended while we looked
        }
      }
      return rss;
    },
  };

  try {
    const deadline = t0 + readyTimeoutMs;
    for (;;) {
      const state = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 250))]);
      if (state) throw new Error(`wrangler dev exited (${JSON.stringify(state)}):\n${output.slice(-4000)}`);
      if (/Ready on http/.test(output)) break;
      if (performance.now() > deadline) throw new Error(`wrangler dev not ready after ${readyTimeoutMs} ms:\n${output.slice(-4000)}`);
    }
    server.listeningMs = performance.now() - t0;
    return server;
  } catch (e) {
    await server.stop();
    throw e;
  }
}

// DEV_PROXY_DROP is the plain-text 503 wrangler dev's own proxy answers when forwarding a request
// to workerd failed between its local processes; the Worker never saw it (workers/README.md).
export const DEV_PROXY_DROP = "Your worker restarted mid-request";

// callJSON sends a request to a wrangler dev server (POST with body as JSON when body is given)
// and returns { status, type, body } with the JSON answer. A request the dev proxy dropped — its
// plain-text 503, or a failed fetch whose error name is in retryErrors — is sent again, at most
// twice, and counted in stats.retries; retry: false sends it once (a request that is not
// idempotent). timeoutMs(attempt) bounds each attempt. The Worker's own answers are JSON, so a
// JSON 503 is returned, never retried.
export async function callJSON(url, path, body, { retry = true, retryErrors = ["TypeError"], timeoutMs = () => 180_000, stats = { retries: 0 } } = {}) {
  const init = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  for (let attempt = 0; ; attempt++) {
    let res, text;
    try {
      res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs(attempt)) });
      text = await res.text();
    } catch (e) {
      if (!(retry && retryErrors.includes(e.name) && attempt < 2)) throw e;
      stats.retries++;
      continue;
    }
    if (retry && res.status === 503 && text.includes(DEV_PROXY_DROP) && attempt < 2) {
      stats.retries++;
      continue;
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${path}: ${res.status} (not JSON) ${text.slice(0, 2000)}`);
    }
    return { status: res.status, type: res.headers.get("content-type"), body: json };
  }
}

// runCLI runs the adapterwasm CLI at cli with args, input on its stdin, and resolves with its
// stdout (rejects with its stderr on a non-zero exit).
export function runCLI(cli, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cli, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cli} ${args.join(" ")}: exit ${code}: ${err}`))));
    p.stdin.end(input);
  });
}

