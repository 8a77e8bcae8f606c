"""``trayauth proxy`` as a real process, used by curl and httpx: capability, streaming both ways,
renewal after a 401 in the middle of a stream of requests, and other users kept out.

The account's base_url is :class:`Resource`, a protected API (whose host also relays Sentiance's
token endpoints to the provider server, so the account logs in and renews against it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integrations.servers import Resource
from tests.integrations.support import TRAYAUTH, Agent, stored_token
from tests.support.cli import add_account, login, ok

NOBODY = 65534


@pytest.fixture
def resource(isolated: Path, fresh_provider: Any) -> Iterator[Resource]:
    with Resource(fresh_provider) as res:
        user = fresh_provider.users["sentiance"]
        add_account("api", "sentiance", base_url=res.url, username=user["username"])
        ok(login("api", user["password"]))
        yield res


class ProxyProcess:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [TRAYAUTH, "proxy", "api", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://"), self.proc.stderr.read() if self.proc.stderr else ""

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
        return code


@pytest.fixture
def proxy(resource: Resource) -> Iterator[ProxyProcess]:
    running = ProxyProcess()
    try:
        yield running
    finally:
        assert running.stop() == 0


def curl(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=60, check=False, **kw
    )


def test_curl_through_the_proxy_gets_the_header_added(proxy: ProxyProcess, resource: Resource) -> None:
    result = curl(proxy.url + "api/hello?x=1", "-H", "Authorization: Bearer not-mine")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["path"] == "/api/hello?x=1"
    assert answer["host"] == f"127.0.0.1:{resource.port}"  # the upstream's, not the proxy's
    assert answer["accept_encoding"] is None and answer["user_agent"].startswith("curl/")  # curl's own
    assert resource.seen == [stored_token("api")]  # the client's own header was replaced


def test_redirects_within_the_api_stay_on_the_proxy(proxy: ProxyProcess, resource: Resource) -> None:
    result = curl("-L", proxy.url + "api/redirect")
    assert result.returncode == 0 and json.loads(result.stdout)["path"] == "/api/landed"
    assert len(resource.seen) == 2  # both hops went through the proxy, with the header


def test_only_the_capability_url_is_served(proxy: ProxyProcess, resource: Resource) -> None:
    root = proxy.url.split("/", 3)
    base = f"{root[0]}//{root[2]}"
    capability = root[3].strip("/")
    for url in (
        base + "/",
        base + "/api/hello",
        f"{base}/{capability[:-1]}/api",
        f"{base}/{capability}x/api",
    ):
        result = curl("-o", "/dev/null", "-w", "%{http_code}", url)
        assert result.stdout == "403", url
    # As a forward proxy (absolute-form target) and for CONNECT it refuses: never another host.
    forward = curl("-o", "/dev/null", "-w", "%{http_code}", "-x", base, "http://example.invalid/api")
    assert forward.stdout == "403"
    tunnel = curl("-o", "/dev/null", "-w", "%{http_code}", "-p", "-x", base, "https://example.invalid/")
    assert tunnel.returncode != 0 or tunnel.stdout != "200"
    assert resource.seen == []  # nothing was forwarded, no token was fetched for anyone


def test_bodies_stream_both_ways(proxy: ProxyProcess, resource: Resource) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # beyond the retry buffer: streamed as it arrives

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 100_000):
            yield big[i : i + 100_000]

    with httpx.Client(timeout=60) as client:
        up = client.post(proxy.url + "api/upload", content=chunks())
        assert up.status_code == 200
        assert up.json()["sha256"] == hashlib.sha256(big).hexdigest() and up.json()["size"] == len(big)
        digest = hashlib.sha256()
        size = 0
        with client.stream("GET", proxy.url + "api/stream?chunks=64") as down:
            assert down.status_code == 200
            for part in down.iter_raw():
                digest.update(part)
                size += len(part)
        assert size == 64 * 65536
        assert digest.hexdigest() == hashlib.sha256(b"0123456789abcdef" * 4096 * 64).hexdigest()


@pytest.mark.parametrize("tray", [False, True], ids=["no-tray", "tray"])
def test_renewal_mid_stream_of_requests(
    resource: Resource, fresh_provider: Any, request: pytest.FixtureRequest, tray: bool
) -> None:
    running: Agent | None = request.getfixturevalue("agent") if tray else None
    proxy = ProxyProcess()
    try:
        first = stored_token("api")

        async def stream() -> list[int]:
            async with httpx.AsyncClient(timeout=60) as client:
                before = await asyncio.gather(
                    *(client.post(proxy.url + f"api/{i}", content=b"x" * i) for i in range(8))
                )
                # Mid-stream, the server stops honouring the token (its clock says it expired).
                fresh_provider.clock_offset = 10 * 86400
                after = await asyncio.gather(
                    *(client.post(proxy.url + f"api/{i}", content=b"y" * i) for i in range(8))
                )
                return [r.status_code for r in (*before, *after)]

        assert asyncio.run(stream()) == [200] * 16
        assert fresh_provider.refreshes("sentiance") == 1  # eight 401s, one renewal
        renewed = stored_token("api")
        assert renewed != first and resource.seen[-1] == renewed
        if running is not None:
            assert running.server.requests >= 2  # the proxy asked the tray
        curl_after = curl(proxy.url + "api/again")
        assert curl_after.returncode == 0 and json.loads(curl_after.stdout)["path"] == "/api/again"
    finally:
        assert proxy.stop() == 0


def test_another_user_cannot_use_the_port(proxy: ProxyProcess, resource: Resource) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a child as another uid")
    host = proxy.url.split("/", 3)[2]
    other = curl(
        "-o", "/dev/null", "-w", "%{http_code}", f"http://{host}/api/hello", user=NOBODY, group=NOBODY
    )
    assert other.stdout == "403"
    assert resource.seen == []


KNOCK = """
import socket, sys
c = socket.socket(socket.AF_UNIX)
try:
    c.connect(sys.argv[1])
    c.sendall(b"GET /api/hello HTTP/1.0\\r\\n\\r\\n")
    print(c.recv(100).decode() or "closed")
