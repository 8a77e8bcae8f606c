#!/usr/bin/env bash
# Install trayauth with its test extras into .venv, then lint, type-check and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/mypy
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest "$@"
