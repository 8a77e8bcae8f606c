"""CLI start-up benchmark: `trayauth header NAME` with a valid cached token, no tray running.

Prints median wall times and ratios against `python -c pass` measured in the same run. Not a
test: figures, not assertions. Run: .venv/bin/python tests/benchmarks/bench_cli.py [runs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def median_ms(argv: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TRAYAUTH_CONFIG_DIR": str(Path(tmp) / "config"),
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "XDG_DATA_HOME": str(Path(tmp) / "data"),
            "XDG_RUNTIME_DIR": str(Path(tmp) / "run"),
        }
        (Path(tmp) / "run").mkdir(mode=0o700)
        cli = [sys.executable, "-m", "trayauth"]
        subprocess.run([*cli, "add", "bench", "bearer"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "login", "bench", "--secret-stdin"],
            env=env,
            input="bench-token-value\n",
            check=True,
            capture_output=True,
            text=True,
        )
        floor = median_ms([sys.executable, "-c", "pass"], env)
        header = median_ms([*cli, "header", "bench"], env)
        keyfile_env = {**env, "TRAYAUTH_CONFIG_DIR": str(Path(tmp) / "config-file")}
        keyfile_env["TRAYAUTH_KEY_STORAGE"] = "file"
        subprocess.run([*cli, "add", "bench", "bearer"], env=keyfile_env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "login", "bench", "--secret-stdin"],
            env=keyfile_env,
            input="bench-token-value\n",
            check=True,
            capture_output=True,
            text=True,
        )
        header_file = median_ms([*cli, "header", "bench"], keyfile_env)
        print(f"runs per figure: {RUNS}")
        print(f"floor: python -c pass           {floor:7.1f} ms   1.0x")
        print(f"trayauth header (file keyring) {header:7.1f} ms  {header / floor:4.1f}x  (goal <= 15x)")
        print(f"trayauth header (key file)     {header_file:7.1f} ms  {header_file / floor:4.1f}x")


if __name__ == "__main__":
    main()
