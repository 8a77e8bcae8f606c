"""The pure rules behind issue 11: scopes, offline access, RFC 9207, RFC 7009, ID tokens."""

from __future__ import annotations

import contextlib
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm

from trayauth.cli.wording import line as cli_line
from trayauth.domain.errors import LoginCancelled, ProviderError, UsageError
from trayauth.protocol.idtoken import UnknownKey, key_set, verify_id_token
from trayauth.protocol.metadata import parse_metadata
from trayauth.protocol.oauth import choose_scopes, offline_params, parse_callback
from trayauth.protocol.revocation import Revocation, RevocationResult, answer_ok, revocation_forms

ISS = "https://idp.example"
NOW = 1_900_000_000.0


def test_default_scopes_lose_what_the_server_does_not_list_but_typed_scopes_stay() -> None:
    dot = ("openid", "read", "write")  # django-oauth-toolkit: no offline_access
    assert choose_scopes(None, "openid offline_access", dot) == ("openid",)
    assert choose_scopes("", "openid offline_access", None) == ("openid", "offline_access")
    assert choose_scopes("openid offline_access", "x", dot) == ("openid", "offline_access")


def test_offline_access_brings_prompt_consent_unless_the_preset_says_otherwise() -> None:
    assert offline_params(("openid", "offline_access"), {}, offline_consent=True) == {"prompt": "consent"}
    assert offline_params(("openid",), {}, offline_consent=True) == {}
    assert offline_params(("offline_access",), {}, offline_consent=False) == {}
    assert offline_params(("offline_access",), {"prompt": "login"}, offline_consent=True) == {
        "prompt": "login"
    }


def test_rfc9207_iss_is_checked_and_required_where_promised() -> None:
    base = "http://127.0.0.1:5/cb?code=c&state=s"
    assert parse_callback(f"{base}&iss={ISS}", state="s", account="a", issuer=ISS, iss_required=True) == "c"
    with pytest.raises(ProviderError, match="lacks the issuer"):
        parse_callback(base, state="s", account="a", issuer=ISS, iss_required=True)
    assert parse_callback(base, state="s", account="a", issuer=ISS) == "c", "not promised: not required"
    with pytest.raises(ProviderError, match="another issuer"):
        parse_callback(f"{base}&iss=https://evil.example", state="s", account="a", issuer=ISS)


def test_invalid_scope_in_the_redirect_names_the_scopes_setting() -> None:
    with pytest.raises(UsageError) as caught:
        parse_callback("http://h/cb?state=s&error=invalid_scope", state="s", account="a")
    assert "scopes" in cli_line(caught.value)
    with pytest.raises(LoginCancelled):
        parse_callback("http://h/cb?state=s&error=access_denied", state="s", account="a")


def test_revocation_sends_the_refresh_token_first() -> None:
    forms = revocation_forms("r", "a")
    assert [f["token_type_hint"] for f in forms] == ["refresh_token", "access_token"]
    assert revocation_forms(None, "a") == [{"token": "a", "token_type_hint": "access_token"}]
    assert revocation_forms("r", "a", include_access=False) == [
        {"token": "r", "token_type_hint": "refresh_token"}
    ]
    assert answer_ok(200, None, "refresh_token")
    assert answer_ok(400, "unsupported_token_type", "access_token")
    assert not answer_ok(400, "unsupported_token_type", "refresh_token")
    assert not answer_ok(401, "invalid_client", "access_token")


def test_revocation_sentences_say_what_happened() -> None:
    assert RevocationResult(Revocation.CONFIRMED).sentence.startswith("signed out at the provider")
    assert RevocationResult(Revocation.UNREACHABLE).sentence == (
        "the provider could not be reached: the local tokens are deleted; "
        "the session ends when its refresh token expires"
    )
    assert "Amino" in RevocationResult(Revocation.NOT_OFFERED, "Amino has nothing").sentence


