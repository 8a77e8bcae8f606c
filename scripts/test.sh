#!/usr/bin/env bash
# Install trayauth with its test extras into .venv, then lint, type-check and run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# compat: the checkout on sys.path through a plain .pth line, instead of an import hook that every
# interpreter start in this venv would load (it would tax the CLI benchmark's floors and figures).
.venv/bin/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
.venv/bin/ruff check .
.venv/bin/mypy
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest "$@"
