from __future__ import annotations

import base64
import json
import math

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trayauth.domain.errors import ProviderError
from trayauth.domain.model import State, TokenSet
from trayauth.domain.tokens import (
    expiry_from_fields,
    inspect_token,
    needs_renewal,
    paseto_public_claims,
    renewal_margin,
    state_of,
    token_expiry,
)

NOW = 1_700_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def paseto_public(claims: dict[str, object]) -> str:
    # The signature is not checked when reading claims; 64 bytes stand in for it.
    return "v4.public." + b64(json.dumps(claims).encode() + b"\0" * 64)


def test_expiry_prefers_explicit_timestamp_over_expires_in() -> None:
    got = expiry_from_fields(NOW, expires_in=60, expires_at_timestamp=NOW + 500)
    assert got == NOW + 500


def test_expiry_from_iso_8601_with_milliseconds() -> None:
    assert expiry_from_fields(NOW, expires_at="2019-04-02T13:22:22.508Z") == pytest.approx(1554211342.508)


@pytest.mark.parametrize("value", [3600, "3600", 3600.0, " 3600 "])
def test_expires_in_accepts_numbers_and_numeric_strings(value: object) -> None:
    assert expiry_from_fields(NOW, expires_in=value) == NOW + 3600


@pytest.mark.parametrize("value", [0, -5, "-5"])
def test_zero_or_negative_expires_in_means_expired_now(value: object) -> None:
    assert expiry_from_fields(NOW, expires_in=value) == NOW


@pytest.mark.parametrize("value", ["soon", True, [1], {"a": 1}, "nan", float("inf")])
def test_garbage_expiry_is_a_provider_error(value: object) -> None:
    with pytest.raises(ProviderError):
        expiry_from_fields(NOW, expires_in=value)


def test_absent_expiry_is_none() -> None:
    assert expiry_from_fields(NOW) is None


def test_millisecond_timestamps_are_scaled() -> None:
    assert expiry_from_fields(NOW, expires_at_timestamp=(NOW + 10) * 1000) == NOW + 10


def test_jwt_exp_is_read_without_verification() -> None:
    token = jwt.encode({"exp": int(NOW) + 99, "sub": "me"}, "k" * 32, algorithm="HS256")
    assert token_expiry(token) == NOW + 99


def test_paseto_v4_public_claims_and_expiry() -> None:
    token = paseto_public({"exp": "2030-01-01T00:00:00+00:00", "sub": "machine"})
    _footer, claims = paseto_public_claims(token) or ({}, {})
    assert claims["sub"] == "machine"
    assert token_expiry(token) == pytest.approx(1893456000.0)


def test_paseto_v4_local_is_opaque() -> None:
    tokens = TokenSet("v4.local." + b64(b"x" * 80))
    info = inspect_token(tokens)
    assert info.kind == "paseto-v4-local"
    assert info.claims == {}
    assert token_expiry(tokens.access_token) is None


def test_opaque_token_has_no_expiry() -> None:
    assert token_expiry("e5c3b842284045d98ed042814f31543f") is None


def test_inspect_reports_jwt_claims_and_scopes() -> None:
    token = jwt.encode({"exp": int(NOW) + 60, "scope": "a b", "sub": "u"}, "k" * 32, algorithm="HS256")
    info = inspect_token(TokenSet(token, expires_at=NOW + 60, obtained_at=NOW))
    assert info.kind == "jwt"
    assert info.header["alg"] == "HS256"
    assert info.scopes == ("a", "b")
    assert info.subject == "u"


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [(86400, 60), (3600, 60), (600, 60), (300, 30), (120, 12), (10, 1)],
)
def test_renewal_margin_is_min_of_60s_and_10_percent(lifetime: int, margin: float) -> None:
    tokens = TokenSet("t", expires_at=NOW + lifetime, obtained_at=NOW)
    assert renewal_margin(tokens) == pytest.approx(margin)


@given(
    lifetime=st.floats(min_value=1, max_value=10**7, allow_nan=False),
    elapsed=st.floats(min_value=0, max_value=2 * 10**7, allow_nan=False),
)
def test_renewal_rule_property(lifetime: float, elapsed: float) -> None:
    tokens = TokenSet("t", expires_at=NOW + lifetime, obtained_at=NOW)
    left = lifetime - elapsed
    expected = left < min(60.0, 0.1 * lifetime) or math.isclose(left, min(60.0, 0.1 * lifetime))
    assert needs_renewal(tokens, NOW + elapsed) == expected or math.isclose(
        left, min(60.0, 0.1 * lifetime), abs_tol=1e-6
    )


def test_token_without_expiry_never_needs_renewal() -> None:
    assert not needs_renewal(TokenSet("t"), NOW + 10**9)


def test_states() -> None:
    tokens = TokenSet("t", expires_at=NOW + 3600, obtained_at=NOW)
    assert state_of(None, NOW) == State.LOGGED_OUT
    assert state_of(tokens, NOW) == State.VALID
    assert state_of(tokens, NOW + 3400) == State.EXPIRING
    assert state_of(tokens, NOW + 3600) == State.EXPIRED
    assert state_of(tokens, NOW, error="refresh failed") == State.ERROR


@given(st.text())
def test_token_parsers_never_raise(text: str) -> None:
    token_expiry(text)
    inspect_token(TokenSet(text or "x"))
