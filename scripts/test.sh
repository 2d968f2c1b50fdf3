#!/usr/bin/env bash
# Set up .venv with the test dependencies, lint and format-check the code, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check src tests benchmarks tools configs scripts
.venv/bin/ruff format --check src tests benchmarks tools configs scripts
.venv/bin/python -m pytest -q "$@"
