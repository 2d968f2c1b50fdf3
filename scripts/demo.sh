#!/usr/bin/env bash
# Set up .venv and run the main job: the zoo's models, measured against their published figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mobilevit list
for model in $(.venv/bin/python -c "import mobilevit; print(' '.join(mobilevit.list_models()))"); do
    .venv/bin/mobilevit flops "$model"
done
