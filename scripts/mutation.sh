#!/usr/bin/env bash
# Mutation testing of the modules that hold the rules (expiry, HTTP policy, vault, atomic writes,
# renewal, the agent, the loopback server): prints each module's score and the hand mutations of
# constants. Usage: scripts/mutation.sh [MODULE ...] [--show] [--min 85]. Takes minutes per module.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/mutmut ] || { python3 -m venv .venv && .venv/bin/python -m pip install -q -e '.[test]'; }
exec .venv/bin/python scripts/mutation.py "$@"
