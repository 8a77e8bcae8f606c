"""A real tray process (``python -m trayauth``, offscreen Qt) on this test's config folder.

For what only a separate process shows: the CLI's import set when the tray answers, a frozen
(SIGSTOPped) tray, the socket as another host sees it through ``$TRAYAUTH_AGENT``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from tests.support.cli import REPO
from trayauth.client import socket_path, tray_running
from trayauth.storage.paths import runtime_path

START_DEADLINE = 60.0  # generous: Qt's start-up on a loaded 2-core machine


class TrayProcess:
    """A started tray: its process, its socket, and a clean stop (continued first if stopped)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trayauth"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.runtime_dir = runtime_path()
        self.socket = socket_path(self.runtime_dir)
        self.stderr = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self) -> TrayProcess:
        """Until the tray answers a ping on its socket (the answer names its pid)."""
        deadline = time.monotonic() + START_DEADLINE
        while tray_running(self.runtime_dir) != self.proc.pid:
            if self.proc.poll() is not None:
                raise AssertionError(f"the tray exited: {self.proc.communicate()}")
            if time.monotonic() > deadline:
                raise AssertionError("the tray did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> str:
        """SIGTERM (after SIGCONT: a stopped process does not act on it); its stderr."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        _, self.stderr = self.proc.communicate()
        return self.stderr


def tray_process() -> Iterator[TrayProcess]:
    """Fixture body: a ready tray on the isolated config; its stderr must hold no traceback."""
    tray = TrayProcess()
    try:
        yield tray.wait_ready()
    finally:
        err = tray.stop()
    assert "Traceback" not in err, err