except OSError as exc:
    print(type(exc).__name__)
"""


def knock_as_nobody(sock: Path) -> str:
    """An HTTP request over the unix socket from uid 65534: what came of it."""
    result = subprocess.run(
        ["python3", "-c", KNOCK, str(sock)],
        user=NOBODY,
        group=NOBODY,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_unix_socket_is_for_this_user_only(resource: Resource, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a child as another uid")
    shared = Path(f"/tmp/trayauth-proxy-{os.getpid()}")
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)  # noqa: S103 - anyone may reach the directory: the socket itself must keep them out
    sock = shared / "api.sock"
    proxy = ProxyProcess("--socket", str(sock))
    try:
        assert proxy.url == "http://localhost/"
        assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
        mine = curl("--unix-socket", str(sock), "http://localhost/api/hello")
        assert mine.returncode == 0 and json.loads(mine.stdout)["path"] == "/api/hello"
        assert knock_as_nobody(sock) == "PermissionError"  # the socket is 0600
        # Even if the socket's mode were opened up, the peer's uid is checked: no answer at all.
        os.chmod(sock, 0o666)  # noqa: S103 - on purpose
        assert knock_as_nobody(sock) in ("closed", "BrokenPipeError", "ConnectionResetError")
        assert len(resource.seen) == 1
    finally:
        assert proxy.stop() == 0
        assert not sock.exists()
        shared.rmdir()


def test_proxy_errors_are_one_line(isolated: Path) -> None:
    add_account("static", "bearer")
    result = subprocess.run([TRAYAUTH, "proxy", "static"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "trayauth: static has no base_url; the proxy forwards only to the account's base_url"
    ]


def test_port_option(resource: Resource) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = ProxyProcess("--port", str(port))
    try:
        assert proxy.url.startswith(f"http://127.0.0.1:{port}/")
        assert json.loads(curl(proxy.url + "api/x").stdout)["path"] == "/api/x"
    finally:
        assert proxy.stop() == 0
