"""The HTTP policy's protective rules, each pinned by the behaviour a user relies on.

These exist because a mutation run showed the rules could be broken without any test noticing:
the response-size cap, the redaction of secrets in every encoding they may appear in, and the
Retry-After arithmetic. The size cap is checked against a real local server that streams.
"""

from __future__ import annotations

import email.utils
import socket
import threading
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest

from tests.support.clock import Sleeps
from trayauth.domain.errors import ProviderError, RateLimited
from trayauth.net import http as http_module
from trayauth.net.http import HttpPolicy, redact, safe_url

# ---- the size cap, against a real server that streams a chunked body ------------------------


class ChunkedServer:
    """Streams ``total`` bytes as chunked transfer-encoding in small chunks; counts what it sent.

    Raw sockets rather than http.server so the body can be endless-ish and the count exact: the
    point is to see that the client stops reading at the cap instead of downloading everything.
    """

    def __init__(self, total: int, chunk: int = 16 * 1024) -> None:
        self.total, self.chunk = total, chunk
        self.sent = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            self.done.set()
            return
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                )
                piece = b"x" * self.chunk
                while self.sent < self.total:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.sent += len(piece)
                conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up: exactly what a working cap does
            finally:
                self.done.set()

    def close(self) -> None:
        self.listener.close()
        self.done.wait(30)
        self.thread.join(30)


@pytest.fixture
def streaming() -> Iterator[ChunkedServer]:
    server = ChunkedServer(total=64 * 1024 * 1024)
    yield server
    server.close()


@pytest.mark.asyncio
async def test_a_chunked_answer_is_cut_at_the_cap_without_downloading_the_rest(
    streaming: ChunkedServer,
) -> None:
    http = HttpPolicy(max_attempts=1)
    try:
        with pytest.raises(ProviderError, match=f"over {http_module.MAX_BODY} bytes"):
            await http.request("GET", f"http://127.0.0.1:{streaming.port}/big")
    finally:
        await http.aclose()
    streaming.close()
    # Many small chunks (no one chunk is over the cap) add up past it, and the client hangs up:
    # the server got far less of its 64 MiB out than a client reading it all would have taken.
    assert streaming.sent < 16 * 1024 * 1024


def _policy(handler: object, **kwargs: object) -> HttpPolicy:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return HttpPolicy(client, **kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_the_default_cap_is_one_mebibyte_exactly() -> None:
    body = {"size": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * body["size"])

    http = _policy(handler)
    body["size"] = 1_048_576
    assert len((await http.request("GET", "https://x.test/")).content) == 1_048_576
    body["size"] = 1_048_577
    with pytest.raises(ProviderError, match="over 1048576 bytes"):
        await http.request("GET", "https://x.test/")


@pytest.mark.asyncio
async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "5000"}, content=b"{}")

    http = _policy(handler, max_body=1000)
    with pytest.raises(ProviderError, match="over 1000 bytes"):
        await http.request("GET", "https://x.test/")


@pytest.mark.asyncio
async def test_a_body_at_the_cap_is_whole() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"abc" * 100)

    http = _policy(handler, max_body=300)
    assert (await http.request("GET", "https://x.test/")).content == b"abc" * 100


# ---- redaction ---------------------------------------------------------------------------------


def test_safe_url_drops_user_info_query_and_fragment() -> None:
    assert safe_url("https://alice:hunter22@api.example.com:8443/v1/token?code=abc#frag") == (
        "https://api.example.com:8443/v1/token"
    )
    assert safe_url("http://bob:pw@127.0.0.1/x#y") == "http://127.0.0.1/x"


def test_safe_url_of_a_relative_or_odd_string_still_drops_the_query() -> None:
    assert safe_url("/relative/path?password=secret") == "/relative/path"
    assert safe_url("http://[::1") == "<invalid URL>"


@pytest.mark.parametrize(
    "secret",
    ["p@ss word/with+plus", "a/b/c/d-0123", "tok=en&x?y#z", "ünïcødé-secret"],
)
def test_a_secret_is_redacted_in_every_encoding(secret: str) -> None:
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    text = " | ".join(sorted(forms))
    cleaned = redact(text, [secret])
    for form in forms:
        assert form not in cleaned, form
    assert "[redacted]" in cleaned


def test_the_longer_secret_is_redacted_whole_before_a_shorter_one_inside_it() -> None:
    cleaned = redact("token=abcdefghijkl", ["abcd", "abcdefghijkl"])
    assert cleaned == "token=[redacted]"


def test_secrets_of_four_characters_are_redacted_and_shorter_ones_are_not() -> None:
    # A 1-3 character "secret" would shred every message (every "a", every "42"), and is not a
    # credential anyone uses; four characters is where redaction starts.
    assert redact("pin 4821 here", ["4821"]) == "pin [redacted] here"
    assert redact("HTTP 401: abc", ["abc"]) == "HTTP 401: abc"


# ---- Retry-After and the retry budget ------------------------------------------------------------


@pytest.mark.asyncio
async def test_retry_after_as_an_http_date_is_waited_by_the_clock() -> None:
    now = 1_700_000_000.0
    when = email.utils.formatdate(now + 7, usegmt=True)
    answers = iter([httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200, json={})])
    sleeps = Sleeps()
    http = _policy(lambda request: next(answers), sleep=sleeps, clock=lambda: now)
    assert (await http.request("GET", "https://x.test/")).status == 200
    assert sleeps.calls == [pytest.approx(7.0)]


@pytest.mark.asyncio
async def test_giving_up_says_how_many_attempts_and_that_nothing_was_spent() -> None:
    sleeps = Sleeps()
    http = _policy(lambda request: httpx.Response(429), sleep=sleeps, max_attempts=3, rand=lambda: 0.0)
    with pytest.raises(RateLimited) as info:
        await http.request("POST", "https://x.test/token")
    assert "after 3 attempts" in info.value.message
    assert info.value.sent is False  # a 429 never consumed a rotating refresh token
    assert len(sleeps.calls) == 2
    one = _policy(lambda request: httpx.Response(503), sleep=Sleeps(), max_attempts=1)
    with pytest.raises(RateLimited, match=r"unavailable: HTTP 503 after 1 attempt$"):
        await one.request("GET", "https://x.test/")


@pytest.mark.asyncio
@pytest.mark.parametrize(("after", "waited"), [("60", True), ("61", False)])
async def test_a_retry_after_equal_to_the_longest_wait_is_still_waited(after: str, waited: bool) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": after}), httpx.Response(200, json={})])
    sleeps = Sleeps()
    http = _policy(lambda request: next(answers), sleep=sleeps, max_wait=60.0)
    if waited:
        assert (await http.request("GET", "https://x.test/")).status == 200
        assert sleeps.calls == [60.0]
    else:
        with pytest.raises(RateLimited, match="retry after 61 s"):
            await http.request("GET", "https://x.test/")
        assert sleeps.calls == []
