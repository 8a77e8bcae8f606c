"""trayauth's generic presets against django-oauth-toolkit, unmodified, with Chromium on its pages.

DOT knows the scopes its settings list (here openid, profile, read, write); it has no
``offline_access`` and issues refresh tokens without it. Its discovery documents name no device
authorization endpoint, so the device account names it by hand, as a user would.
"""

from __future__ import annotations

from pathlib import Path

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


def _browser_login(
    dot: Server,
    browser: Browser,
    name: str,
    client: dict[str, str],
    *,
    secret: bool,
    scopes: str | None = "openid read",
    **settings: str,
) -> tuple[str, str]:
    """Add an ``oauth2`` account for ``client``, sign in through Chromium; (authorization URL,
    the loopback page's text). A confidential client's secret is piped in alone on stdin."""
    add(
        name,
        "oauth2",
        issuer=dot.issuer,
        client_id=client["client_id"],
        **settings,
        **({"scopes": scopes} if scopes is not None else {}),
    )
    with LoginRun(name, client["client_secret"]) if secret else LoginRun(name) as run:
        url = run.authorization_url()
        params = query(url)
        assert params["code_challenge_method"] == "S256"
        page = browser.visit(url, pages.dot_sign_in(params["redirect_uri"], dot.info["user"])).result
        ok(run.finish())
    return url, page


def test_code_pkce_public_client(isolated: Path, dot: Server, browser: Browser) -> None:
    client = dot.client("public")
    _, page = _browser_login(dot, browser, "dj", client, secret=False)
    assert "Signed in" in page
    seen = introspect(dot, token("dj"), via="inspector")
    assert seen["active"] is True and seen["client_id"] == client["client_id"]
    assert seen["username"] == "alice" and set(seen["scope"].split()) == {"openid", "read"}
    assert accounts()["dj"]["state"] == "valid"


def test_code_pkce_confidential_client_and_rotation(isolated: Path, dot: Server, browser: Browser) -> None:
    client = dot.client("confidential")
    _browser_login(dot, browser, "dj", client, secret=True)
    before = stored("dj")
    assert before.refresh_token

    ok(trayauth("refresh", "dj"))
    after = stored("dj")
    assert after.access_token != before.access_token
    assert after.refresh_token and after.refresh_token != before.refresh_token, "DOT rotates refresh tokens"
    assert introspect(dot, after.access_token, via="inspector")["active"] is True
    # The spent refresh token is dead at the server: a copy of it buys nothing.
    spent = refresh_directly(dot, before.refresh_token, client)
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"


def test_public_client_refresh(isolated: Path, dot: Server, browser: Browser) -> None:
    _browser_login(dot, browser, "dj", dot.client("public"), secret=False)
    before = stored("dj")
    ok(trayauth("refresh", "dj"))
    after = stored("dj")
    assert after.refresh_token not in (None, before.refresh_token)
    assert introspect(dot, token("dj"), via="inspector")["active"] is True
    assert introspect(dot, before.access_token, via="inspector")["active"] is False  # DOT drops the old one


def test_cancelled_sign_in(isolated: Path, dot: Server, browser: Browser) -> None:
    add("dj", "oauth2", issuer=dot.issuer, client_id=dot.client("public")["client_id"], scopes="read")
    with LoginRun("dj") as run:
        url = run.authorization_url()
        steps = pages.dot_sign_in(query(url)["redirect_uri"], dot.info["user"], allow=False)
        assert "Sign-in failed" in browser.visit(url, steps).result
        line = one_line_error(run.finish())
        assert line.startswith("trayauth: dj: sign-in was refused in the browser (access_denied"), line
        assert accounts()["dj"]["state"] == "logged_out"


def test_client_credentials(isolated: Path, dot: Server) -> None:
    client = dot.client("machine")
    add("svc", "oauth2-client-credentials", issuer=dot.issuer, client_id=client["client_id"], scopes="read")
    ok(trayauth("login", "svc", "--secret-stdin", stdin=client["client_secret"] + "\n"))
    first = token("svc")
    seen = introspect(dot, first, via="inspector")
    assert seen["active"] is True and seen["client_id"] == client["client_id"] and seen["scope"] == "read"
    ok(trayauth("refresh", "svc"))
    assert token("svc") != first


