"""``trayauth proxy NAME``: a local HTTP endpoint that forwards to the account's base URL with the
``Authorization`` header added, for tools that cannot set a header (GraphQL explorers, browsers,
old scripts).

Who may use it: any local user can connect to a 127.0.0.1 port, so every request must start with
a random capability, ``http://127.0.0.1:PORT/<capability>/…``, printed once on our stdout and
compared in constant time; anything else gets 403 and no token is fetched. With ``--socket PATH``
it listens on a 0600 unix socket instead (the peer's uid is checked too) and needs no capability.

Where it forwards: only to the account's ``base_url`` (scheme, host and port fixed when it
starts); the request's path and query are appended below its path. Absolute-form targets
(``GET http://other/``) and CONNECT are refused, so it can never be used to reach another host.

Bodies stream both ways. A request body up to ``RETRY_BODY_LIMIT`` is kept so that after a 401
the token can be renewed once and the request sent once more; a longer body is streamed as it
arrives and its 401 is passed on as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import secrets
import signal
import socket
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import h11
import httpx

from trayauth.cli.wording import line
from trayauth.domain.errors import TrayauthError, UsageError
from trayauth.integrations.cache import TokenCache
from trayauth.net.http import check_url
from trayauth.services.broker import Broker
from trayauth.services.peer import peer_allowed

if TYPE_CHECKING:
    from trayauth.integrations.source import Grant

RETRY_BODY_LIMIT = 1024 * 1024
MAX_HEADERS = 64 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "authorization",
    }
)  # fmt: skip


_CLIENT_DEFAULTS = frozenset({"accept", "accept-encoding", "user-agent"})


class Proxy:
    """Serves one account; :meth:`handle` is an asyncio stream callback."""

    def __init__(
        self,
        account: str,
        base_url: str,
        *,
        capability: str | None,
        fetch: Callable[[str, str | None], Grant] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.account = account
        self.base_url = base_url.rstrip("/")
        self.capability = capability
        self.cache = TokenCache(account, fetch)
        self._lock = asyncio.Lock()
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=300.0), follow_redirects=False
        )
        self.forwarded = 0
        self.public = ""  # our own address (set once listening), for redirects within base_url

    async def aclose(self) -> None:
        await self.client.aclose()

    # ---- tokens -----------------------------------------------------------------------------

    async def _grant(self) -> Grant:
        async with self._lock:
            return await asyncio.to_thread(self.cache.get)

    async def _renewed(self, refused: Grant) -> Grant:
        async with self._lock:
            return await asyncio.to_thread(self.cache.renew, refused)

    # ---- one connection ---------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADERS)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None and _is_unix(sock) and not peer_allowed(sock):
                return
            while True:
                event = await _next_event(conn, reader)
                if isinstance(event, h11.Request):
                    await self._exchange(conn, event, reader, writer)
                else:
                    return  # ConnectionClosed, or a client that went quiet
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                else:
                    return
        except (h11.RemoteProtocolError, ValueError):
            with contextlib.suppress(Exception):
                await _simple(conn, writer, 400, "trayauth proxy: malformed request")
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _target(self, raw: bytes) -> str | None:
        """The path (and query) below base_url for a request target; None when refused."""
        try:
            target = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
        if not target.startswith("/"):
            return None  # absolute-form (another host) or authority-form (CONNECT)
        if self.capability is None:
            return target
        size = len(self.capability)
        given, rest = target[1 : 1 + size], target[1 + size :]
        if not hmac.compare_digest(given.encode(), self.capability.encode()):
            return None
        if rest and rest[0] not in "/?":
            return None  # the capability followed by more characters is not the capability
        return rest if rest.startswith("/") else "/" + rest

    async def _exchange(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        if request.method == b"CONNECT":
            await _drain_and(conn, reader)
            await _simple(conn, writer, 405, "trayauth proxy: CONNECT is not offered")
            return
        path = self._target(request.target)
        if path is None:
            await _drain_and(conn, reader)
            await _simple(conn, writer, 403, "trayauth proxy: unknown path (the URL includes a capability)")
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in request.headers
            if k.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        body, complete = await _read_upto(conn, reader, RETRY_BODY_LIMIT)
        if complete:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        method = request.method.decode("ascii")
        url = self.base_url + path
        try:
            grant = await self._grant()
        except Exception as exc:
            await _simple(conn, writer, 502, f"trayauth proxy: {_line(exc)}")
            return
        content: bytes | AsyncIterator[bytes] = body if complete else _stream(body, conn, reader)
        try:
            response = await self._send(method, url, headers, content, grant)
            if response.status_code == 401 and complete:
                await response.aclose()
                try:
                    grant = await self._renewed(grant)
                except Exception as exc:
                    await _simple(conn, writer, 502, f"trayauth proxy: {_line(exc)}")
                    return
                response = await self._send(method, url, headers, body, grant)
        except httpx.HTTPError as exc:
            await _simple(conn, writer, 502, f"trayauth proxy: upstream: {exc.__class__.__name__}")
            return
        try:
            await self._relay(conn, writer, request, response)
        finally:
            await response.aclose()

    async def _send(
        self, method: str, url: str, headers: list[tuple[str, str]], content: bytes | AsyncIterator[bytes],
        grant: Grant,
    ) -> httpx.Response:  # fmt: skip
        req = self.client.build_request(
            method, url, headers=[*headers, ("Authorization", self.cache.header(grant))], content=content
        )
        # httpx adds its own defaults (Accept-Encoding, User-Agent…): a proxy passes the client's.
        sent = {k.lower() for k, _ in headers}
        for name in _CLIENT_DEFAULTS - sent:
            if name in req.headers:
                del req.headers[name]
        self.forwarded += 1
        return await self.client.send(req, stream=True)

    def _local_location(self, value: bytes) -> bytes:
        """A redirect to somewhere below base_url points back through the proxy (else the client
        would follow it straight to the API, without the header)."""
        target = value.decode("latin-1")
        if self.public and (target == self.base_url or target.startswith(self.base_url + "/")):
            return (self.public.rstrip("/") + target[len(self.base_url) :]).encode("latin-1")
        return value

    async def _relay(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        response: httpx.Response,
    ) -> None:
        headers = [
            (k, self._local_location(v) if k.lower() == b"location" else v)
            for k, v in response.headers.raw
            if k.decode("latin-1").lower() not in _HOP_BY_HOP
        ]
        writer.write(conn.send(h11.Response(status_code=response.status_code, headers=headers)) or b"")
        async for chunk in response.aiter_raw():
            writer.write(conn.send(h11.Data(data=chunk)) or b"")
            await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()


def _is_unix(sock: object) -> bool:

    family = getattr(socket, "AF_UNIX", None)
    return family is not None and getattr(sock, "family", None) == family


def _line(exc: BaseException) -> str:

    return line(exc) if isinstance(exc, TrayauthError) else f"internal error ({exc.__class__.__name__})"


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            continue
        return event


async def _read_upto(conn: h11.Connection, reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """The request body up to ``limit`` bytes; True when that was all of it."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.Data):
            parts.append(bytes(event.data))
            size += len(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(parts), True
        else:
            raise ValueError("the client closed the connection mid-request")
    return b"".join(parts), False


async def _stream(first: bytes, conn: h11.Connection, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    yield first
    while True:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.Data):
            yield bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return
        else:
            raise ValueError("the client closed the connection mid-request")


async def _drain_and(conn: h11.Connection, reader: asyncio.StreamReader) -> None:
    """Read and drop a refused request's body, so the answer is read as an answer."""
    while conn.their_state is h11.SEND_BODY:
        event = await _next_event(conn, reader)
        if not isinstance(event, h11.Data | h11.EndOfMessage):
            return


async def _simple(conn: h11.Connection, writer: asyncio.StreamWriter, status: int, text: str) -> None:
    if conn.our_state is not h11.SEND_RESPONSE:
        return
    body = (text + "\n").encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    if conn.their_state is not h11.DONE:
        headers.append(("Connection", "close"))
    writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
    writer.write(conn.send(h11.Data(data=body)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()


# ---- the command ---------------------------------------------------------------------------


def upstream_of(account: str) -> str:
    """The account's base_url, checked (HTTPS, or plain HTTP to loopback only)."""

    acct, preset = Broker.open().account(account)
    base = acct.settings.get("base_url") or next(
        (f.default for f in preset.fields if f.key == "base_url" and f.default), ""
    )
    if not base:
        raise UsageError(
            f"{account} has no base_url; the proxy forwards only to the account's base_url",
            account=account,
            named=True,
        )
    check_url(base)
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def run_proxy(
    account: str,
    *,
    port: int = 0,
    unix_socket: str | None = None,
    ready: Callable[[str, str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set; ``ready(url, upstream)`` is called once listening."""
    base = upstream_of(account)
    stop = stop or asyncio.Event()
    proxy = Proxy(account, base, capability=None if unix_socket else secrets.token_urlsafe(24))
    try:
        if unix_socket:
            with contextlib.suppress(FileNotFoundError):
                if os.path.exists(unix_socket) and not _is_socket(unix_socket):
                    raise UsageError(f"{unix_socket} exists and is not a socket; refusing to replace it")
                os.unlink(unix_socket)
            old = os.umask(0o177)  # the socket is 0600 from the moment it exists
            try:
                server = await asyncio.start_unix_server(proxy.handle, path=unix_socket)
            finally:
                os.umask(old)
            url = "http://localhost/"
        else:
            server = await asyncio.start_server(proxy.handle, host="127.0.0.1", port=port)
            bound = server.sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{bound}/{proxy.capability}/"
        proxy.public = url
        async with server:
            if ready is not None:
                ready(url, base)
            await stop.wait()
    finally:
        await proxy.aclose()
        if unix_socket:
            with contextlib.suppress(OSError):
                os.unlink(unix_socket)


def _is_socket(path: str) -> bool:

    return stat.S_ISSOCK(os.lstat(path).st_mode)


def serve_forever(account: str, *, port: int = 0, unix_socket: str | None = None) -> int:
    """The CLI's ``trayauth proxy``: print the URL, serve until Ctrl-C or SIGTERM."""

    def ready(url: str, upstream: str) -> None:
        print(url, flush=True)
        where = f"curl --unix-socket {unix_socket} {url}…" if unix_socket else "this URL (keep it private)"
        print(f"trayauth: proxying {account} to {upstream} through {where}; Ctrl-C stops", file=sys.stderr)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await run_proxy(account, port=port, unix_socket=unix_socket, ready=ready, stop=stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
