"""The one HTTP policy every flow goes through.

Why one place: the rules that keep credentials safe and providers friendly (HTTPS only except to
loopback, bounded waits, Retry-After honoured, capped bodies, secrets scrubbed from errors) are
easy to forget in one flow out of ten. Flows call ``HttpPolicy.request`` and never httpx itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json as jsonlib
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

from trayauth import __version__, faultpoints
from trayauth.domain.errors import (
    InsecureURL,
    NetworkError,
    ProviderError,
    RateLimited,
    TrayauthError,
    UsageError,
)
from trayauth.domain.steps import NextStep, StepKind

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
# One exchange as a whole (connect, send, headers, the whole body): a server that sends one byte
# per second never trips the read timeout, which counts the gap between two bytes only.
EXCHANGE_DEADLINE = 60.0
MAX_BODY = 1_048_576
RETRY_STATUSES = frozenset({429, 503})
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 1e9  # seconds: "9" * 400 would be an infinite wait (and no round() of it)

Sleep = Callable[[float], Awaitable[None]]


def is_loopback_host(host: str) -> bool:
    """A loopback IP literal, or ``localhost`` itself: loopback without asking any resolver.

    Other ``*.localhost`` names are loopback only where the resolver pins them (RFC 6761 asks it
    to, many do not): :func:`loopback_addresses` decides those by what they resolve to.
    """
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolves_by_name(host: str) -> bool:
    """A ``*.localhost`` name: plain http is allowed only once it resolves to loopback."""
    return host.strip("[]").lower().endswith(".localhost")


Resolver = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to now (the system resolver, as httpx would use it)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def loopback_problem(host: str, addresses: list[str]) -> str | None:
    """Why plain http to ``host`` (resolved to ``addresses``) is refused; None when all are loopback."""
    if not addresses:
        return f"refusing to send credentials over plain http to {host}: it does not resolve"
    for address in addresses:
        if not is_loopback_host(address.split("%", 1)[0]):
            return (
                f"refusing to send credentials over plain http to {host}: it resolves to {address}, "
                "which is not a loopback address"
            )
    return None


def check_url(url: str, *, resolve: Resolver | None = resolve_host) -> None:
    """Credentials travel only over HTTPS; plain HTTP only to loopback (tests, the demo).

    ``resolve`` None skips resolving ``*.localhost`` names: the request path resolves them itself
    and connects to the address it checked (so the answer cannot change in between).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise InsecureURL(
            f"{safe_url(url)!r} is not a valid URL", next_step=NextStep.check_setting()
        ) from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host and is_loopback_host(host):
        return
    if parts.scheme == "http" and host and resolves_by_name(host):
        if resolve is None:
            return
        problem = loopback_problem(host, resolve(host))
        if problem is None:
            return
        raise InsecureURL(problem)
    if parts.scheme not in ("http", "https") or not host:
        raise InsecureURL(f"{safe_url(url)!r} is not an http(s) URL", next_step=NextStep.check_setting())
    raise InsecureURL(f"refusing to send credentials over plain http to {host}")


def safe_url(url: str) -> str:
    """A URL fit for an error line: no query, no fragment, no user info."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url.split("?")[0]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and each URL-encoded form of it) in ``text``; longest first.

    The forms: as is, fully percent-encoded (a query value), path-encoded (``/`` kept, as in a URL
    path built from a setting) and form-encoded (``+`` for spaces).
    """

    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            text = text.replace(form, "[redacted]")
    return text


