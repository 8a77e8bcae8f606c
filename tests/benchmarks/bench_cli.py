"""CLI start-up benchmark: the installed console script, as users and scripts run it.

``exec``, ``kube`` and ``git-credential`` through a running tray are timed beside ``header``:
they run before every command, kubectl call and git fetch, so they share its budget.

Times ``trayauth header NAME`` through the console script next to this interpreter (``trayauth``
in the venv's bin/, which imports ``re`` before ``trayauth.cli``):

- answered by a running tray (the path scripts take before every curl; goal: at most 1.15x the
  floor of any pip-installed Python client, ``python -c "import re, socket, json"``);
- with no tray, straight from the vault (file keyring, and key file).

Every figure is the median of RUNS runs, taken round-robin in one run against both floors
(``python -c pass`` and the client floor), so a busy machine slows all of them alike. Not a test:
figures, not assertions (tests/unit/test_fast_path.py holds the import set). Run:

    .venv/bin/python tests/benchmarks/bench_cli.py [--runs N] [--venv DIR]

``--venv DIR`` times DIR's console script and DIR's python for the floors (the tray and the
no-tray rows stay on this interpreter). A development venv holds trayauth as an editable install,
whose import hook and .pth file are loaded by every interpreter start, floors included; what a user
gets from pipx or a wheel is a regular install:

    python3 -m venv /tmp/ta && /tmp/ta/bin/pip install --no-deps . && \
        .venv/bin/python tests/benchmarks/bench_cli.py --venv /tmp/ta

(the fast path needs none of trayauth's dependencies, hence ``--no-deps``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.tray import TrayProcess  # noqa: E402

GOAL = 1.15
SCRIPT = Path(sys.executable).with_name("trayauth")


def once_ms(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return (time.perf_counter() - start) * 1000


def medians(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, float]:
    """Median wall time of each command, interleaved: one run of each per round."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for argv, env in commands.values():  # warm the page cache and .pyc files
        once_ms(argv, env)
    for _ in range(runs):
        for label, (argv, env) in commands.items():
            times[label].append(once_ms(argv, env))
    return {label: statistics.median(values) for label, values in times.items()}


def installation(root: Path, name: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "TRAYAUTH_CONFIG_DIR": str(root / name),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(root / "data"),
        **extra,
    }
    env.pop("TRAYAUTH_AGENT", None)
    cli = [str(SCRIPT)]
    subprocess.run([*cli, "add", "bench", "bearer"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "login", "bench", "--secret-stdin"],
        env=env,
        input="bench-token-value\n",
        check=True,
        capture_output=True,
        text=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--venv", type=Path, help="time this venv's console script and python")
    args = parser.parse_args()
    python = str(args.venv / "bin" / "python") if args.venv else sys.executable
    script = args.venv / "bin" / "trayauth" if args.venv else SCRIPT
    if not script.exists():
        raise SystemExit(f"no console script at {script}: install trayauth there first")
    with tempfile.TemporaryDirectory(prefix="ta-bench-") as tmp:
        root = Path(tmp)
        keyring_env = installation(root, "config")
        keyfile_env = installation(root, "config-file", TRAYAUTH_KEY_STORAGE="file")
        tray_env = installation(root, "config-tray")
        os.environ.update(tray_env)  # the tray takes its config folder from the environment
        tray = TrayProcess(tray_env).wait_ready()
        try:
            figures = medians(
                {
                    "pass": ([python, "-c", "pass"], keyring_env),
                    "floor": ([python, "-c", "import re, socket, json"], keyring_env),
                    "tray": ([str(script), "header", "bench"], tray_env),
                    "exec": ([str(script), "exec", "bench", "--", "true"], tray_env),
                    "kube": ([str(script), "kube", "bench"], tray_env),
                    "git": ([str(script), "git-credential", "bench", "get"], tray_env),
                    "keyring": ([str(SCRIPT), "header", "bench"], keyring_env),
                    "keyfile": ([str(SCRIPT), "header", "bench"], keyfile_env),
                },
                args.runs,
            )
        finally:
            tray.stop()
    base, floor = figures["pass"], figures["floor"]

    def row(text: str, label: str, note: str = "") -> str:
        ms = figures[label]
        return f"{text:<44}{ms:7.1f} ms  {ms / base:5.2f}x pass  {ms / floor:5.2f}x floor  {note}"

    print(f"median of {args.runs} runs each, interleaved; console script {script}, floors by {python}")
    print(row("python -c pass", "pass"))
    print(row('python -c "import re, socket, json" (floor)', "floor"))
    verdict = "ok" if figures["tray"] <= GOAL * floor else "OVER"
    print(row("trayauth header, tray running", "tray", f"(goal <= {GOAL}x floor: {verdict})"))
    print(row("trayauth exec bench -- true, tray running", "exec", "(includes running true)"))
    print(row("trayauth kube, tray running", "kube"))
    print(row("trayauth git-credential get, tray running", "git"))
    print(row("trayauth header, no tray (file keyring)", "keyring"))
    print(row("trayauth header, no tray (key file)", "keyfile"))


if __name__ == "__main__":
    main()
