"""The HTTP policy's edges a user meets: which URLs are refused and how that is said, what an
error line says for every shape a provider answers in, the default limits, what is actually
sent, where a crash test can stop a request, and the words of each network failure.

Written against the survivors of a mutation run: each test pins what a person (or the broker)
relies on, not how the module does it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.support.clock import Sleeps
from tests.unit.test_http_rules import ChunkedServer
from trayauth import faultpoints
from trayauth.domain.errors import InsecureURL, NetworkError, ProviderError, RateLimited, UsageError
from trayauth.net.http import (
    HttpPolicy,
    HttpResponse,
    check_url,
    describe_error,
    is_loopback_host,
    parse_retry_after,
    redact,
    safe_url,
)

Handler = Callable[[httpx.Request], httpx.Response]


def _policy(handler: Handler, **kwargs: object) -> HttpPolicy:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpPolicy(client, **kwargs)  # type: ignore[arg-type]


# ---- which hosts count as this machine --------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "LocalHost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["evil-localhost", "localhost.example.com", "localhostx", "::1X", "X127.0.0.1", "10.0.0.1", ""]
)
def test_hosts_that_only_look_like_loopback_are_not(host: str) -> None:
    assert not is_loopback_host(host)


# ---- refused URLs and what the user is told -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://api.example.com/token", "refusing to send credentials over plain http to api.example.com"),
        ("http://evil-localhost/token", "refusing to send credentials over plain http to evil-localhost"),
        ("ftp://files.example.com/x", "'ftp://files.example.com/x' is not an http(s) URL"),
        ("https:///no-host", "'https:///no-host' is not an http(s) URL"),
        ("http:///no-host", "'http:///no-host' is not an http(s) URL"),
        ("file:///etc/passwd", "'file:///etc/passwd' is not an http(s) URL"),
        ("http://[::1", "'<invalid URL>' is not a valid URL"),
    ],
)
def test_a_refused_url_is_named_and_the_reason_said(url: str, words: str) -> None:
    with pytest.raises(InsecureURL) as info:
        check_url(url)
    assert info.value.message == words


def test_plain_http_to_a_loopback_literal_is_allowed() -> None:
    check_url("http://[::1]:9/x")
    check_url("http://127.0.0.1:8080/callback")


def test_safe_url_keeps_a_hostless_url_hostless() -> None:
    assert safe_url("file:///etc/passwd") == "file:///etc/passwd"


# ---- redaction order and Retry-After in the past ------------------------------------------------


def test_a_shorter_secret_sorting_after_the_longer_one_does_not_split_it() -> None:
    # "zzzz" sorts after "azzzz1234": an order by text instead of by length would redact the
    # inner one first and leave "a" and "1234" of the longer secret in the message.
    assert redact("token=azzzz1234 pin=zzzz", ["zzzz", "azzzz1234"]) == "token=[redacted] pin=[redacted]"


def test_a_retry_after_date_in_the_past_means_retry_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1_700_000_000.0) == 0.0


# ---- describe_error: every shape, every status text, the length limit ---------------------------


def _resp(status: int, body: bytes = b"", ctype: str = "application/json") -> HttpResponse:
    return HttpResponse(
        status, {"content-type": ctype} if ctype else {}, body, "https://x.test/token?code=abc"
    )


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'{"errors":[{"title":"Bad thing","code":"E42"}]}', "HTTP 400: Bad thing"),
        (b'{"errors":[{"code":"E42"}]}', "HTTP 400: E42"),
        (b'{"errors":[{"detail":"D"}],"error":"E","message":"M"}', "HTTP 400: D"),
        (b'{"errors":[],"message":"boom"}', "HTTP 400: boom"),
        (b'{"errors":{"x":"y"},"message":"boom"}', "HTTP 400: boom"),
        (b'{"error":"invalid_request","detail":"why"}', "HTTP 400: invalid_request: why"),
        (b'{"detail":"only the detail"}', "HTTP 400: only the detail"),
        (b'{"error":"invalid_client"}', "HTTP 400: invalid_client"),
        (b'{"message":"just a message"}', "HTTP 400: just a message"),
        (b'{"error":42,"message":"code is a number"}', "HTTP 400: code is a number"),
        (b'{"title":"Problem title","status":400}', "HTTP 400: Problem title"),
        (b'{"unrelated":true}', "HTTP 400: bad request"),
        (b"[1, 2]", "HTTP 400: bad request"),
    ],
)
def test_describe_error_reads_every_error_shape(body: bytes, line: str) -> None:
    assert describe_error(_resp(400, body)) == line


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "bad request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not found (check base_url)"),
        (429, "too many requests"),
        (500, "server error"),
        (502, "bad gateway"),
        (503, "service unavailable"),
        (504, "gateway timeout"),
        (418, "unexpected answer"),
        (405, "unexpected answer"),
    ],
)
def test_describe_error_names_the_status_when_the_body_says_nothing(status: int, text: str) -> None:
    assert describe_error(_resp(status, b"<html>oops</html>", "text/html")) == f"HTTP {status}: {text}"


def test_describe_error_keeps_one_line_of_at_most_200_characters() -> None:
    long = "word " * 100
    line = describe_error(_resp(400, b'{"message": "%s"}' % ("line one\\n" + long).encode()))
    detail = line.removeprefix("HTTP 400: ")
    assert len(detail) == 200
    assert detail.startswith("line one word word")
    assert "\n" not in line


def test_a_non_json_answer_names_its_content_type_or_its_lack() -> None:
    with pytest.raises(ProviderError) as info:
        _resp(502, b"<html>", "text/html; charset=utf-8").json()
    assert info.value.message == (
        "https://x.test/token answered HTTP 502 with something that is not JSON (text/html)"
    )
    with pytest.raises(ProviderError, match=r"not JSON \(no content type\)$"):
        _resp(200, b"<html>", "").json()


def test_json_object_returns_the_object() -> None:
    assert _resp(200, b'{"access_token": "abc"}').json_object() == {"access_token": "abc"}


# ---- defaults, clients, what is sent ------------------------------------------------------------


@pytest.mark.asyncio
async def test_by_default_four_attempts_then_a_line_naming_the_url() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429)

    sleeps = Sleeps()
    http = _policy(handler, sleep=sleeps, rand=lambda: 0.0)
    with pytest.raises(RateLimited) as info:
        await http.request("POST", "https://x.test/token?client_secret=abc")
    assert info.value.message == "https://x.test/token is rate limited: HTTP 429 after 4 attempts"
    assert len(calls) == 4
    assert sleeps.calls == [0.5, 1.0, 2.0]


@pytest.mark.asyncio
@pytest.mark.parametrize(("after", "waited"), [("60", True), ("61", False)])
async def test_by_default_a_wait_of_up_to_a_minute_is_honoured(after: str, waited: bool) -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": after}), httpx.Response(200, json={})])
    sleeps = Sleeps()
    http = _policy(lambda request: next(answers), sleep=sleeps)
    if waited:
        assert (await http.request("GET", "https://x.test/")).status == 200
        assert sleeps.calls == [60.0]
    else:
        with pytest.raises(
            RateLimited, match=r"is unavailable: HTTP 503 after 1 attempt \(asks to retry after 61 s\)"
        ):
            await http.request("GET", "https://x.test/")


@pytest.mark.asyncio
async def test_the_policy_closes_the_client_it_made_and_not_one_it_was_given() -> None:
    own = HttpPolicy()
    made = own.client
    await own.aclose()
    assert made.is_closed
    again = own.client  # used after closing: a fresh client, not the closed one
    assert again is not made and not again.is_closed
    await own.aclose()

    given = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(204)))
    borrowed = HttpPolicy(given)
    await borrowed.request("GET", "https://x.test/")
    await borrowed.aclose()
    assert not given.is_closed
    assert (await given.get("https://x.test/")).status_code == 204
    await given.aclose()


@pytest.mark.asyncio
async def test_json_form_data_and_headers_reach_the_server() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    http = _policy(handler)
    first = await http.request("POST", "https://x.test/a", json={"grant": "x"}, headers={"X-Api-Key": "k1"})
    await http.request("POST", "https://x.test/b", data={"grant_type": "refresh_token", "refresh_token": "r"})
    assert seen[0].headers["x-api-key"] == "k1"
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].content == b'{"grant":"x"}'
    assert seen[1].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[1].content == b"grant_type=refresh_token&refresh_token=r"
    assert first.url == "https://x.test/a"
    assert first.json() == {"ok": True}


@pytest.mark.asyncio
async def test_a_body_in_many_chunks_arrives_whole() -> None:
    server = ChunkedServer(total=5 * 1000, chunk=1000)
    http = HttpPolicy(max_attempts=1)
    try:
        answer = await http.request("GET", f"http://127.0.0.1:{server.port}/chunks")
    finally:
        await http.aclose()
        server.close()
    assert answer.content == b"x" * 5000
    assert answer.url == f"http://127.0.0.1:{server.port}/chunks"


# ---- crash-test kill points stop the request where they say --------------------------------------


class Died(BaseException):
    """What faultpoints._die does in these tests instead of SIGKILL."""


def _dying(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def die() -> None:
        raise Died(point)

    monkeypatch.setattr(faultpoints, "_die", die)
    monkeypatch.setattr(faultpoints, "_visits", {})
    monkeypatch.setenv(faultpoints.ENV, point)


class Recorder:
    """A transport's view of one exchange: was the request received, was the body read."""

    def __init__(self) -> None:
        self.received = 0
        self.body_read = False

    async def _body(self) -> AsyncIterator[bytes]:
        yield b'{"access_token":'
        self.body_read = True
        yield b'"abc"}'

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received += 1
        return httpx.Response(200, content=self._body())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("point", "received", "body_read"),
    [("http:before_send", 0, False), ("http:headers", 1, False), ("http:body_read", 1, True)],
)
async def test_each_kill_point_stops_the_request_at_its_moment(
    monkeypatch: pytest.MonkeyPatch, point: str, received: int, body_read: bool
) -> None:
    recorder = Recorder()
    http = _policy(recorder)
    _dying(monkeypatch, point)
    with pytest.raises(Died):
        await http.request("POST", "https://x.test/token")
    assert (recorder.received, recorder.body_read) == (received, body_read)