def test_client_credentials_wrong_secret(isolated: Path, dot: Server) -> None:
    client = dot.client("machine")
    add("svc", "oauth2-client-credentials", issuer=dot.issuer, client_id=client["client_id"], scopes="read")
    line = one_line_error(trayauth("login", "svc", "--secret-stdin", stdin="not-the-secret\n"))
    assert "svc" in line and "not-the-secret" not in line
    assert accounts()["svc"]["state"] == "logged_out"


@pytest.mark.parametrize("kind", ["password", "password-confidential"])
def test_password_grant(isolated: Path, dot: Server, kind: str) -> None:
    client, user = dot.client(kind), dot.info["user"]
    add(
        "pw",
        "oauth2-password",
        issuer=dot.issuer,
        client_id=client["client_id"],
        username=user["username"],
        scopes="read write",
    )
    if client["client_secret"]:  # every secret field in order: client secret, then password
        stdin = f"{client['client_secret']}\n{user['password']}\n"
        ok(trayauth("login", "pw", "--secret-stdin", stdin=stdin))
    else:
        ok(trayauth("login", "pw", "--secret-stdin", stdin=user["password"] + "\n"))
    seen = introspect(dot, token("pw"), via="inspector")
    assert seen["active"] is True and seen["username"] == "alice" and seen["client_id"] == client["client_id"]
    before = stored("pw")
    assert before.refresh_token
    ok(trayauth("refresh", "pw"))
    assert stored("pw").refresh_token != before.refresh_token


def test_password_grant_wrong_password(isolated: Path, dot: Server) -> None:
    client, user = dot.client("password"), dot.info["user"]
    add("pw", "oauth2-password", issuer=dot.issuer, client_id=client["client_id"], username=user["username"])
    line = one_line_error(trayauth("login", "pw", "--secret-stdin", stdin="wrong password\n"))
    assert "pw" in line and "wrong password" not in line
    assert accounts()["pw"]["state"] == "logged_out"


def _device_account(dot: Server) -> dict[str, str]:
    client = dot.client("device")
    add(
        "tv",
        "oauth2-device",
        issuer=dot.issuer,
        client_id=client["client_id"],
        scopes="read",
        device_authorization_url=f"{dot.info['origin']}/o/device-authorization/",
    )
    return client


def test_device_code(isolated: Path, dot: Server, browser: Browser) -> None:
    client = _device_account(dot)
    with LoginRun("tv") as run:
        shown = run.wait_for(DEVICE)
        assert shown["url"] == f"{dot.info['origin']}/o/device/"
        browser.visit(shown["url"], pages.dot_device(shown["code"], dot.info["user"]))
        ok(run.finish())
        seen = introspect(dot, token("tv"), via="inspector")
        assert (
            seen["active"] is True
            and seen["client_id"] == client["client_id"]
            and seen["username"] == "alice"
        )
        before = stored("tv")
        ok(trayauth("refresh", "tv"))
        assert stored("tv").refresh_token not in (None, before.refresh_token)


def test_device_code_denied(isolated: Path, dot: Server, browser: Browser) -> None:
    _device_account(dot)
    with LoginRun("tv") as run:
        shown = run.wait_for(DEVICE)
        browser.visit(shown["url"], pages.dot_device(shown["code"], dot.info["user"], accept=False))
        line = one_line_error(run.finish())
        assert "refused" in line, line
        assert accounts()["tv"]["state"] == "logged_out"


# ---- OAuth to the letter (issue 11): scopes, revocation, RFC 9207, ID tokens ---------------------


def test_default_scopes_are_filtered_by_scopes_supported(
    isolated: Path, dot: Server, browser: Browser
) -> None:
    """The preset's default ``openid offline_access``: DOT has no offline_access, so it is dropped."""
    url, _ = _browser_login(dot, browser, "dj", dot.client("public"), secret=False, scopes=None)
    params = query(url)
    assert params["scope"] == "openid" and "prompt" not in params
    assert stored("dj").refresh_token  # DOT hands one out without offline_access
    assert set(introspect(dot, token("dj"), via="inspector")["scope"].split()) == {"openid"}


