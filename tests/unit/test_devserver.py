"""The local provider server, over real HTTP: each vendor's API, rotation, limits, OAuth, faults."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.clock import FakeClock
from trayauth.demo import ProviderServer, paseto

LOOPBACK = "http://127.0.0.1:54321/callback"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(clock=clock) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, follow_redirects=False) as client:
        yield client


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def whoami(http: httpx.Client, srv: ProviderServer, vendor: str, token: str) -> httpx.Response:
    return http.get(f"{srv.base_url(vendor)}/whoami", headers={"Authorization": f"Bearer {token}"})


def redirect_params(resp: httpx.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


# --- lifecycle ------------------------------------------------------------------------------


def test_urls_and_stop(clock: FakeClock, http: httpx.Client) -> None:
    server = ProviderServer(clock=clock).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.base_url("amino") == server.url + "/amino"
        assert server.issuer == server.url + "/oauth"
        with pytest.raises(ValueError, match="unknown vendor"):
            server.base_url("nope")
        assert http.get(server.url + "/nope/whatever").status_code == 404
        assert http.get(server.base_url("sentiance") + "/auth/token").status_code == 405
        port = urlsplit(server.url).port
    finally:
        server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port or 0), timeout=1):
        pass


# --- sentiance ------------------------------------------------------------------------------


def sentiance_login(http: httpx.Client, srv: ProviderServer) -> dict[str, Any]:
    base = srv.base_url("sentiance")
    first = http.post(f"{base}/auth/local", json=srv.users["sentiance"])
    assert first.status_code == 200, first.text
    code = first.json()["authorization_code"]
    resp = http.post(f"{base}/auth/token", json={"grant_type": "code", "code": code, "token_type": "self"})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def sentiance_refresh(http: httpx.Client, srv: ProviderServer, refresh: str) -> httpx.Response:
    body = {"grant_type": "refresh_token", "refresh_token": refresh}
    return http.post(f"{srv.base_url('sentiance')}/auth/token", json=body)


def test_sentiance_two_step_login(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    base = srv.base_url("sentiance")
    wrong = http.post(f"{base}/auth/local", json={"username": "demo@sentiance.test", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["message"]
    pair = sentiance_login(http, srv)
    assert set(pair) >= {"id", "user_id", "token", "refresh_token", "expires_at", "token_type", "app_id"}
    assert pair["token_type"] == "self" and int(pair["token"], 16)
    assert pair["expires_at"].endswith("Z") and len(pair["expires_at"]) == len("2019-04-02T13:22:22.508Z")
    assert srv.check("sentiance", pair["token"]) and not srv.check("sensos", pair["token"])
    assert whoami(http, srv, "sentiance", pair["token"]).json() == {"ok": True, "sub": pair["user_id"]}
    clock.advance(3601)
    assert not srv.check("sentiance", pair["token"])
    assert whoami(http, srv, "sentiance", pair["token"]).status_code == 401


def test_sentiance_code_is_single_use_and_short_lived(
    srv: ProviderServer, http: httpx.Client, clock: FakeClock
) -> None:
    base = srv.base_url("sentiance")
    code = http.post(f"{base}/auth/local", json=srv.users["sentiance"]).json()["authorization_code"]
    exchange = {"grant_type": "code", "code": code, "token_type": "self"}
    assert http.post(f"{base}/auth/token", json=exchange).status_code == 200
    assert http.post(f"{base}/auth/token", json=exchange).status_code == 401
    code = http.post(f"{base}/auth/local", json=srv.users["sentiance"]).json()["authorization_code"]
    clock.advance(61)
    assert http.post(f"{base}/auth/token", json={**exchange, "code": code}).status_code == 401


def test_sentiance_rotation_and_reuse_detection(srv: ProviderServer, http: httpx.Client) -> None:
    first = sentiance_login(http, srv)
    second = sentiance_refresh(http, srv, first["refresh_token"]).json()
    assert second["token"] != first["token"] and second["refresh_token"] != first["refresh_token"]
    assert srv.refreshes("sentiance") == 1 and srv.check("sentiance", second["token"])

    replay = sentiance_refresh(http, srv, first["refresh_token"])
    assert replay.status_code == 401 and "revoked" in replay.json()["message"]
    assert srv.revoked_families("sentiance") == 1
    assert not srv.check("sentiance", second["token"]) and not srv.check("sentiance", first["token"])
    assert sentiance_refresh(http, srv, second["refresh_token"]).status_code == 401, "the family is dead"
    assert srv.refreshes("sentiance") == 1

    other = sentiance_login(http, srv)  # a new login is unaffected
    assert sentiance_refresh(http, srv, other["refresh_token"]).status_code == 200
    assert srv.count("sentiance", "auth/token") == 6


# --- senseye --------------------------------------------------------------------------------


def test_senseye_password_grant(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    url = f"{srv.base_url('senseye')}/oauth/token"
    user = srv.users["senseye"]
    form = {"grant_type": "password", **user}
    assert http.post(url, json=form).status_code == 400, "JSON is refused: the vendor wants a form"
    bad = http.post(url, data={**form, "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_grant"
    resp = http.post(url, data=form)
    body = resp.json()
    assert resp.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert "refresh_token" not in body
    claims = claims_of(body["access_token"])
    assert claims["sub"] == user["username"] and claims["exp"] - claims["iat"] == 86400
    assert srv.check("senseye", body["access_token"])


def test_senseye_rate_limit_sends_retry_after(
    srv: ProviderServer, http: httpx.Client, clock: FakeClock
) -> None:
    url = f"{srv.base_url('senseye')}/oauth/token"
    form = {"grant_type": "password", **srv.users["senseye"]}
    for _ in range(10):
        assert http.post(url, data=form).status_code == 200
        clock.advance(1)
    limited = http.post(url, data=form)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "50"
    clock.advance(50)
    assert http.post(url, data=form).status_code == 200
    srv.set_rate_limit("senseye", 1)
    assert http.post(url, data=form).status_code == 200
    assert http.post(url, data=form).status_code == 429
    assert srv.count("senseye", "oauth/token") == 14


def test_set_lifetime_and_clock_offset(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    srv.set_lifetime("senseye", 120)
    srv.clock_offset = 600  # the server's clock runs ten minutes fast
    body = http.post(
        f"{srv.base_url('senseye')}/oauth/token", data={"grant_type": "password", **srv.users["senseye"]}
    ).json()
    assert body["expires_in"] == 120
    assert claims_of(body["access_token"])["iat"] == pytest.approx(clock() + 600, abs=1)


# --- sensos ---------------------------------------------------------------------------------


def test_sensos_application_token(srv: ProviderServer, http: httpx.Client) -> None:
    url = f"{srv.base_url('sensos')}/v1/applications/token"
    u = srv.users["sensos"]
    creds = {
        "tenantId": u["tenant_id"],
        "applicationId": u["application_id"],
        "applicationSecret": u["application_secret"],
    }
    resp = http.post(url, json=creds)
    assert resp.status_code == 200 and resp.json()["expiresIn"] == 36000
    token = resp.json()["accessToken"]
    assert claims_of(token)["exp"] - claims_of(token)["iat"] == 36000 and srv.check("sensos", token)
    wrong = http.post(url, json={**creds, "applicationSecret": "wrong"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Unauthorized", "message": "Invalid or expired access token"}


# --- attentive ------------------------------------------------------------------------------


def attentive_code(
    http: httpx.Client, srv: ProviderServer, client_id: str = "", **extra: str
) -> dict[str, str]:
    u = srv.users["attentive"]
    params = {
        "client_id": client_id or u["client_id"],
        "redirect_uri": LOOPBACK,
        "scope": u["scope"],
        "state": "s1",
    }
    resp = http.get(f"{srv.base_url('attentive')}/ui/integrations/oauth-install", params={**params, **extra})
    return redirect_params(resp)


def attentive_exchange(http: httpx.Client, srv: ProviderServer, code: str, **extra: str) -> httpx.Response:
    u = srv.users["attentive"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": LOOPBACK,
        "client_id": u["client_id"],
        "client_secret": u["client_secret"],
    }
    return http.post(f"{srv.base_url('attentive')}/v1/authorization-codes/tokens", data={**form, **extra})


def test_attentive_api_key(srv: ProviderServer, http: httpx.Client) -> None:
    me = f"{srv.base_url('attentive')}/v1/me"
    assert (
        http.get(me, headers={"Authorization": f"Bearer {srv.users['attentive']['api_key']}"}).status_code
        == 200
    )
    assert http.get(me, headers={"Authorization": "Bearer bogus"}).status_code == 401
    assert http.get(me).status_code == 401
    assert srv.check("attentive", srv.users["attentive"]["api_key"])


def test_attentive_oauth_install(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    got = attentive_code(http, srv)
    assert got["state"] == "s1"
    resp = attentive_exchange(http, srv, got["code"])
    body = resp.json()
    assert resp.status_code == 200 and body["token_type"] == "Bearer" and "expires_in" not in body
    assert body["scope"] == srv.users["attentive"]["scope"]
    clock.advance(10 * 365 * 86400)
    assert srv.check("attentive", body["access_token"]), "Attentive tokens never expire"
    again = attentive_exchange(http, srv, got["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert not srv.check("attentive", body["access_token"]), "a replayed code revokes what it bought"


def test_attentive_code_lives_two_minutes_and_is_bound(
    srv: ProviderServer, http: httpx.Client, clock: FakeClock
) -> None:
    code = attentive_code(http, srv)["code"]
    clock.advance(121)
    assert attentive_exchange(http, srv, code).json()["error"] == "invalid_grant"
    code = attentive_code(http, srv)["code"]
    clock.advance(119)
    assert attentive_exchange(http, srv, code, redirect_uri="http://127.0.0.1:1/other").status_code == 400
    code = attentive_code(http, srv)["code"]
    wrong_secret = attentive_exchange(http, srv, code, client_secret="nope")
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert attentive_exchange(http, srv, code).status_code == 200, "a failed client auth did not spend it"


def test_attentive_denials(srv: ProviderServer, http: httpx.Client) -> None:
    assert attentive_code(http, srv, srv.users["attentive"]["denying_client_id"])["error"] == "access_denied"
    srv.inject("attentive", "oauth-install", "deny")
    assert attentive_code(http, srv) == {
        "error": "access_denied",
        "error_description": "the user did not approve the app",
        "state": "s1",
    }
    assert "code" in attentive_code(http, srv)
    bad = http.get(
        f"{srv.base_url('attentive')}/ui/integrations/oauth-install",
        params={"client_id": srv.users["attentive"]["client_id"], "redirect_uri": "https://evil.example/cb"},
    )
    assert bad.status_code == 400 and "location" not in bad.headers, "never redirect to an unregistered URI"


# --- amino ----------------------------------------------------------------------------------


def test_amino_jsonapi_and_rotation(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    url = f"{srv.base_url('amino')}/api/auth/v1/access_tokens"
    resp = http.post(url, json=srv.users["amino"])
    assert resp.status_code == 200
    item = resp.json()["data"][0]
    attrs = item["attributes"]
    assert item["type"] == "AuthenticationTokens"
    assert attrs["expires_at_timestamp"] == pytest.approx(clock() + 3600, abs=1)
    assert claims_of(attrs["access_token"])["exp"] - attrs["expires_at_timestamp"] > 300
    assert set(attrs) >= {"login_timestamp", "user_id", "user_profile_id", "refresh_token"}

    renewed = http.post(url, data={"grant_type": "refresh_token", "refresh_token": attrs["refresh_token"]})
    new = renewed.json()["data"][0]["attributes"]
    assert renewed.status_code == 200 and new["refresh_token"] != attrs["refresh_token"]
    clock.advance(3601)
    assert not srv.check("amino", new["access_token"]), "expires_at_timestamp, not exp, is the truth"

    replay = http.post(url, json={"grant_type": "refresh_token", "refresh_token": attrs["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["errors"][0]["status"] == "401"
    assert srv.revoked_families("amino") == 1 and srv.refreshes("amino") == 1
    wrong = http.post(url, json={"username": "demo@amino.test", "password": "x"})
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["title"]


# --- generic OAuth 2.0 / OIDC ---------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def oauth_code(http: httpx.Client, srv: ProviderServer, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": "trayauth-public",
        "redirect_uri": LOOPBACK,
        "scope": "openid api",
        "state": "xyz",
        **extra,
    }
    return http.get(f"{srv.issuer}/authorize", params=params)


def oauth_token(http: httpx.Client, srv: ProviderServer, **form: str) -> httpx.Response:
    return http.post(f"{srv.issuer}/token", data=form)


def code_login(http: httpx.Client, srv: ProviderServer) -> dict[str, Any]:
    verifier, challenge = pkce()
    got = redirect_params(
        oauth_code(http, srv, code_challenge=challenge, code_challenge_method="S256", nonce="n1")
    )
    resp = oauth_token(
        http,
        srv,
        grant_type="authorization_code",
        code=got["code"],
        redirect_uri=LOOPBACK,
        client_id="trayauth-public",
        code_verifier=verifier,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_discovery(srv: ProviderServer, http: httpx.Client) -> None:
    doc = http.get(f"{srv.issuer}/.well-known/openid-configuration").json()
    assert doc["issuer"] == srv.issuer and doc["token_endpoint"] == f"{srv.issuer}/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in doc["grant_types_supported"]
    for key in ("authorization_endpoint", "device_authorization_endpoint", "userinfo_endpoint"):
        assert doc[key].startswith(srv.issuer)


def test_authorization_code_with_pkce(srv: ProviderServer, http: httpx.Client) -> None:
    body = code_login(http, srv)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "openid api"
    claims = claims_of(body["access_token"])
    assert claims["aud"] == "trayauth-public" and claims["sub"] == "demo" and claims["scope"] == "openid api"
    assert claims_of(body["id_token"])["nonce"] == "n1"
    info = http.get(f"{srv.issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.json()["sub"] == "demo"
    assert http.get(f"{srv.issuer}/userinfo").status_code == 401


def test_pkce_mismatch_and_missing_pkce_are_refused(srv: ProviderServer, http: httpx.Client) -> None:
    _, challenge = pkce()
    got = redirect_params(oauth_code(http, srv, code_challenge=challenge, code_challenge_method="S256"))
    other, _ = pkce()
    form = {"grant_type": "authorization_code", "code": got["code"], "redirect_uri": LOOPBACK}
    resp = oauth_token(http, srv, **form, client_id="trayauth-public", code_verifier=other)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert redirect_params(oauth_code(http, srv))["error"] == "invalid_request", "public clients need PKCE"
    plain = redirect_params(oauth_code(http, srv, code_challenge="x" * 43, code_challenge_method="plain"))
    assert plain["error"] == "invalid_request" and plain["state"] == "xyz"


def test_authorize_denials(srv: ProviderServer, http: httpx.Client) -> None:
    _, challenge = pkce()
    pk = {"code_challenge": challenge, "code_challenge_method": "S256"}
    srv.inject("oauth", "authorize", "deny")
    assert redirect_params(oauth_code(http, srv, **pk))["error"] == "access_denied"
    assert "code" in redirect_params(oauth_code(http, srv, **pk))
    denied = oauth_code(http, srv, client_id=srv.users["oauth"]["denying_client_id"], **pk)
    assert redirect_params(denied) == {
        "error": "access_denied",
        "error_description": "the user did not approve the app",
        "state": "xyz",
    }
    assert oauth_code(http, srv, client_id="nobody", **pk).status_code == 400


def test_loopback_redirect_any_port_but_not_localhost(srv: ProviderServer, http: httpx.Client) -> None:
    _, challenge = pkce()
    pk = {"code_challenge": challenge, "code_challenge_method": "S256"}
    for uri in ("http://127.0.0.1:1/cb", "http://127.0.0.1:65000/", "http://[::1]:8080/x"):
        assert "code" in redirect_params(oauth_code(http, srv, redirect_uri=uri, **pk)), uri
    for uri in ("http://localhost:8080/cb", "http://127.0.0.1/cb", "https://evil.example/cb"):
        assert oauth_code(http, srv, redirect_uri=uri, **pk).status_code == 400, uri
    srv.add_client("oauth", "strict", None, ("http://127.0.0.1/callback",))
    strict = {"client_id": "strict", **pk}
    assert "code" in redirect_params(
        oauth_code(http, srv, redirect_uri="http://127.0.0.1:4444/callback", **strict)
    )
    assert oauth_code(http, srv, redirect_uri="http://127.0.0.1:4444/other", **strict).status_code == 400


def test_refresh_rotation_reuse_and_scope(srv: ProviderServer, http: httpx.Client) -> None:
    first = code_login(http, srv)
    grant = {"grant_type": "refresh_token", "client_id": "trayauth-public"}
    second = oauth_token(http, srv, **grant, refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"] and second["scope"] == "openid api"
    narrowed = oauth_token(http, srv, **grant, refresh_token=second["refresh_token"], scope="api").json()
    assert narrowed["scope"] == "api"
    wider = oauth_token(http, srv, **grant, refresh_token=narrowed["refresh_token"], scope="api admin")
    assert wider.json()["error"] == "invalid_scope"
    third = oauth_token(http, srv, **grant, refresh_token=narrowed["refresh_token"]).json()
    assert third["scope"] == "openid api", "the grant's scope is preserved"
    assert srv.refreshes("oauth") == 3

    replay = oauth_token(http, srv, **grant, refresh_token=first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert srv.revoked_families("oauth") == 1 and not srv.check("oauth", third["access_token"])
    assert oauth_token(http, srv, **grant, refresh_token=third["refresh_token"]).status_code == 400


def test_code_replay_revokes_tokens(srv: ProviderServer, http: httpx.Client) -> None:
    verifier, challenge = pkce()
    code = redirect_params(oauth_code(http, srv, code_challenge=challenge, code_challenge_method="S256"))[
        "code"
    ]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": LOOPBACK,
        "client_id": "trayauth-public",
        "code_verifier": verifier,
    }
    token = oauth_token(http, srv, **form).json()["access_token"]
    assert oauth_token(http, srv, **form).json()["error"] == "invalid_grant"
    assert not srv.check("oauth", token)


def test_confidential_client_auth_and_client_credentials(srv: ProviderServer, http: httpx.Client) -> None:
    cid, secret = "trayauth-confidential", srv.users["oauth"]["client_secret"]
    basic = http.post(f"{srv.issuer}/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert basic.status_code == 200 and "refresh_token" not in basic.json()
    assert claims_of(basic.json()["access_token"])["sub"] == cid
    post = oauth_token(http, srv, grant_type="client_credentials", client_id=cid, client_secret=secret)
    assert post.status_code == 200
    wrong = http.post(f"{srv.issuer}/token", data={"grant_type": "client_credentials"}, auth=(cid, "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "www-authenticate" in wrong.headers
    public = oauth_token(http, srv, grant_type="client_credentials", client_id="trayauth-public")
    assert public.status_code == 400 and public.json()["error"] == "unauthorized_client"
    assert (
        oauth_token(http, srv, grant_type="magic", client_id=cid).json()["error"] == "unsupported_grant_type"
    )


def test_password_grant_and_revocation(srv: ProviderServer, http: httpx.Client) -> None:
    user = srv.users["oauth"]
    form = {"grant_type": "password", "client_id": "trayauth-public", "username": user["username"]}
    assert oauth_token(http, srv, **form, password="nope").json()["error"] == "invalid_grant"
    body = oauth_token(http, srv, **form, password=user["password"]).json()
    assert body["refresh_token"] and srv.check("oauth", body["access_token"])
    revoked = http.post(
        f"{srv.issuer}/revoke", data={"token": body["refresh_token"], "client_id": "trayauth-public"}
    )
    assert revoked.status_code == 200 and not srv.check("oauth", body["access_token"])
    assert srv.revoked_families("oauth") == 0, "a logout is not a replay"


def test_device_flow(srv: ProviderServer, http: httpx.Client, clock: FakeClock) -> None:
    start = http.post(
        f"{srv.issuer}/device_authorization", data={"client_id": "trayauth-public", "scope": "api"}
    )
    dev = start.json()
    assert dev["interval"] == 5 and dev["expires_in"] == 600
    assert dev["verification_uri_complete"].endswith(dev["user_code"])
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": dev["device_code"]}
    poll["client_id"] = "trayauth-public"
    assert oauth_token(http, srv, **poll).json()["error"] == "authorization_pending"
    clock.advance(2)
    assert oauth_token(http, srv, **poll).json()["error"] == "slow_down"
    clock.advance(6)
    assert oauth_token(http, srv, **poll).json()["error"] == "slow_down", "the interval grew to 10 s"
    clock.advance(15)
    assert oauth_token(http, srv, **poll).json()["error"] == "authorization_pending"
    srv.approve_device(dev["user_code"].lower())
    clock.advance(10)
    body = oauth_token(http, srv, **poll).json()
    assert body["scope"] == "api" and srv.check("oauth", body["access_token"]) and body["refresh_token"]
    assert oauth_token(http, srv, **poll).json()["error"] == "invalid_grant", "a device code is single-use"


def test_device_flow_denied_expired_and_page(
    srv: ProviderServer, http: httpx.Client, clock: FakeClock
) -> None:
    def start() -> dict[str, Any]:
        return dict(
            http.post(f"{srv.issuer}/device_authorization", data={"client_id": "trayauth-public"}).json()
        )

    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "trayauth-public"}
    denied = start()
    srv.deny_device(denied["user_code"])
    assert (
        oauth_token(http, srv, **grant, device_code=denied["device_code"]).json()["error"] == "access_denied"
    )
    late = start()
    clock.advance(601)
    assert oauth_token(http, srv, **grant, device_code=late["device_code"]).json()["error"] == "expired_token"
    with pytest.raises(KeyError):
        srv.approve_device("ZZZZ-ZZZZ")

    by_page = start()
    page = http.get(by_page["verification_uri_complete"])
    assert page.status_code == 200 and by_page["user_code"] in page.text
    done = http.post(
        by_page["verification_uri"], data={"user_code": by_page["user_code"], "action": "approve"}
    )
    assert "connected" in done.text
    assert "access_token" in oauth_token(http, srv, **grant, device_code=by_page["device_code"]).json()


# --- minted tokens --------------------------------------------------------------------------


def test_paseto_matches_the_spec_vectors() -> None:
    key = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774")
    )
    payload = {"data": "this is a signed message", "exp": "2022-01-01T00:00:00+00:00"}
    assert paseto.sign_public(key, payload) == (  # PASETO test vector 4-S-1
        "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9"
        "bg_XBBzds8lTZShVlwwKSgeKpLT3yukTw6JUz3W4h_ExsQV-P0V54zemZDcAxFaSeef1QlXEFtkqxT1ciiQEDA"
    )
    footer = b'{"kid":"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN"}'
    signed = paseto.sign_public(key, payload, footer)
    assert signed.startswith("v4.public.") and signed.endswith(
        ".eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9"
    )
    assert (
        "v3Jt8mx_TdM2ceTGoqwrh4yDFn0XsHvvV_D0DtwQxVrJEBMl0F2caAdgnpKlt4p7xBnx1HcO-SPo8FPp214HDw" in signed
    )  # 4-S-2
    assert paseto.verify_public(key.public_key(), signed) == payload
    tampered = signed.replace("eyJkYXRh", "eyJkYXRi", 1)
    assert paseto.verify_public(key.public_key(), tampered) is None
    assert (
        paseto.pae() == b"\x00" * 8
        and paseto.pae(b"test") == b"\x01" + b"\x00" * 7 + b"\x04" + b"\x00" * 7 + b"test"
    )


def test_minted_tokens_are_honoured_until_exp(
    srv: ProviderServer, http: httpx.Client, clock: FakeClock
) -> None:
    exp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(clock() + 3600))
    machine = srv.mint_paseto({"sub": "machine", "exp": exp})
    raw = base64.urlsafe_b64decode(machine.split(".")[2] + "==")
    assert json.loads(raw[:-64]) == {"sub": "machine", "exp": exp}, "claims readable without a key"
    assert srv.check("senseye", machine) and whoami(http, srv, "senseye", machine).json()["sub"] == "machine"
    local = srv.mint_paseto({"sub": "x"}, local=True)
    assert local.startswith("v4.local.") and srv.check("senseye", local)
    token = srv.mint_jwt({"sub": "sdk-user", "exp": int(clock()) + 60})
    assert claims_of(token) == {"sub": "sdk-user", "exp": int(clock()) + 60}
    clock.advance(61)
    assert not srv.check("sentiance", token) and srv.check("senseye", machine)
    clock.advance(3600)
    assert not srv.check("senseye", machine)
    odd = srv.mint_paseto({"sub": "odd", "exp": "not a date"})
    assert srv.check("senseye", odd), "an unreadable exp is no expiry, not a crash"


def test_imports_only_what_the_demo_may_ship() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trayauth.demo, trayauth.demo.__main__;"
        "tops = {m.split('.')[0] for m in sys.modules};"
        "print(sorted(tops & {'PySide6', 'httpx', 'qasync', 'authlib'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- faults ---------------------------------------------------------------------------------


def senseye_form(srv: ProviderServer) -> dict[str, str]:
    return {"grant_type": "password", **srv.users["senseye"]}


def test_status_fault_with_headers(srv: ProviderServer, http: httpx.Client) -> None:
    url = f"{srv.base_url('senseye')}/oauth/token"
    srv.inject(
        "senseye", "oauth/token", {"status": 503, "headers": {"Retry-After": "2"}, "body": "down"}, times=2
    )
    for _ in range(2):
        resp = http.post(url, data=senseye_form(srv))
        assert resp.status_code == 503 and resp.headers["retry-after"] == "2" and resp.text == "down"
    assert http.post(url, data=senseye_form(srv)).status_code == 200
    srv.inject("senseye", "/oauth/token", {"status": 400, "body": {"error": "invalid_request"}})
    assert http.post(url, data=senseye_form(srv)).json() == {"error": "invalid_request"}


def test_reset_before_and_after_processing(srv: ProviderServer, http: httpx.Client) -> None:
    pair = sentiance_login(http, srv)
    srv.inject("sentiance", "auth/token", "reset")
    with pytest.raises(httpx.ReadError):
        sentiance_refresh(http, srv, pair["refresh_token"])
    assert srv.refreshes("sentiance") == 0, "a plain reset never reached the server"
    srv.inject("sentiance", "auth/token", "reset_after_processing")
    with pytest.raises(httpx.ReadError):
        sentiance_refresh(http, srv, pair["refresh_token"])
    assert srv.refreshes("sentiance") == 1, "the server rotated, then the answer was lost"
    assert sentiance_refresh(http, srv, pair["refresh_token"]).status_code == 401
    assert srv.revoked_families("sentiance") == 1


def test_body_faults(srv: ProviderServer, http: httpx.Client) -> None:
    url = f"{srv.base_url('senseye')}/oauth/token"

    def hit(fault: str) -> httpx.Response:
        srv.inject("senseye", "oauth/token", fault)
        return http.post(url, data=senseye_form(srv))

    truncated = hit("truncated_json")
    assert truncated.status_code == 200 and truncated.content.startswith(b"{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    html_page = hit("html_error")
    assert html_page.status_code == 502 and html_page.headers["content-type"].startswith("text/html")
    plain = hit("wrong_content_type")
    assert plain.headers["content-type"].startswith("text/plain") and "access_token" in json.loads(
        plain.content
    )
    garbage = hit("not_json")
    assert garbage.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbage.content)
    big = hit("big_body:200000")
    assert len(big.content) == 200000 and "access_token" in big.json()
    assert "access_token" not in hit("missing_fields").json()
    assert hit('field:expires_in="3600"').json()["expires_in"] == "3600"
    assert hit("field:expires_in=-5").json()["expires_in"] == -5
    assert "token_type" not in hit("field:token_type=null").json()
    assert hit("deny").status_code == 403


def test_field_faults_reach_nested_and_redirect_answers(srv: ProviderServer, http: httpx.Client) -> None:
    url = f"{srv.base_url('amino')}/api/auth/v1/access_tokens"
    srv.inject("amino", "api/auth/v1/access_tokens", "field:expires_at_timestamp=1")
    assert (
        http.post(url, json=srv.users["amino"]).json()["data"][0]["attributes"]["expires_at_timestamp"] == 1
    )
    srv.inject("amino", "api/auth/v1/access_tokens", "missing_fields")
    assert "access_token" not in http.post(url, json=srv.users["amino"]).json()["data"][0]["attributes"]
    srv.inject("attentive", "oauth-install", 'field:state="forged"')
    assert attentive_code(http, srv)["state"] == "forged"
    srv.inject("attentive", "oauth-install", "missing_fields")
    assert "code" not in attentive_code(http, srv)


def test_delay_fault(srv: ProviderServer, http: httpx.Client) -> None:
    srv.inject("senseye", "whoami", "delay:0.3")
    began = time.monotonic()
    assert http.get(f"{srv.base_url('senseye')}/whoami").status_code == 401
    assert time.monotonic() - began >= 0.3


def test_bad_faults_and_endpoints_fail_at_once(srv: ProviderServer) -> None:
    for fault in ("explode", "field:x", "field:x=not json", "big_body:0", {"status": 42}, {"stat": 500}):
        with pytest.raises(ValueError):  # noqa: PT011 - the message varies by fault
            srv.inject("senseye", "oauth/token", fault)
    with pytest.raises(ValueError, match="no endpoint"):
        srv.count("senseye", "oauth/tokn")
    with pytest.raises(ValueError, match="times"):
        srv.inject("senseye", "oauth/token", "reset", times=0)
