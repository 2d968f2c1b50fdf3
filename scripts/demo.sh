#!/usr/bin/env bash
# The main job: set up .venv, train a small MobileViT from scratch on real handwritten digits
# (scikit-learn's bundled set: nothing is downloaded) with the variable batch sampler, test it on
# held-out images, and classify them through mobilevit.inference_model. A few minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
config=configs/mobilevit/mobilevit-tiny_1xb64_digits.py
work_dir=work_dirs/demo
rm -rf "$work_dir"  # a fresh run (training would otherwise resume from its latest.pth)
[ -d data/digits/train ] || .venv/bin/python tools/demo_digits.py write data/digits
.venv/bin/python tools/train.py "$config" --work-dir "$work_dir"
.venv/bin/python tools/test.py "$config" "$work_dir/best.pth" --cfg-options data.val_split=test \
    --out "$work_dir/test.json"
.venv/bin/python tools/demo_digits.py predict "$work_dir/config.json" "$work_dir/best.pth" data/digits/test \
    --min-accuracy 90
