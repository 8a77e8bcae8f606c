"""The httpx (sync, async) and requests adapters against the provider server's protected resource.

``whoami`` answers 200 only to a token the server honours now. The server's clock is moved ahead
to make a token expire mid-session on the server's side only (the client still thinks it is
valid): the adapter sees a 401, renews once and retries once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import requests

from tests.integrations.support import Agent, stored_token, whoami
from tests.support.cli import expire_now, sentiance_account
from trayauth.integrations.httpx_auth import TrayauthAuth
from trayauth.integrations.requests_auth import TrayauthRequestsAuth


@pytest.fixture(params=[False, True], ids=["no-tray", "tray"])
def session(request: pytest.FixtureRequest, isolated: Any, fresh_provider: Any) -> tuple[Any, Agent | None]:
    """A logged-in account "s" on a provider of its own, with or without a tray."""
    sentiance_account(fresh_provider, "s")
    running = request.getfixturevalue("agent") if request.param else None
    return fresh_provider, running


def server_expires_everything(srv: Any) -> None:
    srv.clock_offset = 10 * 86400  # every token issued so far is past its expiry, server-side


def test_httpx_sync_reuses_then_renews_on_401(session: tuple[Any, Agent | None]) -> None:
    srv, running = session
    with httpx.Client(auth=TrayauthAuth("s")) as client:
        for _ in range(3):
            assert client.get(whoami(srv)).status_code == 200
        if running is not None:
            assert running.server.requests == 1  # one token fetch for three requests
        old = stored_token("s")
        server_expires_everything(srv)
        response = client.post(whoami(srv), content=b"payload")
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        assert srv.refreshes("sentiance") == 1
        assert stored_token("s") != old
        assert response.request.headers["Authorization"] == f"Bearer {stored_token('s')}"


def test_httpx_sync_fetches_again_when_the_token_falls_due(session: tuple[Any, Agent | None]) -> None:
    srv, _running = session
    now = [time.time()]
    with httpx.Client(auth=TrayauthAuth("s", clock=lambda: now[0])) as client:
        assert client.get(whoami(srv)).status_code == 200
        first = stored_token("s")
        expire_now("s")  # the stored token falls due...
        now[0] += 86400  # ...and by the adapter's clock its copy is inside the renewal margin
        response = client.get(whoami(srv))
        assert response.status_code == 200 and response.history == []
        assert stored_token("s") != first


def test_a_second_401_is_returned_after_one_renewal(session: tuple[Any, Agent | None]) -> None:
    srv, _running = session
    # Another vendor's resource never accepts this account's token.
    with httpx.Client(auth=TrayauthAuth("s")) as client:
        response = client.get(srv.base_url("senseye") + "/whoami")
    assert response.status_code == 401
    assert len(response.history) == 1
    assert srv.refreshes("sentiance") == 1


def test_httpx_async_renews_on_401(session: tuple[Any, Agent | None]) -> None:
    srv, _running = session

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=TrayauthAuth("s")) as client:
            first = await client.get(whoami(srv))
            server_expires_everything(srv)
            burst = await asyncio.gather(*(client.get(whoami(srv)) for _ in range(5)))
            return [first.status_code, *(r.status_code for r in burst)]

    assert asyncio.run(main()) == [200] * 6
    assert srv.refreshes("sentiance") == 1  # five 401s, one renewal


def test_requests_renews_on_401_and_resends_the_body(session: tuple[Any, Agent | None]) -> None:
    srv, _running = session
    with requests.Session() as http:
        http.auth = TrayauthRequestsAuth("s")
        assert http.get(whoami(srv), timeout=30).status_code == 200
        server_expires_everything(srv)
        response = http.post(whoami(srv), data=b"x" * 5000, timeout=30)
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        assert response.request.body == b"x" * 5000
        assert response.request.headers["Authorization"] == f"Bearer {stored_token('s')}"
        again = http.get(srv.base_url("senseye") + "/whoami", timeout=30)
        assert again.status_code == 401 and len(again.history) == 1
    assert srv.refreshes("sentiance") == 2


def test_adapters_raise_the_clear_error(isolated: Any) -> None:
    from trayauth.domain.errors import TrayauthError

    with (
        pytest.raises(TrayauthError, match="no account named 'ghost'"),
        httpx.Client(auth=TrayauthAuth("ghost")) as c,
    ):
        c.get("http://127.0.0.1:9/")


def test_importing_the_cli_loads_neither_adapter() -> None:
    import subprocess
    import sys

    code = (
        "import trayauth.cli, trayauth.cli.handoff, sys; "
        "print(sorted(m for m in ('httpx', 'requests', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
