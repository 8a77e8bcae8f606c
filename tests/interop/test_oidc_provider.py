"""trayauth's generic presets against node oidc-provider, unmodified, with Chromium on its pages.

oidc-provider has no password grant (OAuth 2.1 dropped it), so ``oauth2-password`` is tested
against django-oauth-toolkit only.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.interop import pages
from tests.interop.browser import Browser
from tests.interop.cli import (
    DEVICE,
    LoginRun,
    accounts,
    add,
    ok,
    one_line_error,
    query,
    stored,
    token,
    trayauth,
)
from tests.interop.servers import Server, introspect

pytestmark = pytest.mark.interop


def _port_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname or "", parts.port or 0)) != 0


def test_code_pkce_public_client(isolated: Path, oidc: Server, browser: Browser) -> None:
    client = oidc.client("public")
    add("op", "oauth2", issuer=oidc.issuer, client_id=client["client_id"], scopes="openid profile")
    with LoginRun("op") as run:
        url = run.authorization_url()
        params = query(url)
        assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
        assert params["redirect_uri"].startswith("http://127.0.0.1:") and params["redirect_uri"].endswith(
            "/callback"
        )
        assert urlsplit(params["redirect_uri"]).port not in (None, 80)
        visit = browser.visit(url, pages.oidc_sign_in(params["redirect_uri"]))
        assert "Signed in" in visit.result
        result = ok(run.finish())
        assert "logged in op" in result.err
        assert _port_closed(params["redirect_uri"]), "the loopback port stayed open after the sign-in"

    access = token("op")
    seen = introspect(oidc, access, via="inspector")
    assert seen["active"] is True and seen["client_id"] == client["client_id"] and seen["sub"] == "alice"
    assert accounts()["op"]["state"] == "valid"


def test_code_pkce_confidential_client(isolated: Path, oidc: Server, browser: Browser) -> None:
    client = oidc.client("confidential")
    add("op", "oauth2", issuer=oidc.issuer, client_id=client["client_id"], scopes="openid")
    with LoginRun("op", client["client_secret"], with_secret=("client_secret",)) as run:
        url = run.authorization_url()
        assert query(url)["code_challenge_method"] == "S256"
        browser.visit(url, pages.oidc_sign_in(query(url)["redirect_uri"]))
        ok(run.finish())
        seen = introspect(oidc, token("op"), via="inspector")
        assert seen["active"] is True and seen["client_id"] == client["client_id"]


def test_cancelled_sign_in(isolated: Path, oidc: Server, browser: Browser) -> None:
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    with LoginRun("op") as run:
        url = run.authorization_url()
        page = browser.visit(url, pages.oidc_cancel(query(url)["redirect_uri"])).result
        assert "Sign-in failed" in page and "access_denied" in page
        line = one_line_error(run.finish())
        assert line.startswith("trayauth: op: sign-in was refused in the browser"), line
        assert "access_denied" in line
        assert accounts()["op"]["state"] == "logged_out"


def test_client_credentials(isolated: Path, oidc: Server) -> None:
    client = oidc.client("machine")
    add("svc", "oauth2-client-credentials", issuer=oidc.issuer, client_id=client["client_id"])
    ok(trayauth("login", "svc", "--secret-stdin", stdin=client["client_secret"] + "\n"))
    first = token("svc")
    seen = introspect(oidc, first, via="inspector")
    assert seen["active"] is True and seen["client_id"] == client["client_id"]
    ok(trayauth("refresh", "svc"))  # no refresh token: the grant runs again with the kept secret
    second = token("svc")
    assert second != first and introspect(oidc, second, via="inspector")["active"] is True


def test_device_code(isolated: Path, oidc: Server, browser: Browser) -> None:
    client = oidc.client("device")
    add("tv", "oauth2-device", issuer=oidc.issuer, client_id=client["client_id"], scopes="openid")
    with LoginRun("tv") as run:
        shown = run.wait_for(DEVICE)
        page = browser.visit(shown["url"], pages.oidc_device(shown["code"])).result
        assert "Sign-in Success" in page
        ok(run.finish())
        seen = introspect(oidc, token("tv"), via="inspector")
        assert seen["active"] is True and seen["client_id"] == client["client_id"]


def test_device_code_aborted(isolated: Path, oidc: Server, browser: Browser) -> None:
    add(
        "tv",
        "oauth2-device",
        issuer=oidc.issuer,
        client_id=oidc.client("device")["client_id"],
        scopes="openid",
    )
    with LoginRun("tv") as run:
        shown = run.wait_for(DEVICE)
        browser.visit(shown["url"], pages.oidc_device(shown["code"], abort=True))
        line = one_line_error(run.finish())
        assert "refused" in line, line
        assert accounts()["tv"]["state"] == "logged_out"
        assert stored("tv") is None
