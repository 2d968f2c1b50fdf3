#!/usr/bin/env bash
# mobilevit on one NVIDIA GPU, a few minutes: training steps under bfloat16 and float16 autocast,
# GPU against CPU logits, torchrun with NCCL, and bench_train beside timm (benchmarks/gpu_check.py
# says what each part checks). From the repository root, with .venv set up by
# `bash scripts/setup.sh test` (timm and scikit-learn; nothing is downloaded here):
#   bash benchmarks/gpu_check.sh                 # results in ${OUT:-gpu_check_out}, summary.json last
#   bash benchmarks/gpu_check.sh --cpu-dry-run   # the same on the CPU at tiny sizes, torchrun skipped
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=${OUT:-gpu_check_out}
mkdir -p "$out"
"$python" benchmarks/gpu_check.py --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