def test_metadata_reads_what_trayauth_acts_on() -> None:
    meta = parse_metadata(
        {
            "revocation_endpoint": "https://x/revoke",
            "scopes_supported": ["openid", 5],
            "authorization_response_iss_parameter_supported": "true",
        }
    )
    assert meta.revocation_endpoint == "https://x/revoke" and meta.scopes_supported == ("openid",)
    assert meta.iss_parameter_supported is False, "only the JSON true counts"
    assert parse_metadata({}).scopes_supported is None


# ---- ID tokens -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwks_of(key: ec.EllipticCurvePrivateKey, kid: str = "k1") -> jwt.PyJWKSet:
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return key_set({"keys": [{**jwk, "kid": kid, "alg": "ES256", "use": "sig"}]}, account="a")


def id_token(key: Any, kid: str = "k1", alg: str = "ES256", **over: Any) -> str:
    claims = {"iss": ISS, "sub": "u", "aud": "app", "iat": int(NOW), "exp": int(NOW + 600), "nonce": "n"}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def verify(token: str, keys: jwt.PyJWKSet, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"issuer": ISS, "client_id": "app", "nonce": "n", "now": NOW, "account": "a"}
    args.update(kw)
    return verify_id_token(token, keys, **args)


def test_a_good_id_token_verifies(key: ec.EllipticCurvePrivateKey) -> None:
    assert verify(id_token(key), jwks_of(key))["sub"] == "u"
    assert verify(id_token(key, iss="accounts.example"), jwks_of(key), aliases=("accounts.example",))


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"aud": "other"}, "another client"),
        ({"iss": "https://evil.example"}, "issued by"),
        ({"nonce": "other"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(NOW - 3600)}, "expired"),
        ({"aud": ["app", "other"]}, "azp"),
    ],
)
def test_a_wrong_id_token_is_refused(
    key: ec.EllipticCurvePrivateKey, over: dict[str, Any], match: str
) -> None:
    with pytest.raises(ProviderError, match=match):
        verify(id_token(key, **over), jwks_of(key))


def test_id_tokens_from_other_keys_or_algorithms_are_refused(key: ec.EllipticCurvePrivateKey) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ProviderError, match="does not verify"):
        verify(id_token(other), jwks_of(key))
    with pytest.raises(UnknownKey):
        verify(id_token(key, kid="rotated"), jwks_of(key))
    with pytest.raises(ProviderError, match="not a public key"):
        verify(id_token("k" * 32, alg="HS256"), jwks_of(key))
    unsigned = jwt.encode({"iss": ISS, "aud": "app"}, None, algorithm="none")
    with pytest.raises(ProviderError, match="not a public key"):
        verify(unsigned, jwks_of(key))


def test_an_hmac_id_token_verifies_with_the_client_secret_only(key: ec.EllipticCurvePrivateKey) -> None:
    """OIDC Core §10.1: HS256 ID tokens (django-oauth-toolkit's HS256 applications) are keyed
    with the client secret; a public client, having none, cannot accept one."""
    secret = "s" * 40
    token = id_token(secret, alg="HS256")
    assert verify(token, None, client_secret=secret)["sub"] == "u"
    with pytest.raises(ProviderError, match="does not verify"):
        verify(token, None, client_secret="t" * 40)
    with pytest.raises(ProviderError, match="not a public key"):
        verify(token, jwks_of(key))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.sampled_from(["keys", "kty", "crv", "x", "y", "kid", "alg"]), json_values))
def test_a_hostile_jwks_is_only_ever_a_provider_error(document: dict[str, Any]) -> None:
    with contextlib.suppress(ProviderError):
        key_set(document, account="a")


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.text(max_size=50), json_values))
def test_any_metadata_document_parses(document: dict[str, Any]) -> None:
    meta = parse_metadata(document)
    assert meta.scopes_supported is None or all(isinstance(s, str) for s in meta.scopes_supported)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=200) | st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(), st.text(), st.text()))
def test_a_hostile_id_token_is_only_ever_a_provider_error(token: str) -> None:
    keys = jwks_of(ec.generate_private_key(ec.SECP256R1()))
    with contextlib.suppress(ProviderError):
        verify(token, keys, client_secret="s" * 40)
