"""The HTTP plumbing: a stdlib threading server on loopback, routing, faults, counters.

stdlib only (plus the vendors' token minting) because ``trayauth demo`` ships it and the test
suite leans on it: it must start in milliseconds, on a port of the OS's choosing, with no extras.
Every request is HTTP/1.0 (one connection each), so a "reset" fault can never leak into the next
request of a pooled connection.
"""

from __future__ import annotations

import selectors
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from trayauth.demo import faults, routes
from trayauth.demo.accounts import LOOPBACK_ANY, Client
from trayauth.demo.context import VENDORS, Context, Settings
from trayauth.demo.dialects import DIALECTS
from trayauth.demo.oauth import issuer
from trayauth.demo.wire import Answer, Reply, Request, oauth_error, parse_params

MAX_REQUEST_BODY = 1_048_576


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a tray renewing hundreds of accounts at once must not see resets
    block_on_close = False  # a client's idle connection must never hold up stop()

    def __init__(self, address: tuple[str, int], app: ProviderServer) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self._resets: set[int] = set()
        self._resets_lock = threading.Lock()

    def mark_reset(self, sock: socket.socket) -> None:
        with self._resets_lock:
            self._resets.add(id(sock))

    def shutdown_request(self, request: Any) -> None:
        """Skip the orderly FIN for a "reset" fault: close at once with SO_LINGER 0, i.e. a TCP RST."""
        with self._resets_lock:
            reset = id(request) in self._resets
            self._resets.discard(id(request))
        if reset:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (the tests' killed processes and timeouts do) is not news."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "trayauth-devserver"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(Reply(411, {"error": "invalid_request", "error_description": "send a Content-Length"}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BODY:
            self._send(Reply(413 if length > 0 else 400, {"error": "invalid_request"}))
            return
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.server.app.dispatch(self.command, self.path, headers, body)
        except Exception:
            traceback.print_exc()
            reply = Reply(500, {"error": "server_error", "error_description": "the demo provider failed"})
        if reply is None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = reply.encode()
        self.send_response(reply.status)
        if reply.redirect is not None:
            self.send_header("Location", reply.location())
        else:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.app.verbose:  # the path only: queries can carry codes and states
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            print(f"{stamp} {self.command} {urlsplit(self.path).path} -> {code}", file=sys.stderr, flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ProviderServer:
    """Every vendor's token API on one loopback port. See the package docstring for the API."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.clock = clock
        self.clock_offset = 0.0  # seconds the server's clock runs ahead of `clock` (negative: behind)
        self.verbose = verbose
        self._address = (host, port)
        self._lock = threading.RLock()
        self._ctx = Context(self.now, self.base_url)
        self._faults: dict[tuple[str, str], deque[faults.Fault]] = {}
        self._counts: Counter[tuple[str, str]] = Counter()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._url = ""

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> ProviderServer:
        if self._httpd is not None:
            raise RuntimeError("the provider server is already running")
        httpd = _HTTPServer(self._address, self)
        httpd.timeout = 0.5  # bounds handle_request() should a pending connection vanish before accept
        host, port = str(self._address[0]), httpd.server_address[1]
        self._url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, args=(httpd, self._wake[0]), daemon=True)
        self._thread.name = "trayauth-devserver"
        self._httpd = httpd
        self._thread.start()
        return self

    @staticmethod
    def _serve(httpd: _HTTPServer, wake: socket.socket) -> None:
        """serve_forever, but woken at once by stop() instead of polling: no idle wake-ups, instant stop."""
        with selectors.DefaultSelector() as selector:
            selector.register(httpd, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if wake in ready:
                    return
                httpd.handle_request()

    def stop(self) -> None:
        httpd, thread, wake = self._httpd, self._thread, self._wake
        self._httpd, self._thread, self._wake = None, None, None
        if wake is not None:
            wake[1].send(b"x")
        if thread is not None:
            thread.join(timeout=5)
        if httpd is not None:
            httpd.server_close()
        if wake is not None:
            for end in wake:
                end.close()

    def __enter__(self) -> ProviderServer:
        return self if self._httpd is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- addresses and settings ------------------------------------------------------------

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("start() the provider server first")
        return self._url

    def base_url(self, vendor: str) -> str:
        """``{url}/{vendor}``; a provider dialect's name (``github``, ``keycloak`` …) works too."""
        if vendor not in VENDORS and vendor not in DIALECTS:
            known = ", ".join((*VENDORS, *(d for d in DIALECTS if d not in VENDORS)))
            raise ValueError(f"unknown vendor {vendor!r}; one of {known}")
        return f"{self.url}/{vendor}"

    @property
    def issuer(self) -> str:
        return self.base_url("oauth")

    def now(self) -> float:
        """The server's clock: ``clock()`` plus ``clock_offset``."""
        return self.clock() + self.clock_offset

    @property
    def settings(self) -> Settings:
        """Lifetimes, code TTLs, rate limits, device-flow timing; change them between requests."""
        return self._ctx.settings

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self._ctx.accounts.demo()

    def add_user(self, vendor: str, username: str, password: str) -> None:
        with self._lock:
            self._ctx.accounts.add_user(vendor, username, password)

    def add_client(
        self,
        vendor: str,
        client_id: str,
        secret: str | None = None,
        redirect_uris: tuple[str, ...] = LOOPBACK_ANY,
        deny: bool = False,
    ) -> None:
        with self._lock:
            self._ctx.accounts.add_client(vendor, Client(client_id, secret, tuple(redirect_uris), deny))

    def set_lifetime(self, vendor: str, seconds: float | None) -> None:
        self.base_url(vendor)  # validates the name
        with self._lock:
            self.settings.lifetimes[vendor] = seconds

    def set_refresh_lifetime(self, vendor: str, seconds: float | None) -> None:
        self.base_url(vendor)
        with self._lock:
            self.settings.refresh_lifetimes[vendor] = seconds

    def set_rate_limit(self, vendor: str, limit: int | None, window: float | None = None) -> None:
        self.base_url(vendor)
        with self._lock:
            self.settings.rate_limits[vendor] = limit
            if window is not None:
                self.settings.rate_window = window
            self._ctx.limiter.reset()

    # --- faults and observation ------------------------------------------------------------

    def inject(self, vendor: str, endpoint: str, fault: str | Mapping[str, Any], times: int = 1) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        route = routes.endpoint(vendor, endpoint)
        parsed = faults.parse(fault)
        with self._lock:
            self._faults.setdefault((vendor, route.name), deque()).extend([parsed] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, vendor: str, endpoint: str) -> int:
        route = routes.endpoint(vendor, endpoint)
        with self._lock:
            return self._counts[(vendor, route.name)]

    def refreshes(self, vendor: str) -> int:
        with self._lock:
            return self._ctx.book.refresh_count[vendor]

    def revoked_families(self, vendor: str) -> int:
        with self._lock:
            return self._ctx.book.revoked_count[vendor]

    def check(self, vendor: str, access_token: str) -> bool:
        with self._lock:
            return self._ctx.subject(vendor, access_token) is not None

    def issuer_of(self, dialect: str) -> str:
        """The issuer URL of a provider dialect (``srv.issuer`` is the generic one's)."""

        return issuer(self._ctx, DIALECTS[dialect])

    def revocations(self) -> list[str]:
        """The ``token_type_hint`` of every revocation request answered 200, in order."""
        with self._lock:
            return list(self._ctx.revoked)

    def rotate_id_key(self) -> None:
        with self._lock:
            self._ctx.mint.rotate_id_key()

    def approve_device(self, user_code: str, username: str = "demo") -> None:
        with self._lock:
            self._ctx.devices.decide(user_code, True, username)

    def deny_device(self, user_code: str) -> None:
        with self._lock:
            self._ctx.devices.decide(user_code, False)

    # --- tokens made to order --------------------------------------------------------------

    def mint_jwt(self, claims: Mapping[str, Any]) -> str:
        """An HS256 JWT with exactly these claims; check() honours it until its ``exp``."""
        token = self._ctx.mint.jwt(dict(claims), unique=False)
        self._register(token, claims)
        return token

    def mint_paseto(self, claims: Mapping[str, Any], local: bool = False) -> str:
        """A PASETO v4.public token (Ed25519; ``exp`` as ISO 8601), or an opaque v4.local one."""
        token = self._ctx.mint.paseto(dict(claims), local=local)
        self._register(token, claims)
        return token

    def _register(self, token: str, claims: Mapping[str, Any]) -> None:
        """Remember a minted token; an ``exp`` this cannot read (a test's garbage) means no expiry."""
        exp = claims.get("exp")
        expires_at: float | None = None
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            expires_at = float(exp)
        elif isinstance(exp, str):
            try:
                moment = datetime.fromisoformat(exp)
                expires_at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
            except ValueError:
                expires_at = None
        with self._lock:
            book = self._ctx.book
            book.record(
                "*", token, sub=str(claims.get("sub", "")), expires_at=expires_at, claims=dict(claims)
            )

    # --- one request -----------------------------------------------------------------------

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The answer to one request; None means "reset the connection"."""
        parts = urlsplit(target)
        vendor, _, rest = parts.path.lstrip("/").partition("/")
        route = routes.BY_PATH.get((vendor, rest.strip("/")))
        if route is None:
            return Reply(404, {"error": "not_found", "message": f"no endpoint {parts.path}"})
        if method not in route.methods:
            return Reply(405, {"error": "method_not_allowed"}, headers={"Allow": ", ".join(route.methods)})
        with self._lock:
            self._counts[(vendor, route.name)] += 1
            queue = self._faults.get((vendor, route.name))
            fault = queue.popleft() if queue else None
        try:
            req = Request(method, route.path, parse_params(parts.query), headers, body)
        except Answer as answer:
            return answer.reply
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and not fault.after:
            if fault.kind == "reset":
                return None
            if not (fault.kind == "deny" and route.interactive):
                return faults.instead(fault)
            req.deny = True
        with self._lock:
            reply = self._limited(vendor) if route.limited else None
            if reply is None:
                try:
                    reply = route.handler(self._ctx, req)
                except Answer as answer:
                    reply = answer.reply
        if fault is not None and fault.after:
            if fault.kind == "reset_after_processing":
                return None
            reply = faults.after(fault, reply)
        return reply

    def _limited(self, vendor: str) -> Reply | None:
        limit = self.settings.rate_limits.get(vendor)
        if limit is None:
            return None
        wait = self._ctx.limiter.admit(vendor, limit, self.settings.rate_window)
        if wait is None:
            return None
        return oauth_error(429, "too_many_requests", "rate limit exceeded", {"Retry-After": str(wait)})
