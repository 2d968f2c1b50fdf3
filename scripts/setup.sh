#!/usr/bin/env bash
# Create .venv (Python 3.10+) with PyTorch and mobilevit installed in editable mode.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. "test" for the test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-}
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
# torch and torchvision first, pinned to a matching pair, so nothing below pulls another build.
.venv/bin/python -c "import torch, torchvision" 2>/dev/null || pip_install "torch==2.14.1" "torchvision==0.29.1"
if [ -n "$extras" ]; then
    pip_install -e ".[$extras]"
else
    pip_install -e .
fi
