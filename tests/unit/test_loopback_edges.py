"""The loopback listener's answers byte for byte, its header limits at their exact edges, and its
life cycle (before start, after a timeout, on close): what a browser, a forged request and the
sign-in dialog rely on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.loopback import STATE, raw, validate
from trayauth.domain.errors import LoginCancelled, LoginTimeout
from trayauth.domain.model import Account
from trayauth.domain.presets import load_preset
from trayauth.domain.prompts import BrowserSignIn, RecordingAsker
from trayauth.flows.base import FlowContext
from trayauth.net import loopback
from trayauth.net.http import HttpPolicy

CODE = "the-secret-code-5678"


def request(port: int, target: str, *extra: str, method: str = "GET") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", *extra, "", ""]
    return "\r\n".join(lines).encode()


def good(**more: str) -> str:
    return "/callback?" + urlencode({"code": CODE, "state": STATE, **more})


def split(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers (names as sent) and body; the body must be Content-Length long."""
    head, _, body = answer.partition(b"\r\n\r\n")
    first, *lines = head.decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    return first, headers, body


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")


# ---- every kind of answer: status line, headers, page tone ----------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("target", "first", "tone", "title"),
    [
        (good(), "HTTP/1.1 200 OK", "ok", "Signed in"),
        (good(extra="a?b"), "HTTP/1.1 200 OK", "ok", "Signed in"),  # a "?" inside the query
        (
            "/callback?" + urlencode({"code": "c", "state": "forged"}),
            "HTTP/1.1 400 Bad Request",
            "waiting",
            "",
        ),
        ("/favicon.ico", "HTTP/1.1 404 Not Found", "error", "Not found"),
        (
            "/callback?" + urlencode({"error": "access_denied", "state": STATE}),
            "HTTP/1.1 400 Bad Request",
            "error",
            "Sign-in failed",
        ),
    ],
)
async def test_each_answer_has_its_status_tone_and_exact_headers(
    listener: loopback.LoopbackRedirect[str],
    no_errors_logged: None,
    caplog: pytest.LogCaptureFixture,
    target: str,
    first: str,
    tone: str,
    title: str,
) -> None:
    answer = await raw(listener.port, request(listener.port, target))
    line, headers, body = split(answer)
    assert line == first
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Connection"] == "close"
    marks = {"ok": "&#10003;", "error": "&#10007;", "waiting": "&#8230;"}
    assert f'<body class="{tone}">'.encode() in body
    assert f'<div class="mark" aria-hidden="true">{marks[tone]}</div>'.encode() in body
    assert f"<h1>{title or 'Not this sign-in'}</h1>".encode() in body
    if tone == "ok":
        assert b"trayauth received the sign-in for work." in body
    if tone == "waiting":
        assert body.rstrip().count(b"<p></p>") == 1, "no 'close this tab': the sign-in goes on"
    if title == "Sign-in failed":
        assert b"<p>You may close this tab and try again.</p>" in body
        with pytest.raises(LoginCancelled):
            await listener.wait(1)
    if tone == "ok":
        assert await listener.wait(1) == CODE
    assert not caplog.records


@pytest.mark.asyncio
async def test_a_post_is_told_the_method_to_use(listener: loopback.LoopbackRedirect[str]) -> None:
    line, headers, body = split(await raw(listener.port, request(listener.port, good(), method="POST")))
    assert (line, headers["Allow"]) == ("HTTP/1.1 405 Method Not Allowed", "GET")
    assert b'<body class="error">' in body and b"<h1>Method not allowed</h1>" in body


@pytest.mark.asyncio
async def test_after_the_answer_a_second_one_is_gone(listener: loopback.LoopbackRedirect[str]) -> None:
    await raw(listener.port, request(listener.port, good()))
    line, _, body = split(await raw(listener.port, request(listener.port, good())))
    assert line == "HTTP/1.1 410 Gone" and b'<body class="error">' in body