@pytest.mark.asyncio
async def test_without_a_kill_point_the_same_request_completes(monkeypatch: pytest.MonkeyPatch) -> None:
    _dying(monkeypatch, "http:elsewhere")
    recorder = Recorder()
    assert (await _policy(recorder).request("POST", "https://x.test/token")).json() == {"access_token": "abc"}


# ---- the words of each network failure, with secrets out and one line ---------------------------

SECRET = "hunter2-secret"


def _raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("exc", "kind", "words", "sent"),
    [
        (
            httpx.ConnectError(f"refused\n  for {SECRET}"),
            NetworkError,
            "cannot connect to https://x.test/t: refused for [redacted]",
            False,
        ),
        (httpx.ConnectError(""), NetworkError, "cannot connect to https://x.test/t: ConnectError", False),
        (
            httpx.ReadTimeout(f"slow {SECRET}"),
            NetworkError,
            "no answer from https://x.test/t: slow [redacted]",
            True,
        ),
        (httpx.UnsupportedProtocol("nope"), InsecureURL, "https://x.test/t is not an http(s) URL", None),
    ],
)
async def test_network_failures_say_where_and_why_without_the_secret(
    exc: Exception, kind: type[Exception], words: str, sent: bool | None
) -> None:
    http = _policy(_raising(exc))
    with pytest.raises(kind) as info:
        await http.request("POST", f"https://x.test/t?password={SECRET}", secrets=[SECRET])
    error = info.value
    assert isinstance(error, InsecureURL | NetworkError)
    assert error.message == words
    if isinstance(error, NetworkError):
        assert error.sent is sent


