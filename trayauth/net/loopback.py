"""The loopback redirect of a browser sign-in (RFC 8252 §7.3, §8.3), and the paste path beside it.

A tiny HTTP server on 127.0.0.1, on a port the OS picks, that exists for one answer: the request
to ``/callback`` whose ``state`` matches. A stale tab or a forged request (wrong state) gets a 400
page and the login keeps waiting; any other path is a 404; once the answer is in, everything
else is refused and the server closes. The parsing is deliberately small: one GET, a bounded
request line and header block, a read timeout per connection, ``Connection: close``.

A browser that cannot reach this machine (SSH, WSL) shows the redirect in its address bar; the
user pastes it, and ``submit`` checks it exactly as the server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Callable
from pathlib import Path
from string import Template
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from trayauth.domain.errors import LoginCancelled, LoginRequired, LoginTimeout, TrayauthError
from trayauth.domain.prompts import BrowserSignIn
from trayauth.domain.steps import NextStep
from trayauth.domain.text import span
from trayauth.protocol.oauth import StateMismatch

if TYPE_CHECKING:
    from trayauth.flows.base import FlowContext

T = TypeVar("T")

HOST = "127.0.0.1"  # §8.3: the IP literal, not "localhost"
CALLBACK_PATH = "/callback"
DEFAULT_TIMEOUT = 300.0
MAX_LINE = 8192  # request line or one header line
MAX_HEADER_BYTES = 16384
MAX_HEADER_LINES = 64
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 5.0
PAGE = Path(__file__).resolve().parents[1] / "resources" / "pages" / "loopback.html"
_FALLBACK_PAGE = "<!DOCTYPE html><title>trayauth: $title</title><h1>$title</h1><p>$message</p><p>$closing</p>"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    410: "Gone",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


def render_page(tone: str, title: str, message: str, closing: str = "You may close this tab.") -> bytes:
    """The page the browser shows; ``tone`` is ok, error or waiting. Never given a code or token."""
    try:
        template = PAGE.read_text(encoding="utf-8")
    except OSError:
        template = _FALLBACK_PAGE
    marks = {"ok": "&#10003;", "error": "&#10007;", "waiting": "&#8230;"}
    text = Template(template).safe_substitute(
        tone=tone,
        mark=marks.get(tone, ""),
        title=html.escape(title),
        message=html.escape(message),
        closing=html.escape(closing),
    )
    return text.encode("utf-8")


class _Refuse(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopbackRedirect(Generic[T]):
    """One sign-in's listener. ``validate`` turns the redirect URL into the result or raises:
    ``StateMismatch`` (not ours: keep waiting) or another TrayauthError (the final answer)."""

    def __init__(
        self,
        validate: Callable[[str], T],
        *,
        account: str,
        path: str = CALLBACK_PATH,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self._validate = validate
        self.account = account
        self.path = path
        self.read_timeout = read_timeout
        self._server: asyncio.Server | None = None
        self._future: asyncio.Future[T] | None = None
        self._claimed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def redirect_uri(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    async def start(self) -> str:
        self._future = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._serve, HOST, 0, limit=MAX_LINE)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.redirect_uri

    async def __aenter__(self) -> LoopbackRedirect[T]:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def finished(self) -> bool:
        return self._claimed

    # ---- outcomes ----------------------------------------------------------------------------

    def _settle(self, outcome: T | TrayauthError) -> None:
        self._claimed = True
        future = self._future
        if future is None or future.done():
            return
        if isinstance(outcome, TrayauthError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def submit(self, url: str) -> None:
        """The paste path: a bad or foreign URL raises and the wait goes on; a real answer ends it."""
        if self._claimed:
            return
        try:
            value = self._validate(url)
        except StateMismatch:
            raise
        except TrayauthError as exc:
            self._settle(exc)
            return
        self._settle(value)

    def cancel(self) -> None:
        if not self._claimed:
            self._settle(LoginCancelled("sign-in cancelled", account=self.account))

    async def wait(self, timeout: float) -> T:
        if self._future is None:
            raise RuntimeError("start() the loopback listener first")
        try:
            return await asyncio.wait_for(self._future, timeout=max(0.0, timeout))
        except TimeoutError:
            self._claimed = True
            raise LoginTimeout(
                f"no answer from the browser within {span(timeout)}", account=self.account
            ) from None

    async def close(self) -> None:
        self._claimed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current and not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        if self._future is not None and not self._future.done():
            self._future.cancel()

    # ---- HTTP --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        settle: Callable[[], None] | None = None
        try:
            try:
                status, page, extra, settle = await asyncio.wait_for(self._answer(reader), self.read_timeout)
            except TimeoutError:
                status, page, extra = 408, render_page("error", "Request timed out", "Nothing arrived."), {}
            except _Refuse as refused:
                status, extra = refused.status, {}
                page = render_page(
                    "error", _REASONS.get(status, "Bad request"), "trayauth could not read that."
                )
            await asyncio.wait_for(self._write(writer, status, page, extra), WRITE_TIMEOUT)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The sign-in ended while this connection sat idle (a browser's preconnect): ending
            # it is the point, not news (a cancelled handler makes asyncio print a traceback).
            pass
        finally:
            writer.close()
            if settle is not None:
                settle()
            if task is not None:
                self._tasks.discard(task)

    async def _line(self, reader: asyncio.StreamReader, status: int) -> str:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise _Refuse(status) from None
        try:
            return raw.decode("ascii").rstrip("\r\n")
        except UnicodeDecodeError:
            raise _Refuse(400) from None

    async def _answer(
        self, reader: asyncio.StreamReader
    ) -> tuple[int, bytes, dict[str, str], Callable[[], None] | None]:
        parts = (await self._line(reader, 414)).split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _Refuse(400)
        method, target, _ = parts
        headers: dict[str, str] = {}
        total = 0
        for _ in range(MAX_HEADER_LINES + 1):
            line = await self._line(reader, 431)
            total += len(line) + 2
            if total > MAX_HEADER_BYTES:
                raise _Refuse(431)
            if not line:
                break
            name, sep, value = line.partition(":")
            if not sep or not name.strip() or name != name.strip():
                raise _Refuse(400)
            key = name.lower()
            if key == "host" and key in headers:
                raise _Refuse(400)
            headers[key] = value.strip()
        else:
            raise _Refuse(431)
        if method != "GET":
            page = render_page("error", "Method not allowed", "The sign-in answer arrives as a GET.")
            return 405, page, {"Allow": "GET"}, None
        if headers.get("host", "").lower() != f"{HOST}:{self.port}" or not target.startswith("/"):
            raise _Refuse(400)  # also stops DNS-rebinding pages that reach this port by another name
        if target.split("?", 1)[0] != self.path:
            return (
                404,
                render_page("error", "Not found", "This address only receives sign-in answers."),
                {},
                None,
            )
        return self._outcome(target)

    def _outcome(self, target: str) -> tuple[int, bytes, dict[str, str], Callable[[], None] | None]:
        if self._claimed:
            page = render_page(
                "error", "Sign-in already finished", "This sign-in is over; trayauth is not waiting."
            )
            return 410, page, {}, None
        try:
            value = self._validate(f"http://{HOST}:{self.port}{target}")
        except StateMismatch:
            page = render_page(
                "waiting",
                "Not this sign-in",
                "This answer does not belong to the sign-in trayauth is waiting for (the state does "
                "not match), so it was ignored. trayauth is still waiting: finish signing in in the tab "
                "it opened.",
                closing="",
            )
            return 400, page, {}, None
        except TrayauthError as exc:
            self._claimed = True
            error = exc
            page = render_page(
                "error", "Sign-in failed", exc.message, "You may close this tab and try again."
            )
            return 400, page, {}, lambda: self._settle(error)
        self._claimed = True
        page = render_page("ok", "Signed in", f"trayauth received the sign-in for {self.account}.")
        return 200, page, {}, lambda: self._settle(value)

    async def _write(
        self, writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str]
    ) -> None:
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Length": str(len(body)),
            "Connection": "close",
            **SECURITY_HEADERS,
            **extra,
        }
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode("ascii") + body)
        await writer.drain()


def timeout_of(ctx: FlowContext) -> float:
    """Seconds to wait for the browser: the preset's ``timeout`` (checked when it loaded)."""
    return ctx.preset.oauth.timeout


async def sign_in(
    ctx: FlowContext, authorize_url: Callable[[str], str], validate: Callable[[str], T], *, timeout: float
) -> tuple[T, str]:
    """Show the sign-in (asker always, browser when allowed), wait for the answer; (result, redirect_uri).

    Without an asker nobody is there to sign in (background renewal), so no browser opens.
    """
    asker = ctx.asker
    if asker is None:
        raise LoginRequired(
            "signing in needs the browser", account=ctx.name, next_step=NextStep.log_in(ctx.name)
        )
    async with LoopbackRedirect(validate, account=ctx.name) as redirect:
        url = authorize_url(redirect.redirect_uri)
        deadline = ctx.clock() + timeout
        question = BrowserSignIn(ctx.name, url, deadline, submit=redirect.submit, cancel=redirect.cancel)
        try:
            asker.ask(question)
            if ctx.open_browser is not None:
                with contextlib.suppress(Exception):  # the URL is shown anyway; a failed launch is no error
                    ctx.open_browser(url)
            value = await redirect.wait(deadline - ctx.clock())
        finally:
            question.finish()
        return value, redirect.redirect_uri