@pytest.mark.asyncio
async def test_a_silent_client_gets_request_timeout(
    listener: loopback.LoopbackRedirect[str], no_errors_logged: None, caplog: pytest.LogCaptureFixture
) -> None:
    line, _, body = split(await raw(listener.port, b"GET /callback"))
    assert line == "HTTP/1.1 408 Request Timeout"
    assert b'<body class="error">' in body and b"<h1>Request timed out</h1>" in body
    assert not caplog.records


@pytest.mark.asyncio
async def test_over_long_lines_get_their_own_statuses(listener: loopback.LoopbackRedirect[str]) -> None:
    port = listener.port
    line, _, body = split(await raw(port, request(port, "/callback?" + "a" * 9000)))
    assert line == "HTTP/1.1 414 URI Too Long" and b"<h1>URI Too Long</h1>" in body
    one_long_header = request(port, good(), "X-Big: " + "b" * 9000)
    line, _, body = split(await raw(port, one_long_header))
    assert line == "HTTP/1.1 431 Request Header Fields Too Large" and b'<body class="error">' in body
    assert not listener.finished


# ---- header parsing at its edges ---------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "extra",
    [
        ["X-Spaced : v"],
        [" X-Indented: v"],
        [": no name"],
        ["no colon at all"],
        ["Host: 127.0.0.1:{port}"],  # a second Host
    ],
)
async def test_a_malformed_or_doubled_header_is_refused(
    listener: loopback.LoopbackRedirect[str], extra: list[str]
) -> None:
    lines = [e.format(port=listener.port) for e in extra]
    line, _, body = split(await raw(listener.port, request(listener.port, good(), *lines)))
    assert line == "HTTP/1.1 400 Bad Request"
    assert b"<h1>Bad Request</h1>" in body and b'<body class="error">' in body
    assert not listener.finished


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "first",
    [
        "GET  /callback HTTP/1.1",  # two spaces
        "GET /callback HTTP/1.1 ",  # a trailing space
        "GET http://127.0.0.1/callback HTTP/1.1",  # absolute form
    ],
)
async def test_a_request_line_not_exactly_method_target_version_is_refused(
    listener: loopback.LoopbackRedirect[str], first: str
) -> None:
    data = f"{first}\r\nHost: 127.0.0.1:{listener.port}\r\n\r\n".encode()
    assert split(await raw(listener.port, data))[0] == "HTTP/1.1 400 Bad Request"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("count", "first"), [(64, "HTTP/1.1 200 OK"), (65, "HTTP/1.1 431 Request Header Fields Too Large")]
)
async def test_up_to_64_header_lines_are_read(
    listener: loopback.LoopbackRedirect[str], count: int, first: str
) -> None:
    extra = [f"X-{i}: {i}" for i in range(count - 1)]  # plus Host
    assert split(await raw(listener.port, request(listener.port, good(), *extra)))[0] == first


def _filled_to(port: int, total: int) -> bytes:
    """A request whose header block (each line plus CRLF, and the blank line) is ``total`` bytes.

    The filler values end in "X": a reader that trimmed more than the line end would count less.
    """
    host = f"Host: 127.0.0.1:{port}"
    left = total - (len(host) + 2) - 2
    fillers = []
    while left > 0:
        size = min(left, 4000)
        if left - size in (1, 2, 3, 4, 5, 6, 7, 8):  # keep every line long enough for "X-n: "
            size -= 10
        fillers.append(f"X-{len(fillers)}: ".ljust(size - 2 - 1, "v") + "X")
        left -= size
    return request(port, good(), *fillers)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("total", "first"), [(16384, "HTTP/1.1 200 OK"), (16385, "HTTP/1.1 431 Request Header Fields Too Large")]
)
async def test_the_header_block_may_be_16_kib_and_not_a_byte_more(
    listener: loopback.LoopbackRedirect[str], total: int, first: str
) -> None:
    data = _filled_to(listener.port, total)
    assert len(data.split(b"\r\n", 1)[1].split(b"\r\n\r\n", 1)[0]) + 4 == total
    assert split(await raw(listener.port, data))[0] == first


