"""Shared parts of the integration tests: a tray agent without Qt, the CLI as a process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TRAYAUTH = str(BIN / "trayauth")


class Agent:
    """The tray's agent socket, served from a thread; ``gate`` is a ConsentGate or None."""

    def __init__(self, gate: Any = None) -> None:
        from trayauth.services.agent import AgentServer
        from trayauth.services.broker import Broker

        self.broker = Broker.open()
        runtime = self.broker.store.paths.ensure_runtime_dir()
        self.server = AgentServer(self.broker, runtime, gate)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-agent", daemon=True)

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> Agent:
        self.thread.start()
        self.call(self.server.start())
        return self

    def stop(self) -> None:
        try:
            self.call(self.server.close())
            self.call(self.broker.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()

    @property
    def socket(self) -> str:
        return self.server.path


def whoami(srv: Any) -> str:
    return srv.base_url("sentiance") + "/whoami"


def cli(
    *argv: str, stdin: str = "", env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """The installed console script as a real process, with this test's environment."""
    return subprocess.run(
        [TRAYAUTH, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
        **kw,
    )


def stored_token(name: str) -> str:
    from trayauth.storage.store import Store

    tokens = Store.open().vault.entry(name).tokens
    assert tokens is not None
    return tokens.access_token