def test_device_code_with_default_scopes(isolated: Path, dot: Server, browser: Browser) -> None:
    client = dot.client("device")
    add(
        "tv",
        "oauth2-device",
        issuer=dot.issuer,
        client_id=client["client_id"],
        device_authorization_url=f"{dot.info['origin']}/o/device-authorization/",
    )
    with LoginRun("tv") as run:
        shown = run.wait_for(DEVICE)
        browser.visit(shown["url"], pages.dot_device(shown["code"], dot.info["user"]))
        ok(run.finish())
    assert introspect(dot, token("tv"), via="inspector")["scope"] == "openid"


def test_a_typed_unknown_scope_names_the_setting(isolated: Path, dot: Server, browser: Browser) -> None:
    """Scopes the user typed are sent as typed; DOT's invalid_scope answer points at the setting."""
    add(
        "dj",
        "oauth2",
        issuer=dot.issuer,
        client_id=dot.client("public")["client_id"],
        scopes="openid offline_access",
    )
    with LoginRun("dj") as run:
        url = run.authorization_url()
        assert query(url)["scope"] == "openid offline_access"
        page = browser.visit(url, pages.dot_refused(query(url)["redirect_uri"], dot.info["user"])).result
        line = one_line_error(run.finish())
    assert "invalid_scope" in page
    assert "scopes" in line and "invalid_scope" in line, line
    assert stored("dj") is None


def test_confidential_client_with_hs256_id_token(isolated: Path, dot: Server, browser: Browser) -> None:
    """An ID token signed with the client secret (HS256) is verified with it, and accepted."""
    client = dot.client("confidential-hs256")
    url, page = _browser_login(dot, browser, "dj", client, secret=True)
    assert query(url)["nonce"] and "Signed in" in page
    assert introspect(dot, token("dj"), via="inspector")["client_id"] == client["client_id"]


def test_iss_is_required_where_promised(isolated: Path, dot: Server, browser: Browser) -> None:
    assert metadata(dot)["authorization_response_iss_parameter_supported"] is True
    add("dj", "oauth2", issuer=dot.issuer, client_id=dot.client("public")["client_id"], scopes="read")
    with LoginRun("dj") as run:
        url = run.authorization_url()
        steps = pages.dot_sign_in(query(url)["redirect_uri"], dot.info["user"], tamper={"iss": None})
        assert "Sign-in failed" in browser.visit(url, steps).result
        line = one_line_error(run.finish())
    assert "trayauth: dj: the sign-in answer lacks the issuer (iss) that" in line, line


def test_logout_where_discovery_names_no_revocation_endpoint(
    isolated: Path, dot: Server, browser: Browser
) -> None:
    """DOT's OpenID Connect discovery names no revocation endpoint: logout says so, honestly."""
    assert "revocation_endpoint" not in metadata(dot)
    _browser_login(dot, browser, "dj", dot.client("public"), secret=False)
    said = ok(trayauth("logout", "dj"))
    assert "nothing to revoke at the provider (the provider names no revocation endpoint)" in said.err
    assert stored("dj") is None


def test_logout_revokes_with_revocation_url(isolated: Path, dot: Server, browser: Browser) -> None:
    client = dot.client("confidential")
    revoke = f"{dot.info['origin']}/o/revoke_token/"
    _browser_login(dot, browser, "dj", client, secret=True, revocation_url=revoke)
    held = stored("dj")
    assert held.refresh_token and introspect(dot, held.access_token, via="inspector")["active"] is True

    said = ok(trayauth("logout", "dj"))
    assert "logged out dj: signed out at the provider; the local tokens are deleted" in said.err
    assert introspect(dot, held.access_token, via="inspector")["active"] is False
    spent = refresh_directly(dot, held.refresh_token, client)
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"
    assert accounts()["dj"]["state"] == "logged_out"
