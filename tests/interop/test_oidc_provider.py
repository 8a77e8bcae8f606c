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
from tests.interop.servers import Server, introspect, metadata, refresh_directly

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
    # The optional client secret, piped in alone, is the one line on stdin (issue 11 item 4).
    with LoginRun("op", client["client_secret"]) as run:
        url = run.authorization_url()
        assert query(url)["code_challenge_method"] == "S256"
        browser.visit(url, pages.oidc_sign_in(query(url)["redirect_uri"]))
        ok(run.finish())
    seen = introspect(oidc, token("op"), via="inspector")
    assert seen["active"] is True and seen["client_id"] == client["client_id"]


def test_unused_stdin_is_refused_before_any_browser(isolated: Path, oidc: Server) -> None:
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    said = trayauth("login", "op", "--no-browser", "--secret-stdin", stdin="first-line\nsecond-line\n")
    line = one_line_error(said)
    assert "2 lines on stdin, but it takes at most 1 secrets" in line, line
    assert "redirect_uri=" not in said.err, "a browser sign-in started"
    assert "first-line" not in said.err and "second-line" not in said.err


def test_offline_access_asks_consent_and_rotates(isolated: Path, oidc: Server, browser: Browser) -> None:
    """The preset's default scopes: offline_access with prompt=consent, so a refresh token comes."""
    client = oidc.client("public")
    add("op", "oauth2", issuer=oidc.issuer, client_id=client["client_id"])
    consents: list[str] = []
    with LoginRun("op") as run:
        url = run.authorization_url()
        params = query(url)
        assert params["scope"].split() == ["openid", "offline_access"] and params["prompt"] == "consent"
        browser.visit(url, pages.oidc_sign_in(params["redirect_uri"], consents=consents))
        said = ok(run.finish())
    assert "asking to have offline access" in consents[0]
    assert "sign in again" not in said.err
    before = stored("op")
    assert before.refresh_token and accounts()["op"]["renewable"] is True

    ok(trayauth("refresh", "op"))
    after = stored("op")
    assert after.refresh_token not in (None, before.refresh_token), "public clients' refresh tokens rotate"
    assert introspect(oidc, after.access_token, via="inspector")["active"] is True
    spent = refresh_directly(oidc, before.refresh_token, client)
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"


def test_without_offline_access_the_login_says_when_to_sign_in_again(
    isolated: Path, oidc: Server, browser: Browser
) -> None:
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    with LoginRun("op") as run:
        url = run.authorization_url()
        assert "prompt" not in query(url)
        browser.visit(url, pages.oidc_sign_in(query(url)["redirect_uri"]))
        said = ok(run.finish())
    assert stored("op").refresh_token is None
    assert (
        "the provider gave no refresh token, so this session cannot renew itself: sign in again by"
        in said.err
    )
    assert accounts()["op"]["sign_in_by"] is not None
    line = one_line_error(trayauth("refresh", "op"))
    assert line.startswith("trayauth: op: ") and "cannot renew itself" in line and "trayauth login op" in line


def test_logout_revokes_at_the_provider(isolated: Path, oidc: Server, browser: Browser) -> None:
    client = oidc.client("confidential")
    add("op", "oauth2", issuer=oidc.issuer, client_id=client["client_id"])
    with LoginRun("op", client["client_secret"]) as run:
        url = run.authorization_url()
        browser.visit(url, pages.oidc_sign_in(query(url)["redirect_uri"]))
        ok(run.finish())
    held = stored("op")
    assert held.refresh_token and introspect(oidc, held.access_token, via="inspector")["active"] is True

    said = ok(trayauth("logout", "op"))
    assert "logged out op: signed out at the provider; the local tokens are deleted" in said.err
    assert introspect(oidc, held.access_token, via="inspector")["active"] is False
    spent = refresh_directly(oidc, held.refresh_token, client)
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"
    assert accounts()["op"]["state"] == "logged_out" and stored("op") is None


@pytest.mark.parametrize(
    ("iss", "said"),
    [
        (None, "the sign-in answer lacks the issuer (iss) that"),
        ("http://127.0.0.1:9/elsewhere", "the sign-in answer came from another issuer than"),
    ],
    ids=["missing", "another-issuer"],
)
def test_iss_is_checked_where_promised(
    isolated: Path, oidc: Server, browser: Browser, iss: str | None, said: str
) -> None:
    """RFC 9207: oidc-provider promises ``iss``; an answer without it, or from another issuer
    (a mix-up attack), is refused, and the code in it is never exchanged."""
    assert metadata(oidc)["authorization_response_iss_parameter_supported"] is True
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    with LoginRun("op") as run:
        url = run.authorization_url()
        redirect = query(url)["redirect_uri"]
        visit = browser.visit(url, pages.oidc_sign_in(redirect, tamper={"iss": iss}))
        line = one_line_error(run.finish())
    assert "Sign-in failed" in visit.result
    assert f"trayauth: op: {said}" in line, line
    assert stored("op") is None


def test_iss_and_id_token_pass_on_the_real_server(isolated: Path, oidc: Server, browser: Browser) -> None:
    """The answer carries the issuer's ``iss``, and its RS256 ID token (JWKS, nonce) is accepted."""
    add("op", "oauth2", issuer=oidc.issuer, client_id=oidc.client("public")["client_id"], scopes="openid")
    with LoginRun("op") as run:
        url = run.authorization_url()
        assert query(url)["nonce"]
        visit = browser.visit(url, pages.oidc_sign_in(query(url)["redirect_uri"]))
        ok(run.finish())
    assert query(visit.final_url)["iss"] == oidc.issuer
    assert accounts()["op"]["state"] == "valid"


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
