// FsStore keeps downloaded files in a cache directory (Node). A file is written to a temporary
// name and renamed into place, so a crash or a cut download never leaves a partial entry.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";

export class FsStore {
  constructor(dir = process.env.ADAPTERWASM_CACHE_DIR || join(homedir(), ".cache", "adapterwasm")) {
    this.dir = dir;
  }

  _path(key) {
    // One file per URL; the name is a hash of the URL, the verified sha256 sits beside it.
    return join(this.dir, createHash("sha256").update(key).digest("hex").slice(0, 32));
  }

  async get(key) {
    const p = this._path(key);
    let bytes;
    try {
      bytes = await readFile(p);
    } catch (e) {
      if (e.code === "ENOENT") return undefined;
      throw e;
    }
    let sha256;
    try {
      sha256 = (await readFile(p + ".sha256", "utf8")).trim() || undefined;
    } catch {}
    return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), sha256 };
  }

  async put(key, bytes, sha256) {
    await mkdir(this.dir, { recursive: true });
    const p = this._path(key);
    const tmp = `${p}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      if (sha256) await writeFile(p + ".sha256", sha256);
      else await rm(p + ".sha256", { force: true });
      await writeFile(tmp, bytes);
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async delete(key) {
    const p = this._path(key);
    await rm(p, { force: true });
    await rm(p + ".sha256", { force: true });
  }
}
