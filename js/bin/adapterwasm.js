#!/usr/bin/env node
// adapterwasm: the Go CLI's `convert` and `index` for JS users (npx adapterwasm convert|index …),
// run by the package's own Wasm module in Node, not by a Go binary: the files it writes are the
// CLI's, byte for byte (wasm/engine Convert and BuildIndex are the CLI's code). Flags, outputs and
// exit codes (0 ok, 1 error, 2 usage) follow cmd/adapterwasm/convert.go and index.go.
import * as fs from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { AdapterwasmError } from "../src/errors.js";
import { Q8_BLOCKS } from "../src/convert.js";
import { Unverified } from "../src/fetch.js";
import { BASE_GROUPS, asHubId, fetchRepo } from "../src/hub.js";
import "../src/node-local.js";
import { loadRuntime, setHostFileSystem } from "../src/runtime.js";
import { FsStore } from "../src/store-node.js";

const USAGE = `usage: adapterwasm <command> [flags]   (adapterwasm <command> -h for flags)

commands:
  convert    convert a Hugging Face model directory to adapterwasm's single-file base model (f32, f16, q8)
  index      write index.json describing AdapterHub adapter directories
`;

const CONVERT_USAGE = `usage: adapterwasm convert --in DIR|ID --out DIR [flags]
  --in DIR|ID      Hugging Face model directory (config.json, tokenizer.json, model.safetensors or pytorch_model.bin) or a hub id (required)
  --out DIR        output directory, created if needed (required)
  --dtype D        weight storage: f32, f16 or q8 (default q8)
  --block B        q8 only: weights per scale in the linears, 32, 64 or 128 (default 32); larger is faster and less accurate
  --name N         the model's name as adapters' model_name gives it (default: the hub id, else config.json's _name_or_path, else the directory's name)
  --revision R     hub revision when --in is an id: branch, tag or commit (default main)
  --endpoint URL   hub endpoint (default $HF_ENDPOINT, else https://huggingface.co)
  --cache DIR      cache directory for hub downloads (default $ADAPTERWASM_CACHE_DIR, else ~/.cache/adapterwasm)
  --offline        use the cache only (also $HF_HUB_OFFLINE=1)
  --quiet          no download progress on stderr
`;

const INDEX_USAGE = `usage: adapterwasm index [--out FILE] DIR...
  --out FILE       output file ("-" for stdout) (default index.json)
`;

class UsageError extends Error {}

function parse(args, options, usage, positionals = false) {
  try {
    const r = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: positionals, strict: true });
    if (r.values.help) {
      process.stderr.write(usage);
      return null;
    }
    return r;
  } catch (e) {
    throw new UsageError(e.message);
  }
}

async function runtime() {
  const wasm = await readFile(new URL("../dist/adapterwasm.wasm", import.meta.url));
  setHostFileSystem(fs); // index walks the directories with Go's os package
  return loadRuntime(wasm, undefined, {}, null);
}

