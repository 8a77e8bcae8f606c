"""The network below the provider (issue 9, items 8 and 9).

Item 8: a ``*.localhost`` name is loopback only if it resolves there; a resolver that does not pin
it (played by wrapping ``socket.getaddrinfo``, the call httpx itself resolves with) must not get
a password sent to another machine over plain http. Item 9: a server that sends one byte per
second never trips a read timeout; the exchange as a whole has a deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.cases import Figures, clear_line
from tests.support.cli import add_account, login, ok, run_cli
from trayauth.cli.wording import line as cli_line
from trayauth.demo import ProviderServer
from trayauth.domain.errors import InsecureURL, NetworkError
from trayauth.domain.model import Account
from trayauth.domain.presets import PresetCatalog
from trayauth.net.http import HttpPolicy, check_url
from trayauth.services.broker import Broker
from trayauth.storage.store import Store

NAME = "acct"


# ---- item 8 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addresses", "allowed"),
    [
        (["127.0.0.1"], True),
        (["::1", "127.0.0.1"], True),
        (["192.0.2.7"], False),
        (["127.0.0.1", "192.0.2.7"], False),  # one answer elsewhere is enough to refuse
        ([], False),
    ],
)
def test_a_localhost_subdomain_counts_by_what_it_resolves_to(
    figures: Figures, addresses: list[str], allowed: bool
) -> None:
    with figures.trying(8, f"app.localhost -> {', '.join(addresses) or 'nothing'}") as outcome:
        url = "http://app.localhost:8080/token"
        if allowed:
            check_url(url, resolve=lambda _host: addresses)
        else:
            with pytest.raises(InsecureURL, match="refusing to send credentials"):
                check_url(url, resolve=lambda _host: addresses)
        check_url("http://localhost:8080/token", resolve=lambda _host: ["192.0.2.7"])  # itself: ok
        check_url("http://[::1]:8080/token", resolve=lambda _host: ["192.0.2.7"])  # a literal: ok
        outcome.text = "allowed" if allowed else "refused"


def _outward_address() -> str | None:
    """This machine's address on its default route, if it has one that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))  # TEST-NET-1: no packet is sent for a UDP connect
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104


class Listener:
    """A TCP listener on a non-loopback address that records whatever arrives."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1.0)
                with contextlib.suppress(OSError):
                    self.received += conn.recv(65536)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``*.localhost`` names resolve to whatever the test puts here (a resolver that does not pin)."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_a_password_never_goes_to_a_localhost_name_that_resolves_elsewhere(
    isolated: Path, fresh_provider: ProviderServer, resolver: dict[str, str], figures: Figures
) -> None:
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no non-loopback address to play the other host")
    with figures.trying(8, "app.localhost rebinds to another host") as outcome:
        srv = fresh_provider
        user = srv.users["senseye"]
        listener = Listener(outward)
        try:
            # At `add`, the name points at loopback (so the account is accepted) ...
            resolver["app.localhost"] = "127.0.0.1"
            base = f"http://app.localhost:{listener.port}/senseye"
            add_account(NAME, "senseye", base_url=base, username=user["username"])
            # ... then the resolver answers with another machine.
            resolver["app.localhost"] = outward
            result = login(NAME, user["password"])
            assert result.code not in (0, 70), result.err
            line = result.err.strip().splitlines()[-1]
            assert clear_line(line, [user["password"]]) is None, line
            assert "not a loopback address" in line, line
            time.sleep(0.3)  # anything sent would have arrived by now
            assert bytes(listener.received) == b"", "credentials reached the other host"
            refused = run_cli("add", "other", "senseye", "--set", f"base_url={base}", "--set", "username=u")
            assert refused.code == 2 and "not a loopback address" in refused.err, refused.err
        finally:
            listener.close()
        outcome.text = "refused at login and at add; nothing reached the other host"


def test_a_localhost_name_that_resolves_to_loopback_is_used_at_that_address(
    isolated: Path, fresh_provider: ProviderServer, resolver: dict[str, str], figures: Figures
) -> None:
    with figures.trying(8, "app.localhost pinned to loopback") as outcome:
        srv = fresh_provider
        user = srv.users["senseye"]
        resolver["app.localhost"] = "127.0.0.1"
        port = srv.base_url("senseye").split(":")[2].split("/")[0]
        base = f"http://app.localhost:{port}/senseye"
        add_account(NAME, "senseye", base_url=base, username=user["username"])
        ok(login(NAME, user["password"]))
        assert srv.check("senseye", ok(run_cli("token", NAME)).out.strip())
        outcome.text = "logged in through the checked address"


# ---- item 9 ---------------------------------------------------------------------------------


class Drip:
    """An HTTP server that answers one byte per second: headers first (or dripped too), then body."""

    def __init__(self, drip_headers: bool) -> None:
        self.drip_headers = drip_headers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._run, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        body = b'{"access_token": "' + b"a" * 200 + b'", "expires_in": 3600}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        with conn:
            conn.settimeout(1.0)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                if not self.drip_headers:
                    conn.sendall(head)
                for byte in head + body if self.drip_headers else body:
                    if self._stop.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stop.set()
        self._accept.join(5)
        for worker in self._threads:
            worker.join(5)
        self.sock.close()


@pytest.fixture
def drip(request: pytest.FixtureRequest) -> Iterator[Drip]:
    server = Drip(drip_headers=bool(request.param))
    try:
        yield server
    finally:
        server.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("drip", [False, True], ids=["body", "headers"], indirect=True)
async def test_a_server_that_sends_one_byte_a_second_meets_the_deadline(
    keyfile_home: Path, drip: Drip, figures: Figures
) -> None:
    what = "headers and body" if drip.drip_headers else "body"
    with figures.trying(9, f"1 byte/s ({what}), deadline 2 s") as outcome:
        broker = Broker(Store.open(keyfile_home), PresetCatalog(), http=HttpPolicy(deadline=2.0))
        try:
            broker.add(Account(NAME, "senseye", {"base_url": drip.url, "username": "someone"}))
            with pytest.raises(NetworkError) as caught:
                await broker.login(NAME, {"password": "pw-secret-1"})
        finally:
            await broker.aclose()
        line = cli_line(caught.value)
        assert "did not finish answering within 2 s" in line, line
        assert clear_line(line, ["pw-secret-1"]) is None, line
        assert broker.store.vault.entry(NAME).tokens is None
        outcome.text = "ends with the timeout error, nothing stored"