def parse_retry_after(value: str | None, now: float) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; None when absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not str.isdigit alone: "²" is a digit to it
        return min(float(value), MAX_RETRY_AFTER)
    import email.utils  # with the first HTTP-date: the email package is not what a tray needs to start

    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    @property
    def ok(self) -> bool:
        """A success status: the provider accepted the request."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deep
            kind = self.content_type or "no content type"
            raise ProviderError(
                f"{safe_url(self.url)} answered HTTP {self.status} with something that is not JSON ({kind})",
                next_step=NextStep.of(StepKind.CHECK_PROVIDER),
            ) from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ProviderError(
                f"{safe_url(self.url)} answered HTTP {self.status} with JSON that is not an object"
            )
        return data


def _first_str(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def describe_error(resp: HttpResponse, secrets: Iterable[str] = ()) -> str:
    """One line for a failed response, from whatever error shape the provider speaks."""
    detail: str | None = None
    try:
        data = jsonlib.loads(resp.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        errors = data.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else None
        if isinstance(first, dict):  # JSON:API
            detail = _first_str(first.get("detail"), first.get("title"), first.get("code"))
        code = data.get("error")
        desc = _first_str(data.get("error_description"), data.get("message"), data.get("detail"))
        if detail is None and isinstance(code, str) and desc:
            detail = f"{code}: {desc}"
        elif detail is None:
            detail = _first_str(code, desc, data.get("title"))
    if detail is None:
        detail = {
            400: "bad request",
            401: "unauthorized",
            403: "forbidden",
            404: "not found (check base_url)",
            429: "too many requests",
            500: "server error",
            502: "bad gateway",
            503: "service unavailable",
            504: "gateway timeout",
        }.get(resp.status, "unexpected answer")
    detail = " ".join(detail.split())[:200]
    return redact(f"HTTP {resp.status}: {detail}", secrets)


@contextlib.contextmanager
def reading(resp: HttpResponse) -> Iterator[None]:
    """Around the code that makes sense of ``resp``: an error raised there about a success answer
    says so (``accepted``), so the caller can tell "the provider refused" (a rotating refresh
    token is still good) from "it accepted, and its answer was unusable" (the token is spent).
    The outcome travels with the error of this one exchange, never through the shared policy."""
    try:
        yield
    except TrayauthError as exc:
        if resp.ok:
            exc.accepted = True
        raise


def _httpx() -> ModuleType:
    """httpx, imported with the first request rather than with this module: the tray imports
    this module at start, and a tray whose tokens need no network yet (fresh ones, pasted ones,
    API keys) does without the HTTP stack's ~7 MiB until one does."""
    import httpx

    return httpx