# ---- the page itself ---------------------------------------------------------------------------


def test_an_unknown_tone_has_no_mark() -> None:
    page = loopback.render_page("odd", "T", "M")
    assert b'<div class="mark" aria-hidden="true"></div>' in page


def test_without_its_page_file_the_fallback_page_still_says_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loopback, "PAGE", tmp_path / "missing.html")
    page = loopback.render_page("ok", "Signed in", "a <b> message")
    assert page.startswith(b"<!DOCTYPE html><title>trayauth: Signed in</title><h1>Signed in</h1>")
    assert b"<p>a &lt;b&gt; message</p><p>You may close this tab.</p>" in page


# ---- life cycle ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_before_start_and_after_close_nothing_breaks() -> None:
    redirect = loopback.LoopbackRedirect(validate, account="work")
    assert redirect.finished is False
    redirect.cancel()  # the dialog closed before the listener was up
    await redirect.close()
    assert redirect.finished is True


@pytest.mark.asyncio
async def test_after_a_timeout_a_late_answer_is_gone(listener: loopback.LoopbackRedirect[str]) -> None:
    with pytest.raises(LoginTimeout):
        await listener.wait(0.01)
    assert listener.finished
    assert split(await raw(listener.port, request(listener.port, good())))[0] == "HTTP/1.1 410 Gone"


@pytest.mark.asyncio
async def test_closing_ends_a_wait_and_a_half_read_request_without_leftovers() -> None:
    redirect = loopback.LoopbackRedirect(validate, account="work", read_timeout=60)
    await redirect.start()
    waiting = asyncio.create_task(redirect.wait(60))
    _reader, writer = await asyncio.open_connection("127.0.0.1", redirect.port)
    writer.write(b"GET /callback HTTP/1.1\r\n")  # and then nothing more
    await writer.drain()
    for _ in range(2000):  # until the listener has taken the connection (no time limit meant)
        if redirect._tasks:
            break
        await asyncio.sleep(0.01)
    await redirect.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert redirect.finished
    writer.close()
    me = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not me and not t.done()] == []


def _context(asker: RecordingAsker) -> FlowContext:
    return FlowContext(
        account=Account("work", "oauth2", {}),
        preset=load_preset("oauth2"),
        secrets={},
        http=HttpPolicy(),
        clock=time.time,
        asker=asker,
        open_browser=None,
    )


async def _question(asker: RecordingAsker) -> BrowserSignIn:
    await asyncio.wait_for(asker.event.wait(), 10)
    (question,) = asker.questions
    assert isinstance(question, BrowserSignIn)
    return question


@pytest.mark.asyncio
async def test_the_sign_in_question_names_the_account_and_takes_a_pasted_answer() -> None:
    asker = RecordingAsker()
    task = asyncio.create_task(loopback.sign_in(_context(asker), lambda uri: uri, validate, timeout=60))
    question = await _question(asker)
    assert question.account == "work"
    port = int(question.url.split(":")[2].split("/")[0])
    question.submit_redirect(f"http://127.0.0.1:{port}/callback?code={CODE}&state={STATE}")
    assert (await task)[0] == CODE


@pytest.mark.asyncio
async def test_cancelling_the_sign_in_question_cancels_the_sign_in() -> None:
    asker = RecordingAsker()
    task = asyncio.create_task(loopback.sign_in(_context(asker), lambda uri: uri, validate, timeout=60))
    question = await _question(asker)
    question.cancel()
    with pytest.raises(LoginCancelled, match=r"^work: sign-in cancelled$"):
        await task


@pytest.mark.asyncio
async def test_the_browser_page_names_the_account_of_the_sign_in() -> None:
    asker = RecordingAsker()
    task = asyncio.create_task(loopback.sign_in(_context(asker), lambda uri: uri, validate, timeout=60))
    question = await _question(asker)
    port = int(question.url.split(":")[2].split("/")[0])
    _, _, body = split(await raw(port, request(port, good())))
    assert b"trayauth received the sign-in for work." in body
    await task
