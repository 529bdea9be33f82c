// What the demo site's browser tests start Chromium with: Debian's Chromium (CHROMIUM), driven by
// the js package's pinned playwright-core, on a fresh profile.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// needFiles throws, naming what to run, if any [what, path] of files is missing (Chromium's too).
export function needFiles(files) {
  for (const [what, p] of [...files, ["Chromium", CHROMIUM]]) {
    if (!existsSync(p)) throw new Error(`${what}: ${p} is missing (./build.sh site; apt-get install -y chromium)`);
  }
}

// launchSite starts headless Chromium on a fresh profile named after prefix, 1024×900 (options are
// added to the context's), with its first page: the page's console lines ("type: text") and
// errors go to logs, every URL the page or its workers ask for to requests. close() ends the
// browser and removes the profile.
export async function launchSite(prefix, { logs = [], requests = [], options = {} } = {}) {
  // playwright-core is the js package's pinned dev dependency (js/package-lock.json).
  const { chromium } = createRequire(join(ROOT, "js/package.json"))("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1024, height: 900 }, ...options });
  ctx.on("request", (r) => requests.push(r.url()));
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e}`));
  const close = async () => {
    await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, page, close };
}