@pytest.mark.asyncio
async def test_a_body_that_breaks_off_says_so_without_the_secret() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"{"
        raise httpx.ReadError(f"connection reset\nby peer {SECRET}")

    http = _policy(lambda request: httpx.Response(200, content=broken()))
    with pytest.raises(NetworkError) as info:
        await http.request("GET", "https://x.test/t", secrets=[SECRET])
    assert (
        info.value.message
        == "the answer from https://x.test/t broke off: connection reset by peer [redacted]"
    )


@pytest.mark.asyncio
async def test_a_long_reason_is_cut_at_160_characters() -> None:
    http = _policy(_raising(httpx.ConnectError("x" * 500)))
    with pytest.raises(NetworkError) as info:
        await http.request("GET", "https://x.test/t")
    assert info.value.message == "cannot connect to https://x.test/t: " + "x" * 160


@pytest.mark.asyncio
async def test_a_header_http_cannot_carry_is_a_usage_error_naming_the_url() -> None:
    http = _policy(lambda request: httpx.Response(200))
    with pytest.raises(UsageError) as info:
        await http.request(
            "GET", "https://x.test/t?k=v", headers={"X-Key": f"\u00fc{SECRET}"}, secrets=[SECRET]
        )
    assert info.value.message == (
        "cannot make the request to https://x.test/t: 'ascii' codec can't encode character '\\xfc' "
        "in position 0: ordinal not in range(128)"
    )