class HttpPolicy:
    """One shared ``httpx.AsyncClient`` plus the rules. ``sleep`` and ``rand`` are injectable."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = 4,
        max_wait: float = 60.0,
        max_body: int = MAX_BODY,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        deadline: float = EXCHANGE_DEADLINE,
        resolve: Resolver | None = None,
    ) -> None:
        self._client = client
        self._origin: HttpPolicy | None = None  # a view's: the policy whose client it shares
        self.deadline = deadline
        self._resolve = resolve
        self._own_client = client is None
        self.sleep = sleep
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.max_body = max_body
        self.rand = rand
        self.clock = clock

    @property
    def client(self) -> httpx.AsyncClient:
        if self._origin is not None:
            return self._origin.client
        if self._client is None:
            httpx = _httpx()
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
                follow_redirects=False,
                headers={"User-Agent": f"trayauth/{__version__}"},
            )
        return self._client

    def with_attempts(self, attempts: int) -> HttpPolicy:
        """The same client and rules with at most ``attempts`` tries per request (a logout's
        revocation tries once): a new policy value, sharing the client it does not own. The client
        is not made here: a logout whose revocation runs in a worker process (the tray's) never
        loads the HTTP stack."""
        view = copy.copy(self)
        view._origin = self._origin or self
        view._client = None
        view._own_client = False
        view.max_attempts = max(1, attempts)
        return view

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    def backoff(self, attempt: int) -> float:
        """Bounded exponential backoff with jitter: half fixed, half random."""
        ceiling: float = min(BACKOFF_CAP, BACKOFF_BASE * float(2**attempt))
        return ceiling * (0.5 + 0.5 * self.rand())

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> HttpResponse:
        check_url(url, resolve=None)  # a *.localhost name is resolved (once) when it is sent
        secret_list = [s for s in secrets if s]
        where = safe_url(url)
        for attempt in range(self.max_attempts):
            resp = await self._send_once(method, url, json, data, headers, secret_list)
            if resp.status not in RETRY_STATUSES:
                return resp
            hinted = parse_retry_after(resp.headers.get("retry-after"), self.clock())
            delay = hinted if hinted is not None else self.backoff(attempt)
            if attempt == self.max_attempts - 1 or delay > self.max_wait:
                what = "rate limited" if resp.status == 429 else "unavailable"
                after = f" (asks to retry after {round(delay)} s)" if hinted is not None else ""
                raise RateLimited(
                    f"{where} is {what}: HTTP {resp.status} after {attempt + 1} "
                    f"attempt{'s' if attempt else ''}{after}",
                    next_step=NextStep.wait(self.clock() + delay if hinted is not None else None),
                    sent=False,
                )
            await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(
        self,
        method: str,
        url: str,
        json: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        secrets: list[str],
    ) -> HttpResponse:
        where = safe_url(url)
        try:
            async with asyncio.timeout(self.deadline):
                return await self._exchange(method, url, json, data, headers, secrets)
        except TimeoutError:
            raise NetworkError(
                f"{where} did not finish answering within {self.deadline:g} s",
                next_step=NextStep.of(StepKind.RETRY_LATER),
            ) from None

    async def _pinned(self, url: str, headers: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
        """For plain http to a ``*.localhost`` name: resolve it once, refuse unless every address is
        loopback, and send to that address (with the name as Host), so nothing can re-resolve it
        elsewhere in between."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        out = dict(headers or {})
        if parts.scheme != "http" or not resolves_by_name(host):
            return url, out
        if self._resolve is not None:
            addresses = self._resolve(host)
        else:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                infos = []
            addresses = [str(info[4][0]) for info in infos]
        problem = loopback_problem(host, addresses)
        if problem is not None:
            raise InsecureURL(problem)
        address = addresses[0].split("%", 1)[0]
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        out.setdefault("Host", parts.netloc.rsplit("@", 1)[-1])
        return parts._replace(netloc=netloc).geturl(), out

    async def _read_body(self, response: httpx.Response, where: str) -> list[bytes]:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise ProviderError(f"{where} sent an answer over {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise ProviderError(f"{where} sent an answer over {self.max_body} bytes")
            chunks.append(chunk)
        return chunks

    async def _exchange(
        self,
        method: str,
        url: str,
        json: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        secrets: list[str],
    ) -> HttpResponse:
        where = safe_url(url)
        target, headers = await self._pinned(url, headers)
        try:
            request = self.client.build_request(method, target, json=json, data=data, headers=headers)
        except (TypeError, ValueError) as exc:  # a preset's body or header that HTTP cannot carry
            raise UsageError(
                f"cannot make the request to {where}: {_reason(exc, secrets)}",
                next_step=NextStep.of(StepKind.CHECK_PRESET),
            ) from None
        faultpoints.reached("http:before_send")
        httpx = _httpx()  # loaded with the client above: only a name for its exceptions
        try:
            response = await self.client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise NetworkError(f"cannot connect to {where}: {_reason(exc, secrets)}", sent=False) from None
        except httpx.UnsupportedProtocol:
            raise InsecureURL(f"{where} is not an http(s) URL") from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"no answer from {where}: {_reason(exc, secrets)}") from None
        faultpoints.reached("http:headers")
        accepted = 200 <= response.status_code < 300
        try:
            chunks = await self._read_body(response, where)
        except httpx.HTTPError as exc:
            broke = NetworkError(f"the answer from {where} broke off: {_reason(exc, secrets)}")
            broke.accepted = accepted
            raise broke from None
        except ProviderError as exc:
            exc.accepted = accepted  # a success answer too big to read: the request took effect
            raise
        finally:
            await response.aclose()
        faultpoints.reached("http:body_read")
        return HttpResponse(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=b"".join(chunks),
            url=url,  # as the preset named it (not the pinned address)
        )


def _reason(exc: Exception, secrets: list[str]) -> str:
    text = str(exc) or exc.__class__.__name__
    text = " ".join(text.split())[:160]
    return redact(text, secrets)