// writeFileAtomic writes to a temporary file beside path and renames it into place.
async function writeFileAtomic(path, bytes) {
  const tmp = join(dirname(path), `.${basename(path)}.tmp${process.pid}${Math.random().toString(36).slice(2, 8)}`);
  try {
    await writeFile(tmp, bytes, { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

// readDir reads a Hugging Face model directory as the CLI does: config and tokenizer required,
// sentence_bert_config.json optional, of the weights the first that exists.
async function readDir(dir) {
  const files = {};
  const read = async (name, optional) => {
    try {
      files[name] = await readFile(join(dir, name));
    } catch (e) {
      if (!(optional && e.code === "ENOENT")) throw e;
    }
  };
  await read("config.json", false);
  await read("tokenizer.json", false);
  await read("sentence_bert_config.json", true);
  await read("model.safetensors", true);
  if (!files["model.safetensors"]) await read("pytorch_model.bin", true);
  if (!files["model.safetensors"] && !files["pytorch_model.bin"]) throw new AdapterwasmError("missing_file", `${dir}: no model.safetensors or pytorch_model.bin`);
  return files;
}

async function convert(args) {
  const r = parse(
    args,
    {
      in: { type: "string" },
      out: { type: "string" },
      dtype: { type: "string", default: "q8" },
      block: { type: "string" },
      name: { type: "string", default: "" },
      revision: { type: "string" },
      endpoint: { type: "string" },
      cache: { type: "string" },
      offline: { type: "boolean" },
      quiet: { type: "boolean" },
    },
    CONVERT_USAGE,
  );
  if (!r) return;
  const o = r.values;
  if (!o.in || !o.out) throw new UsageError("--in and --out are required");
  if (!["f32", "f16", "q8"].includes(o.dtype)) throw new UsageError(`--dtype: unknown dtype ${JSON.stringify(o.dtype)} (want f32, f16 or q8)`);
  const rtP = runtime();
  const id = asHubId(o.in);
  let files;
  let unverified = null;
  const block = o.block === undefined ? 0 : Number(o.block);
  if (o.block !== undefined && (o.dtype !== "q8" || !Q8_BLOCKS.includes(block))) throw new UsageError(`--block ${o.block}: want 32, 64 or 128, with --dtype q8`);
  const opt = { dtype: o.dtype, name: o.name, fallback: basename(resolve(o.in)), revision: "", block };
  if (id) {
    const store = new FsStore(o.cache);
    unverified = new Unverified(store);
    const onFile = (url) => {
      if (!o.quiet) process.stderr.write(`adapterwasm convert: ${url}\n`);
      return { onChunk() {}, done() {} };
    };
    const hub = await fetchRepo(id, BASE_GROUPS, { endpoint: o.endpoint, revision: o.revision, offline: o.offline || undefined, store, unverified, onFile });
    files = hub.files;
    opt.name ||= id; // the hub id is the name adapters give as model_name
    opt.revision = hub.commit; // pinned: the hub commit that was converted
  } else {
    files = await readDir(o.in);
  }
  const rt = await rtP;
  const sourceBytes = (files["model.safetensors"] ?? files["pytorch_model.bin"]).byteLength;
  const c = await rt.call(rt.api, "convert", files, opt);
  files = null;
  // Load what is about to be written, through the manifest check, as the CLI does.
  try {
    const h = await rt.call(rt.api, "createModel", { "adapterwasm.safetensors": c.file.slice(), "manifest.json": new TextEncoder().encode(c.manifest) });
    h.free();
  } catch (e) {
    throw new AdapterwasmError(e.code ?? "format", `the converted model does not load: ${e.message}`);
  }
  await mkdir(o.out, { recursive: true });
  const file = join(o.out, "adapterwasm.safetensors");
  await writeFileAtomic(file, c.file);
  await writeFileAtomic(join(o.out, "manifest.json"), c.manifest);
  await unverified?.commit(); // the hub's files are cached once they converted and loaded
  const man = JSON.parse(c.manifest);
  // The CLI's JSON line: encoding/json writes a map's keys sorted.
  const line = { bytes: c.file.byteLength, dtype: o.dtype, file, ratio: c.file.byteLength / sourceBytes, sha256: man.files[0].sha256, source_bytes: sourceBytes };
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function index(args) {
  const r = parse(args, { out: { type: "string", default: "index.json" } }, INDEX_USAGE, true);
  if (!r) return;
  const dirs = r.positionals;
  if (!dirs.length) throw new UsageError("usage: adapterwasm index [--out FILE] DIR...");
  const out = r.values.out;
  const rt = await runtime();
  const json = await rt.call(rt.api, "buildIndex", out === "-" ? "." : dirname(out), dirs);
  if (out === "-") {
    process.stdout.write(json);
    return;
  }
  const tmp = `${out}.tmp`;
  await writeFile(tmp, json, { mode: 0o644 });
  await rename(tmp, out);
}

const COMMANDS = { convert, index };

async function main(argv) {
  if (!argv.length || ["-h", "--help", "help"].includes(argv[0])) {
    process.stderr.write(USAGE);
    return argv.length ? 0 : 2;
  }
  const cmd = COMMANDS[argv[0]];
  if (!cmd) {
    process.stderr.write(`adapterwasm: unknown command ${JSON.stringify(argv[0])} (this package runs convert and index; the Go CLI has the others)\n${USAGE}`);
    return 2;
  }
  try {
    await cmd(argv.slice(1));
    return 0;
  } catch (e) {
    process.stderr.write(`adapterwasm ${argv[0]}: ${e.message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
// The Go instance waits for calls forever: end the process once the command is done.
process.exit();