# ---- a *.localhost name: sent to the loopback address it resolved to, or refused ------------------


def _seen(**kwargs: object) -> tuple[HttpPolicy, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    return _policy(handler, **kwargs), seen


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "addresses", "sent_to", "host"),
    [
        (
            "http://app.localhost:8080/t?x=1",
            ["127.0.0.1"],
            "http://127.0.0.1:8080/t?x=1",
            "app.localhost:8080",
        ),
        ("http://App.Localhost/t", ["127.0.0.2"], "http://127.0.0.2/t", "App.Localhost"),
        ("http://app.localhost:9/t", ["::1", "127.0.0.1"], "http://[::1]:9/t", "app.localhost:9"),
        ("http://app.localhost:9/t", ["fe80::1%lo"], None, None),
        ("http://user:pw@app.localhost:9/t", ["::1%lo"], "http://[::1]:9/t", "app.localhost:9"),
    ],
)
async def test_a_localhost_name_is_sent_to_the_loopback_address_it_resolved_to(
    url: str, addresses: list[str], sent_to: str | None, host: str | None
) -> None:
    http, seen = _seen(resolve=lambda name: addresses)
    if sent_to is None:
        with pytest.raises(InsecureURL):
            await http.request("GET", url)
        assert seen == []
        return
    answer = await http.request("GET", url)
    assert str(seen[0].url).replace("user:pw@", "") == sent_to
    assert seen[0].headers["host"] == host
    assert answer.url == url  # as the preset named it


@pytest.mark.asyncio
async def test_a_host_header_the_preset_set_is_kept() -> None:
    http, seen = _seen(resolve=lambda name: ["127.0.0.1"])
    await http.request("GET", "http://app.localhost:8080/t", headers={"Host": "api.localhost"})
    assert seen[0].headers["host"] == "api.localhost"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("addresses", "words"),
    [
        ([], "refusing to send credentials over plain http to app.localhost: it does not resolve"),
        (
            ["127.0.0.1", "192.0.2.7"],
            "refusing to send credentials over plain http to app.localhost: it resolves to 192.0.2.7, "
            "which is not a loopback address",
        ),
    ],
)
async def test_a_localhost_name_resolving_elsewhere_is_refused_before_anything_is_sent(
    addresses: list[str], words: str
) -> None:
    http, seen = _seen(resolve=lambda name: addresses)
    with pytest.raises(InsecureURL) as info:
        await http.request("POST", "http://app.localhost:8080/token", data={"password": "p"})
    assert info.value.message == words
    assert seen == []
    with pytest.raises(InsecureURL) as checked:
        check_url("http://app.localhost:8080/token", resolve=lambda name: addresses)
    assert checked.value.message == words


