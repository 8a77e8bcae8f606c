"""The expiry rules at their exact edges, and the PASETO reader's refusals.

The renewal boundary decides whether a script gets a token that dies in flight; the assumed
lifetime decides whether an answer without ``expires_in`` is trusted forever. Each is pinned at
the value, not just "about right".
"""

from __future__ import annotations

import base64
import json

import pytest

from trayauth.domain.model import State, TokenSet
from trayauth.domain.tokens import (
    assume_expiry,
    needs_renewal,
    paseto_public_claims,
    renew_at,
    renewal_margin,
    state_of,
    token_expiry,
)

T0 = 1_700_000_000.0


def lived(seconds: float, refresh: str | None = "r") -> TokenSet:
    return TokenSet("a", refresh, expires_at=T0 + seconds, obtained_at=T0)


@pytest.mark.parametrize(("lifetime", "margin"), [(3600, 60.0), (600, 60.0), (300, 30.0), (120, 12.0)])
def test_renewal_starts_exactly_at_the_margin(lifetime: float, margin: float) -> None:
    tokens = lived(lifetime)
    assert renewal_margin(tokens) == margin
    due = T0 + lifetime - margin
    assert renew_at(tokens) == due
    assert not needs_renewal(tokens, due - 0.001)
    assert needs_renewal(tokens, due)  # at the moment itself: renew, not one tick later
    assert needs_renewal(tokens, due + 0.001)


def test_a_token_without_expiry_never_needs_renewal() -> None:
    tokens = TokenSet("a", expires_at=None, obtained_at=T0)
    assert renew_at(tokens) is None
    assert not needs_renewal(tokens, T0 + 10**9)


def test_a_zero_lifetime_token_is_due_at_once_with_the_full_margin() -> None:
    """A token that arrives already at its expiry: margin 60 s (no lifetime to take 10 % of)."""
    tokens = TokenSet("a", expires_at=T0, obtained_at=T0)
    assert renewal_margin(tokens) == 60.0
    assert needs_renewal(tokens, T0 - 60.0)
    assert state_of(tokens, T0) is State.EXPIRED
    assert state_of(tokens, T0 - 1) is State.EXPIRING


def test_expired_is_from_the_expiry_moment_on() -> None:
    tokens = lived(3600)
    assert state_of(tokens, T0 + 3599.999) is State.EXPIRING
    assert state_of(tokens, T0 + 3600) is State.EXPIRED
    assert state_of(tokens, T0 + 3600, error="renewal failed") is State.EXPIRED
    assert state_of(tokens, T0 + 10, error="renewal failed") is State.ERROR
    assert state_of(None, T0) is State.LOGGED_OUT


@pytest.mark.parametrize(("lifetime", "window"), [(3600, 300.0), (600, 150.0), (120, 30.0)])
def test_expiring_starts_at_five_minutes_or_a_quarter_of_a_short_life(lifetime: float, window: float) -> None:
    tokens = lived(lifetime)
    start = T0 + lifetime - window
    assert state_of(tokens, start - 0.001) is State.VALID
    assert state_of(tokens, start) is State.EXPIRING


def test_an_answer_without_expiry_gets_the_previous_lifetime() -> None:
    previous = TokenSet("old", expires_at=T0 + 900, obtained_at=T0)
    new = TokenSet("new", expires_at=None, obtained_at=T0 + 1000)
    assert assume_expiry(new, previous).expires_at == T0 + 1000 + 900


@pytest.mark.parametrize(
    "previous",
    [None, TokenSet("old", expires_at=None, obtained_at=T0), TokenSet("old", expires_at=T0, obtained_at=T0)],
)
def test_without_a_usable_previous_lifetime_an_hour_is_assumed(previous: TokenSet | None) -> None:
    new = TokenSet("new", expires_at=None, obtained_at=T0 + 50)
    assert assume_expiry(new, previous).expires_at == T0 + 50 + 3600


def test_a_stated_expiry_is_never_replaced_by_an_assumption() -> None:
    new = TokenSet("new", expires_at=T0 + 5, obtained_at=T0)
    assert assume_expiry(new, lived(3600)) is new


# ---- PASETO v4.public --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def paseto(
    claims: object, *, signature: int = 64, footer: bytes | None = None, head: str = "v4.public"
) -> str:
    body = json.dumps(claims).encode() + b"\x00" * signature
    token = f"{head}.{_b64(body)}"
    return token if footer is None else f"{token}.{_b64(footer)}"


def test_paseto_claims_are_read_before_the_64_byte_signature() -> None:
    footer, claims = paseto_public_claims(paseto({"exp": "2030-01-01T00:00:00+00:00", "sub": "m"})) or (
        {},
        {},
    )
    assert claims == {"exp": "2030-01-01T00:00:00+00:00", "sub": "m"}
    assert footer == {}
    assert token_expiry(paseto({"exp": "2030-01-01T00:00:00+00:00"})) == 1893456000.0


def test_a_paseto_footer_is_read_as_json_or_kept_as_text() -> None:
    parsed = paseto_public_claims(paseto({"sub": "m"}, footer=b'{"kid":"k1"}'))
    assert parsed is not None and parsed[0] == {"kid": "k1"}
    parsed = paseto_public_claims(paseto({"sub": "m"}, footer=b"plain-footer"))
    assert parsed is not None and parsed[0] == {"footer": "plain-footer"}
    parsed = paseto_public_claims(paseto({"sub": "m"}, footer=b"[1, 2]"))
    assert parsed is not None and parsed[0] == {"footer": "[1, 2]"}


@pytest.mark.parametrize(
    "token",
    [
        paseto({"sub": "m"}, signature=63),  # too short to hold a signature and a message
        paseto({"sub": "m"}, head="v4.local"),
        paseto({"sub": "m"}, head="v3.public"),
        paseto({"sub": "m"}) + ".Zm9v.extra",  # five parts
        "v4.public",  # two parts
        paseto(["not", "an", "object"]),
    ],
)
def test_what_is_not_a_v4_public_token_has_no_claims(token: str) -> None:
    assert paseto_public_claims(token) is None
    assert token_expiry(token) is None


def test_a_message_of_exactly_the_signature_length_is_empty_and_refused() -> None:
    token = "v4.public." + _b64(b"\x00" * 64)
    assert paseto_public_claims(token) is None
