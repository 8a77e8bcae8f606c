#!/usr/bin/env bash
# Install trayauth with its test extras into .venv, then lint, type-check and run the tests.
# The interop suite also needs node's oidc-provider (npm ci below, when npm is there) and Debian's
# chromium; without them it skips, except in CI (CI=true), where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# compat: the checkout on sys.path through a plain .pth line, instead of an import hook that every
# interpreter start in this venv would load (it would tax the CLI benchmark's floors and figures).
.venv/bin/python -m pip install -q -e '.[test,interop]' --config-settings editable_mode=compat
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/interop/oidc --no-audit --no-fund --loglevel=error >/dev/null
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest "$@"