@pytest.mark.asyncio
async def test_https_to_a_localhost_name_is_not_resolved_or_rewritten() -> None:
    def never(name: str) -> list[str]:
        raise AssertionError("resolved")

    http, seen = _seen(resolve=never)
    await http.request("GET", "https://app.localhost/t")
    assert str(seen[0].url) == "https://app.localhost/t"
    assert seen[0].headers["host"] == "app.localhost"


@pytest.mark.asyncio
async def test_an_exchange_that_outlasts_its_deadline_is_a_network_error() -> None:
    async def stuck(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(stuck))
    http = HttpPolicy(client, deadline=0.05)
    with pytest.raises(NetworkError) as info:
        await http.request("GET", "https://x.test/t?code=secret")
    assert info.value.message == "https://x.test/t did not finish answering within 0.05 s"
    assert info.value.sent is True


class SystemResolver:
    """The system resolver as httpx and the policy call it, answering from a table."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.asked: list[tuple[object, object, object]] = []

    def __call__(
        self, host: object, port: object, *args: object, **kwargs: object
    ) -> list[tuple[object, ...]]:
        kind = kwargs.get("type", args[1] if len(args) > 1 else None)
        self.asked.append((host, port, kind))
        addresses = self.table.get(str(host))
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in addresses]


@pytest.fixture
def system_resolver(monkeypatch: pytest.MonkeyPatch) -> SystemResolver:
    resolver = SystemResolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


def test_check_url_asks_the_system_resolver_for_the_name(system_resolver: SystemResolver) -> None:
    system_resolver.table["app.localhost"] = ["127.0.0.1"]
    check_url("http://app.localhost:8080/token")
    assert system_resolver.asked == [("app.localhost", None, socket.SOCK_STREAM)]
    with pytest.raises(InsecureURL, match="it does not resolve"):
        check_url("http://other.localhost/token")
    system_resolver.table["far.localhost"] = ["192.0.2.7"]
    with pytest.raises(InsecureURL, match=r"it resolves to 192\.0\.2\.7"):
        check_url("http://far.localhost/token")


@pytest.mark.asyncio
async def test_the_policy_resolves_a_localhost_name_itself_when_given_no_resolver(
    system_resolver: SystemResolver,
) -> None:
    system_resolver.table["app.localhost"] = ["127.0.0.1"]
    http, seen = _seen()
    await http.request("GET", "http://app.localhost:8080/t")
    assert str(seen[0].url) == "http://127.0.0.1:8080/t"
    assert ("app.localhost", 8080, socket.SOCK_STREAM) in system_resolver.asked
    await http.request("GET", "http://app.localhost/t")
    assert ("app.localhost", 80, socket.SOCK_STREAM) in system_resolver.asked
    with pytest.raises(InsecureURL, match="it does not resolve"):
        await http.request("GET", "http://nowhere.localhost/t")


@pytest.mark.asyncio
async def test_the_resolver_is_asked_about_the_name_in_the_url() -> None:
    asked: list[str] = []

    def resolve(name: str) -> list[str]:
        asked.append(name)
        return ["127.0.0.1"]

    http, _ = _seen(resolve=resolve)
    await http.request("GET", "http://app.localhost:8080/t")
    check_url("http://api.localhost/t", resolve=resolve)
    assert asked == ["app.localhost", "api.localhost"]


@pytest.mark.asyncio
async def test_the_host_header_drops_user_info_even_with_an_at_sign_in_the_password() -> None:
    http, seen = _seen(resolve=lambda name: ["127.0.0.1"])
    await http.request("GET", "http://user:p@ss@app.localhost:9/t")
    assert seen[0].headers["host"] == "app.localhost:9"
