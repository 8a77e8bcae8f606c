"""OAuth protocol functions, without a network: URLs, PKCE, the redirect, token answers, errors."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trayauth.cli.wording import line as cli_line
from trayauth.cli.wording import step_of as cli_step
from trayauth.domain.errors import (
    CredentialsRejected,
    LoginCancelled,
    ProviderError,
    TrayauthError,
    UsageError,
)
from trayauth.flows.device_code import parse_device_authorization
from trayauth.flows.discovery import well_known_urls
from trayauth.net.http import HttpResponse
from trayauth.protocol import oauth
from trayauth.protocol.pkce import new_pkce

STATE = "s" * 43
TOKEN_URL = "https://auth.example.com/token"


def response(status: int, body: Any, url: str = TOKEN_URL) -> HttpResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, content, url)


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# ---- parameters ------------------------------------------------------------------------------


def test_split_scopes_spaces_commas_and_duplicates() -> None:
    assert oauth.split_scopes("openid  profile,email openid") == ("openid", "profile", "email")
    assert oauth.split_scopes("") == ()
    assert oauth.split_scopes(None) == ()


def test_state_and_pkce_are_fresh_and_well_formed() -> None:
    states = {oauth.new_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(s) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", s) for s in states)
    first, second = new_pkce(), new_pkce()
    assert first.verifier != second.verifier
    for pkce in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", pkce.verifier), "RFC 7636 §4.1 verifier"
        digest = hashlib.sha256(pkce.verifier.encode()).digest()
        assert pkce.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        assert pkce.method == "S256"


def test_authorization_url_has_every_parameter() -> None:
    url = oauth.authorization_url(
        "https://auth.example.com/authorize",
        client_id="app",
        redirect_uri="http://127.0.0.1:5000/callback",
        scopes=("openid", "offline_access"),
        state=STATE,
        code_challenge="c" * 43,
    )
    assert url.startswith("https://auth.example.com/authorize?")
    assert "scope=openid%20offline_access" in url, "spaces encoded as %20"
    assert query(url) == {
        "response_type": ["code"],
        "client_id": ["app"],
        "redirect_uri": ["http://127.0.0.1:5000/callback"],
        "scope": ["openid offline_access"],
        "state": [STATE],
        "code_challenge": ["c" * 43],
        "code_challenge_method": ["S256"],
    }


def test_authorization_url_keeps_existing_query_but_ours_win() -> None:
    url = oauth.authorization_url(
        "https://ui.example.com/install?app=42&state=evil&client_id=other#frag",
        client_id="app",
        redirect_uri="http://127.0.0.1:1/callback",
        scopes=(),
        state=STATE,
        extra={"prompt": "consent", "state": "also-evil", "redirect_uri": "https://evil.example"},
    )
    got = query(url)
    assert got["app"] == ["42"]
    assert got["prompt"] == ["consent"]
    assert got["state"] == [STATE]
    assert got["client_id"] == ["app"]
    assert got["redirect_uri"] == ["http://127.0.0.1:1/callback"]
    assert "scope" not in got and "code_challenge" not in got, "no PKCE without a challenge"
    assert "#" not in url, "RFC 6749 §3.1: no fragment"


def test_well_known_urls_oidc_then_rfc8414() -> None:
    assert well_known_urls("https://id.example.com/") == [
        "https://id.example.com/.well-known/openid-configuration",
        "https://id.example.com/.well-known/oauth-authorization-server",
    ]
    assert well_known_urls("https://id.example.com/tenant") == [
        "https://id.example.com/tenant/.well-known/openid-configuration",
        "https://id.example.com/.well-known/oauth-authorization-server/tenant",
    ]


# ---- the redirect ----------------------------------------------------------------------------


def redirect(**params: str) -> str:
    return "http://127.0.0.1:5000/callback?" + urlencode(params)


def parse(url: str, **kw: Any) -> str:
    return oauth.parse_callback(url, state=STATE, account="work", **kw)


def test_callback_with_matching_state_gives_the_code() -> None:
    assert parse(redirect(code="abc", state=STATE)) == "abc"
    assert parse(f"?code=abc&state={STATE}") == "abc", "a pasted query alone"
    assert parse(f"code=abc&state={STATE}") == "abc"
    assert parse(redirect(code="abc", state=STATE) + "#_=_") == "abc"


@pytest.mark.parametrize(
    "url",
    [
        redirect(code="abc", state="wrong"),
        redirect(code="abc"),
        redirect(code="abc", state=STATE) + "&state=" + STATE,
        redirect(error="access_denied"),  # an error without our state could be anyone's
        "http://127.0.0.1:5000/callback",
        "not a url",
        "",
    ],
)
def test_callback_without_exactly_our_state_is_not_ours(url: str) -> None:
    with pytest.raises(oauth.StateMismatch) as info:
        parse(url)
    assert "work" in info.value.message and "abc" not in cli_line(info.value)


def test_access_denied_is_a_cancellation_with_the_reason() -> None:
    with pytest.raises(LoginCancelled) as info:
        parse(redirect(error="access_denied", error_description="the user\nsaid no", state=STATE))
    assert info.value.message == "work: sign-in was refused in the browser (access_denied: the user said no)"


def test_other_errors_and_missing_code_are_the_providers() -> None:
    with pytest.raises(ProviderError, match="server_error"):
        parse(redirect(error="server_error", state=STATE))
    with pytest.raises(ProviderError, match="no authorization code"):
        parse(redirect(state=STATE))
    with pytest.raises(ProviderError, match="no authorization code"):
        parse(redirect(code="", state=STATE))
    with pytest.raises(ProviderError, match="no authorization code"):
        parse(redirect(code="a", state=STATE) + "&code=b")


def test_iss_parameter_must_name_our_issuer() -> None:
    issuer = "https://id.example.com"
    assert parse(redirect(code="c", state=STATE, iss=issuer + "/"), issuer=issuer) == "c"
    assert parse(redirect(code="c", state=STATE), issuer=issuer) == "c", "iss is optional"
    with pytest.raises(ProviderError, match="another issuer"):
        parse(redirect(code="c", state=STATE, iss="https://evil.example"), issuer=issuer)


@given(st.text(max_size=300))
def test_callback_parser_raises_only_its_own_errors(text: str) -> None:
    with contextlib.suppress(TrayauthError):
        oauth.parse_callback(text, state=STATE, account="work")


TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
MEANINGFUL = {"state", "code", "error", "error_description", "iss"}


@given(TEXT, TEXT.filter(lambda k: k not in MEANINGFUL), TEXT)
def test_callback_with_our_state_returns_exactly_the_code(code: str, key: str, value: str) -> None:
    url = redirect(state=STATE, code=code, **{key: value})
    if code:
        assert oauth.parse_callback(url, state=STATE, account="work") == code
    else:
        with pytest.raises(ProviderError):
            oauth.parse_callback(url, state=STATE, account="work")


@given(TEXT.filter(bool))
def test_any_state_round_trips_and_compares_in_constant_time(state: str) -> None:
    url = "http://127.0.0.1:1/callback?" + urlencode({"code": "x", "state": state})
    assert oauth.parse_callback(url, state=state, account="a") == "x"
    with pytest.raises(oauth.StateMismatch):
        oauth.parse_callback(url, state=state + "!", account="a")


# ---- client authentication -------------------------------------------------------------------


def test_client_auth_post_basic_and_public() -> None:
    form = {"grant_type": "refresh_token"}
    body, headers = oauth.ClientAuth("app", "s3cret", oauth.POST).apply(form)
    assert body == {**form, "client_id": "app", "client_secret": "s3cret"} and headers == {}
    body, headers = oauth.ClientAuth("my app", "p@ss:word", oauth.BASIC).apply(form)
    assert body == form
    decoded = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
    assert decoded == "my+app:p%40ss%3Aword", "RFC 6749 §2.3.1: form-encoded before base64"
    body, headers = oauth.ClientAuth("public").apply(form)
    assert body == {**form, "client_id": "public"} and headers == {}
    assert form == {"grant_type": "refresh_token"}, "the caller's form is not changed"


def test_auth_method_choice() -> None:
    assert oauth.auth_method("auto", ()) == oauth.POST
    assert oauth.auth_method(None, ["client_secret_basic", "client_secret_post"]) == oauth.BASIC
    assert oauth.auth_method("auto", ["client_secret_post"]) == oauth.POST
    assert oauth.auth_method(oauth.POST, [oauth.BASIC]) == oauth.POST
    with pytest.raises(UsageError):
        oauth.auth_method("private_key_jwt", ())


# ---- token answers and errors ----------------------------------------------------------------


def tokens_of(body: Any, status: int = 200, **kw: Any) -> Any:
    kw.setdefault("grant", "authorization_code")
    return oauth.parse_token_response(response(status, body), account="work", now=1000.0, **kw)


def test_token_response_with_expires_in_scope_and_extras() -> None:
    got = tokens_of(
        {
            "access_token": "AT",
            "refresh_token": "RT",
            "id_token": "ID.TOKEN.X",
            "token_type": "bearer",
            "expires_in": "3600",
            "scope": "openid api",
            "user_id": 7,
            "device_secret": "hush",
            "nested": {"a": 1},
        }
    )
    assert (got.access_token, got.refresh_token, got.expires_at) == ("AT", "RT", 4600.0)
    assert got.obtained_at == 1000.0
    assert got.token_type == "Bearer"
    assert got.scopes == ("openid", "api")
    assert got.extra == {"user_id": 7}, "no id_token, secrets, tokens, or nested objects in extra"


def test_token_response_expiry_from_jwt_else_none_and_scope_fallback() -> None:
    access = jwt.encode({"exp": 5000, "sub": "x"}, "k" * 32, algorithm="HS256")
    got = tokens_of({"access_token": access}, requested_scopes=("api",))
    assert got.expires_at == 5000.0
    assert got.scopes == ("api",)
    assert got.refresh_token is None
    never = tokens_of({"access_token": "opaque", "token_type": "Bearer"})
    assert never.expires_at is None, "Attentive's tokens never expire"


def test_token_response_without_access_token_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="without an access token"):
        tokens_of({"token_type": "Bearer"})
    with pytest.raises(ProviderError, match="not JSON"):
        tokens_of(b"<html>oops</html>")


def test_a_200_carrying_an_error_is_an_error() -> None:
    with pytest.raises(ProviderError, match="bad_verification_code"):
        tokens_of({"error": "bad_verification_code", "error_description": "expired"})
    with pytest.raises(CredentialsRejected):
        tokens_of({"error": "invalid_grant"})


@pytest.mark.parametrize(
    ("grant", "wanted"),
    [
        ("refresh_token", "the refresh token was rejected"),
        ("authorization_code", "the authorization code was rejected"),
        ("password", "the username or password was rejected"),
        (oauth.DEVICE_GRANT, "the device code was rejected"),
    ],
)
def test_invalid_grant_names_what_was_rejected(grant: str, wanted: str) -> None:
    body = {"error": "invalid_grant", "error_description": "token RT-123456 reused"}
    err = oauth.token_error(response(400, body), account="work", grant=grant, secrets=["RT-123456"])
    assert isinstance(err, CredentialsRejected)
    assert err.message.startswith(f"work: {wanted} (")
    assert "invalid_grant" in err.message
    assert cli_step(err) == "run 'trayauth login work'"
    assert "RT-123456" not in cli_line(err), "secrets are redacted"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "invalid_client"}),
        (400, {"error": "unauthorized_client"}),
        (401, b""),
    ],
)
def test_client_errors_are_about_the_client(status: int, body: Any) -> None:
    err = oauth.token_error(response(status, body), account="work", grant="client_credentials")
    assert isinstance(err, CredentialsRejected)
    assert "client id or client secret" in err.message


def test_scope_and_other_errors() -> None:
    err = oauth.token_error(response(400, {"error": "invalid_scope"}), account="work", grant="password")
    assert isinstance(err, UsageError) and "scopes" in cli_line(err)
    err = oauth.token_error(
        response(500, {"error": "server_error", "error_description": "boom"}), account="w", grant="password"
    )
    assert type(err) is ProviderError and "server_error: boom" in err.message
    err = oauth.token_error(response(400, {"error": "unsupported_grant_type"}), account="w", grant="password")
    assert type(err) is ProviderError


# ---- device authorization --------------------------------------------------------------------


def test_device_authorization_answer() -> None:
    doc = {
        "device_code": "DC",
        "user_code": "ABCD-EFGH",
        "verification_url": "https://id.example.com/device",
        "expires_in": "600",
    }
    got = parse_device_authorization(doc, now=100.0, account="w")
    assert (got.device_code, got.user_code, got.verification_uri) == (
        "DC",
        "ABCD-EFGH",
        doc["verification_url"],
    )
    assert got.interval == 5.0, "RFC 8628 §3.2: 5 s when absent"
    assert got.expires_at == 700.0
    assert got.verification_uri_complete is None
    with pytest.raises(ProviderError):
        parse_device_authorization({**doc, "user_code": ""}, now=0, account="w")
    with pytest.raises(ProviderError):
        parse_device_authorization({**doc, "expires_in": "soon"}, now=0, account="w")
    with pytest.raises(TrayauthError):
        parse_device_authorization(
            {**doc, "verification_url": "http://evil.example/device"}, now=0, account="w"
        )
