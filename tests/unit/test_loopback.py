"""The loopback redirect listener, spoken to over real sockets (RFC 8252 §7.3, §8.3)."""

from __future__ import annotations

import asyncio
import re
import time
from urllib.parse import urlencode

import pytest

from tests.support.loopback import STATE, raw, validate
from trayauth.domain.errors import LoginCancelled, LoginRequired, LoginTimeout, TrayauthError
from trayauth.domain.model import Account
from trayauth.domain.presets import load_preset
from trayauth.domain.prompts import BrowserSignIn, RecordingAsker
from trayauth.flows.base import FlowContext
from trayauth.net import loopback
from trayauth.net.http import HttpPolicy

CODE = "the-secret-code-1234"


async def get(port: int, target: str, *, host: str | None = None) -> bytes:
    host = host or f"127.0.0.1:{port}"
    return await raw(port, f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n\r\n".encode())


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def headers(answer: bytes) -> dict[str, str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head.split("\r\n")[1:])}


def callback(**params: str) -> str:
    return "/callback?" + urlencode(params)


@pytest.mark.asyncio
async def test_listens_on_the_ip_literal_and_an_os_chosen_port(
    listener: loopback.LoopbackRedirect[str],
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", listener.redirect_uri)
    assert listener.port > 0
    other = loopback.LoopbackRedirect(validate, account="work")
    async with other:
        assert other.port != listener.port


@pytest.mark.asyncio
async def test_the_right_answer_gets_the_page_and_ends_the_wait(
    listener: loopback.LoopbackRedirect[str],
) -> None:
    answer = await get(listener.port, callback(code=CODE, state=STATE))
    assert status(answer) == 200
    got = headers(answer)
    assert got["connection"] == "close"
    assert got["cache-control"] == "no-store"
    assert got["referrer-policy"] == "no-referrer"
    assert got["content-type"].startswith("text/html")
    assert "default-src 'none'" in got["content-security-policy"]
    assert b"You may close this tab" in answer
    assert CODE.encode() not in answer and STATE.encode() not in answer, "the page shows no code"
    assert await listener.wait(5) == CODE


@pytest.mark.asyncio
async def test_a_wrong_state_gets_400_and_the_login_keeps_waiting(
    listener: loopback.LoopbackRedirect[str],
) -> None:
    wait = asyncio.create_task(listener.wait(5))
    answer = await get(listener.port, callback(code="forged", state="not-ours"))
    assert status(answer) == 400
    assert b"still waiting" in answer
    await asyncio.sleep(0.05)
    assert not wait.done()
    assert status(await get(listener.port, callback(code=CODE, state=STATE))) == 200
    assert await wait == CODE


@pytest.mark.asyncio
async def test_other_paths_and_methods_are_refused(listener: loopback.LoopbackRedirect[str]) -> None:
    assert status(await get(listener.port, "/favicon.ico")) == 404
    assert status(await get(listener.port, "/callbackx?" + urlencode({"code": "c", "state": STATE}))) == 404
    post = await raw(
        listener.port, f"POST /callback HTTP/1.1\r\nHost: 127.0.0.1:{listener.port}\r\n\r\n".encode()
    )
    assert status(post) == 405 and headers(post)["allow"] == "GET"
    assert not listener.finished


@pytest.mark.asyncio
async def test_a_foreign_host_name_is_refused(listener: loopback.LoopbackRedirect[str]) -> None:
    target = callback(code=CODE, state=STATE)
    assert status(await get(listener.port, target, host=f"evil.example:{listener.port}")) == 400
    no_host = await raw(listener.port, f"GET {target} HTTP/1.1\r\n\r\n".encode())
    assert status(no_host) == 400
    assert not listener.finished, "a DNS-rebinding page cannot deliver the answer"


@pytest.mark.asyncio
async def test_after_the_answer_everything_is_refused(listener: loopback.LoopbackRedirect[str]) -> None:
    assert status(await get(listener.port, callback(code=CODE, state=STATE))) == 200
    again = await get(listener.port, callback(code="second", state=STATE))
    assert status(again) == 410
    assert await listener.wait(1) == CODE
    port = listener.port
    await listener.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.asyncio
async def test_oversized_and_malformed_requests(listener: loopback.LoopbackRedirect[str]) -> None:
    port = listener.port
    assert status(await get(port, "/callback?" + "a" * 9000)) == 414
    many = "".join(f"X-{i}: {i}\r\n" for i in range(100))
    assert status(await raw(port, f"GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{many}\r\n".encode())) == 431
    big = "X-Big: " + "b" * 8000 + "\r\n"
    assert status(await raw(port, f"GET /x HTTP/1.1\r\n{big}{big}{big}\r\n".encode())) == 431
    assert status(await raw(port, b"HELLO\r\n\r\n")) == 400
    assert status(await raw(port, b"GET /callback SPDY/3\r\n\r\n")) == 400
    assert status(await raw(port, b"GET /\xff HTTP/1.1\r\n\r\n")) == 400
    assert not listener.finished


@pytest.mark.asyncio
async def test_a_silent_connection_times_out_without_blocking_others(
    listener: loopback.LoopbackRedirect[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"GET /callback")  # and then nothing
    assert status(await get(listener.port, callback(code=CODE, state=STATE))) == 200, "not blocked"
    started = time.monotonic()
    late = await asyncio.wait_for(reader.read(), 5)
    assert time.monotonic() - started < 2
    assert late == b"" or status(late) == 408
    writer.close()


@pytest.mark.asyncio
async def test_paste_path_validates_like_the_server(listener: loopback.LoopbackRedirect[str]) -> None:
    wait = asyncio.create_task(listener.wait(5))
    for bad in ("nonsense", f"http://127.0.0.1:{listener.port}/callback?code=c&state=nope"):
        with pytest.raises(TrayauthError):
            listener.submit(bad)
    await asyncio.sleep(0)
    assert not wait.done()
    listener.submit(f"http://127.0.0.1:1/callback?code={CODE}&state={STATE}")
    assert await wait == CODE
    listener.submit("anything")  # the sign-in is over: ignored, nothing raised


@pytest.mark.asyncio
async def test_access_denied_ends_the_wait_both_ways(listener: loopback.LoopbackRedirect[str]) -> None:
    answer = await get(listener.port, callback(error="access_denied", error_description="nope", state=STATE))
    assert status(answer) == 400 and b"Sign-in failed" in answer and b"refused" in answer
    with pytest.raises(LoginCancelled, match="refused in the browser"):
        await listener.wait(1)
    pasted = loopback.LoopbackRedirect(validate, account="work")
    async with pasted:
        pasted.submit("?" + urlencode({"error": "access_denied", "state": STATE}))
        with pytest.raises(LoginCancelled):
            await pasted.wait(1)


@pytest.mark.asyncio
async def test_cancel_and_timeout(listener: loopback.LoopbackRedirect[str]) -> None:
    wait = asyncio.create_task(listener.wait(5))
    await asyncio.sleep(0)
    listener.cancel()
    with pytest.raises(LoginCancelled, match="cancelled"):
        await wait
    other = loopback.LoopbackRedirect(validate, account="work")
    async with other:
        with pytest.raises(LoginTimeout, match="work: no answer from the browser within 0 s"):
            await other.wait(0.05)


def test_page_escapes_what_it_shows() -> None:
    page = loopback.render_page("error", "<b>x</b>", "a & <script>alert(1)</script>")
    assert b"<script>" not in page and b"&lt;script&gt;" in page and b"&lt;b&gt;" in page
    assert b'class="error"' in page


def context(
    asker: RecordingAsker | None, opened: list[str] | None = None, *, fail: bool = False
) -> FlowContext:
    def open_browser(url: str) -> bool:
        if fail:
            raise RuntimeError("no browser here")
        assert opened is not None
        opened.append(url)
        return True

    return FlowContext(
        account=Account("work", "oauth2", {}),
        preset=load_preset("oauth2"),
        secrets={},
        http=HttpPolicy(),
        clock=time.time,
        asker=asker,
        open_browser=open_browser if opened is not None or fail else None,
    )


@pytest.mark.asyncio
async def test_sign_in_without_an_asker_never_opens_a_browser() -> None:
    opened: list[str] = []
    with pytest.raises(LoginRequired, match="needs the browser"):
        await loopback.sign_in(context(None, opened), lambda uri: uri, validate, timeout=5)
    assert opened == []


@pytest.mark.asyncio
@pytest.mark.parametrize("fail", [False, True])
async def test_sign_in_asks_opens_and_finishes(fail: bool) -> None:
    asker = RecordingAsker()
    opened: list[str] = []
    ctx = context(asker, None if fail else opened, fail=fail)
    task = asyncio.create_task(
        loopback.sign_in(
            ctx, lambda uri: f"https://id.example/authorize?redirect_uri={uri}", validate, timeout=60
        )
    )
    await asyncio.wait_for(asker.event.wait(), 5)
    (question,) = asker.questions
    assert isinstance(question, BrowserSignIn)
    assert question.url.startswith("https://id.example/authorize?redirect_uri=http://127.0.0.1:")
    assert abs(question.deadline - (time.time() + 60)) < 5
    assert opened == ([] if fail else [question.url])
    assert not question.finished
    redirect_uri = question.url.split("redirect_uri=", 1)[1]
    port = int(redirect_uri.split(":")[2].split("/")[0])
    assert status(await get(port, callback(code=CODE, state=STATE))) == 200
    assert await task == (CODE, redirect_uri)
    assert question.finished


@pytest.mark.asyncio
async def test_sign_in_finishes_the_question_on_timeout() -> None:
    asker = RecordingAsker()
    with pytest.raises(LoginTimeout):
        await loopback.sign_in(context(asker), lambda uri: "https://id.example/a", validate, timeout=0.05)
    assert asker.questions[0].finished
