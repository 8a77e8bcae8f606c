"""Edge cases of the HTTP policy; MockTransport here is for unit edges only."""

from __future__ import annotations

import httpx
import pytest

from trayauth.cli.wording import line as cli_line
from trayauth.domain.errors import InsecureURL, NetworkError, ProviderError, RateLimited
from trayauth.net.http import (
    HttpPolicy,
    HttpResponse,
    check_url,
    describe_error,
    parse_retry_after,
    redact,
)


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def policy(handler: object, **kwargs: object) -> tuple[HttpPolicy, FakeSleep]:
    sleep = FakeSleep()
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return HttpPolicy(client, sleep=sleep, rand=lambda: 0.5, **kwargs), sleep  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["https://api.example.com/x", "http://127.0.0.1:8080/x", "http://[::1]:9/x", "http://localhost/x"],
)
def test_allowed_urls(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize("url", ["http://api.example.com/x", "ftp://x/y", "file:///etc/passwd", "nonsense"])
def test_refused_urls(url: str) -> None:
    with pytest.raises(InsecureURL):
        check_url(url)


def test_retry_after_seconds_and_date() -> None:
    assert parse_retry_after("7", 0) == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == pytest.approx(10)
    assert parse_retry_after("garbage", 0) is None
    assert parse_retry_after(None, 0) is None


def test_redact_plain_and_url_encoded() -> None:
    text = "password=p%40ss+word&x=p@ss word"
    assert "p@ss" not in redact(text, ["p@ss word"])
    assert "[redacted]" in redact(text, ["p@ss word"])


@pytest.mark.asyncio
async def test_429_waits_for_retry_after_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={"ok": 1})])
    http, sleep = policy(lambda request: next(answers))
    resp = await http.request("POST", "https://x.test/token")
    assert resp.status == 200
    assert sleep.calls == [3.0]


@pytest.mark.asyncio
async def test_503_without_retry_after_backs_off_exponentially_and_gives_up() -> None:
    http, sleep = policy(lambda request: httpx.Response(503), max_attempts=4)
    with pytest.raises(RateLimited):
        await http.request("GET", "https://x.test/")
    assert sleep.calls == [0.75, 1.5, 3.0]


@pytest.mark.asyncio
async def test_retry_after_longer_than_max_wait_is_not_waited() -> None:
    http, sleep = policy(lambda request: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="3600"):
        await http.request("GET", "https://x.test/")
    assert sleep.calls == []


@pytest.mark.asyncio
async def test_body_over_the_cap_is_refused() -> None:
    http, _ = policy(lambda request: httpx.Response(200, content=b"x" * 2000), max_body=1000)
    with pytest.raises(ProviderError, match="over 1000 bytes"):
        await http.request("GET", "https://x.test/")


@pytest.mark.asyncio
async def test_connect_error_is_not_sent_and_redacted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("boom hunter2-secret")

    http, _ = policy(handler)
    with pytest.raises(NetworkError) as info:
        await http.request("GET", "https://x.test/?password=hunter2-secret", secrets=["hunter2-secret"])
    assert info.value.sent is False
    assert "hunter2-secret" not in cli_line(info.value)


@pytest.mark.asyncio
async def test_read_timeout_counts_as_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    http, _ = policy(handler)
    with pytest.raises(NetworkError) as info:
        await http.request("GET", "https://x.test/")
    assert info.value.sent is True


def resp(status: int, body: bytes, ctype: str = "application/json") -> HttpResponse:
    return HttpResponse(status, {"content-type": ctype}, body, "https://x.test/token?code=abc")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":"invalid_grant","error_description":"bad password"}', "invalid_grant: bad password"),
        (b'{"error":"Unauthorized","message":"Invalid or expired access token"}', "Invalid or expired"),
        (b'{"errors":[{"status":"401","title":"Unauthorized","detail":"wrong creds"}]}', "wrong creds"),
        (b"<html>Bad gateway</html>", "HTTP 401: unauthorized"),
    ],
)
def test_describe_error_shapes(body: bytes, expected: str) -> None:
    assert expected in describe_error(resp(401, body))


def test_non_json_answer_is_a_clear_provider_error() -> None:
    with pytest.raises(ProviderError, match="not JSON"):
        resp(200, b"<html>", "text/html").json()
    with pytest.raises(ProviderError, match="not an object"):
        resp(200, b"[1]").json_object()
