"""``trayauth header NAME`` answered by a running tray loads nothing beyond a client's floor.

The floor is what any pip-installed Python client pays: its console script imports ``re``, and
talking JSON over a socket needs ``socket`` and ``json``. The fast path may add its own six small
modules and nothing else: no typing, pathlib, enum (beyond re's), asyncio, httpx, argparse. Timings
are in tests/benchmarks/bench_cli.py; this holds the import set, which is what timings follow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import REPO, add_account, login, ok
from tests.support.probe import report as last_report
from tests.support.probe import run_probe
from tests.support.tray import TrayProcess

# As the console script runs it (``import re`` then ``from trayauth.cli import main``), without
# site (-S), so nothing a .pth file preloads can hide an import of ours.
PROBE = """
import json, os, re, socket, sys
floor = set(sys.modules)
from trayauth.cli import main
code = main(["header", sys.argv[1]])
sys.stdout.flush()
print(json.dumps({"code": code, "loaded": sorted(set(sys.modules) - floor)}), file=sys.stderr)
"""
# __future__: a few lines that every module of ours names (``from __future__ import annotations``).
# trayauth.domain.text: the one header line (``header`` prints what the tray copies and ``env``
# exports); standard library only, no typing, like the rest.
FAST_PATH = {
    "__future__",
    "trayauth",
    "trayauth.cli",
    "trayauth.cli.fast",
    "trayauth.client",
    "trayauth.domain",
    "trayauth.domain.text",
}
NEVER = {"typing", "pathlib", "enum", "asyncio", "httpx", "argparse", "dataclasses", "urllib.parse"}


def test_the_fast_path_loads_only_its_own_modules(isolated: Path, tray: TrayProcess) -> None:
    add_account("b", "bearer")
    ok(login("b", "bearer-token-value"))
    probe = run_probe(PROBE, "b", env=tray.env, flags=["-S"])
    report = last_report(probe.stderr)
    assert report["code"] == 0 and probe.stdout == "Authorization: Bearer bearer-token-value\n"
    loaded = set(report["loaded"])
    assert not loaded & NEVER
    assert loaded == FAST_PATH


# exec, kube and git-credential share the budget: they run before every command, kubectl call
# and git fetch. Their own modules come on top of the fast path's, and still none of NEVER.
HANDOFF = """
import json, os, re, socket, sys
floor = set(sys.modules)
from trayauth.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "loaded": sorted(set(sys.modules) - floor)}), file=sys.stderr)
"""
# (kube and git-credential write no header line: no trayauth.domain.text)
HANDOFF_PATH = (FAST_PATH - {"trayauth.cli.fast", "trayauth.domain", "trayauth.domain.text"}) | {
    "trayauth.cli.handoff",
    "trayauth.integrations",
    "trayauth.integrations.source",
}


def test_exec_kube_git_credential_load_only_their_own_modules(isolated: Path, tray: TrayProcess) -> None:
    add_account("b", "bearer")
    ok(login("b", "bearer-token-value"))
    for argv, own in (
        (["exec", "b", "--", "true"], {"trayauth.integrations.exec"}),
        (["kube", "b"], {"trayauth.integrations.kube"}),
        (["git-credential", "b", "get"], {"trayauth.integrations.git_credential"}),
    ):
        probe = subprocess.run(
            [sys.executable, "-S", "-c", HANDOFF, *argv],
            env=tray.env,
            cwd=REPO,
            input="protocol=https\nhost=h\n\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if argv[0] == "exec":  # exec replaced the probe with `true`: nothing to report, all went well
            assert probe.returncode == 0 and probe.stderr == ""
            continue
        report = json.loads(probe.stderr.strip().splitlines()[-1])
        assert report["code"] == 0 and "bearer-token-value" in probe.stdout
        loaded = set(report["loaded"])
        assert not loaded & NEVER, argv
        assert loaded == HANDOFF_PATH | own, argv
