"""Expiry parsing and token inspection at the edges a provider's answer can reach.

What a user relies on here: a timestamp in any of the forms vendors send is read to the exact
second (milliseconds, "Z" or "z", a naive time meaning UTC, numeric strings); a malformed one is
refused naming the field; `trayauth inspect` shows the right kind, scopes, subject and times.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import jwt
import pytest

from trayauth.domain.errors import ProviderError
from trayauth.domain.model import State, TokenSet
from trayauth.domain.tokens import (
    assume_expiry,
    expiry_from_fields,
    inspect_token,
    parse_timestamp,
    paseto_public_claims,
    state_of,
)

T0 = 1_700_000_000.0
ISO = 1554211342.508  # 2019-04-02T13:22:22.508Z


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local time zone far from UTC, so "naive means UTC" is a real difference."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ---- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2019-04-02T13:22:22.508Z", ISO),
        ("2019-04-02T13:22:22.508z", ISO),
        ("2019-04-02T15:22:22.508+02:00", ISO),
        ("2019-04-02T13:22:22.508", ISO),  # naive: UTC, not the machine's local time
        ("1700000000", T0),
        ("1700000000.5", T0 + 0.5),
        (" 1700000000 ", T0),
        ("-5", -5.0),
        ("-5.25", -5.25),
        (1700000000, T0),
        (1700000000500, T0 + 0.5),  # milliseconds
        ("1700000000500", T0 + 0.5),
        (100_000_000_000, 100_000_000_000.0),  # the boundary itself is still seconds
        (100_000_000_001, 100_000_000.001),  # one above it is milliseconds
    ],
)
def test_timestamps_in_every_form_vendors_send(away_from_utc: None, value: object, seconds: float) -> None:
    assert parse_timestamp(value) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"expires_in": "soon"}, "the provider sent expires_in that is not a number"),
        ({"expires_in": True}, "the provider sent expires_in as a boolean"),
        ({"expires_in": [60]}, "the provider sent expires_in of an unexpected type"),
        ({"expires_in": float("nan")}, "the provider sent expires_in that is not finite"),
        ({"expires_in": 10**400}, "the provider sent expires_in that is out of range"),
        ({"expires_at": "next tuesday"}, "the provider sent expires_at that is not a date"),
        ({"expires_at": "1.2.3"}, "the provider sent expires_at that is not a date"),
        ({"expires_at": "X1700000000"}, "the provider sent expires_at that is not a date"),
        ({"expires_at": True}, "the provider sent expires_at as a boolean"),
        ({"expires_at_timestamp": "never"}, "the provider sent expires_at_timestamp that is not a date"),
        ({"expires_at_timestamp": {"s": 1}}, "the provider sent expires_at_timestamp of an unexpected type"),
    ],
)
def test_a_malformed_expiry_is_refused_naming_the_field(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ProviderError) as info:
        expiry_from_fields(T0, **fields)  # type: ignore[arg-type]
    assert info.value.message == words


def test_parse_timestamp_alone_names_expires_at() -> None:
    with pytest.raises(ProviderError) as info:
        parse_timestamp("garbage")
    assert info.value.message == "the provider sent expires_at that is not a date"


@pytest.mark.parametrize(("moment", "kept"), [(1e10, True), (1e10 + 1, False), (2e10, False)])
def test_an_expiry_beyond_year_2286_means_none_known(moment: float, kept: bool) -> None:
    assert expiry_from_fields(T0, expires_at=moment) == (moment if kept else None)
    assert expiry_from_fields(T0, expires_at_timestamp=moment) == (moment if kept else None)


# ---- the assumed lifetime and the expiring window of a zero-lifetime token ----------------------


def test_a_previous_lifetime_of_one_second_is_kept_not_replaced_by_an_hour() -> None:
    previous = TokenSet("old", "r", expires_at=T0 + 1, obtained_at=T0)
    fresh = TokenSet("new", "r", expires_at=None, obtained_at=T0 + 100)
    assert assume_expiry(fresh, previous).expires_at == T0 + 101


def test_a_token_issued_already_at_its_expiry_is_expiring_for_five_minutes_before() -> None:
    tokens = TokenSet("a", expires_at=T0, obtained_at=T0)
    assert state_of(tokens, T0 - 299) is State.EXPIRING
    assert state_of(tokens, T0 - 301) is State.VALID


# ---- inspect -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _paseto(claims: object, footer: bytes | None = None) -> str:
    token = "v4.public." + _b64(json.dumps(claims).encode() + b"\0" * 64)
    return token if footer is None else f"{token}.{_b64(footer)}"


def test_inspect_an_opaque_token() -> None:
    info = inspect_token(TokenSet("opaque-token-value", expires_at=T0 + 60, obtained_at=T0))
    assert (info.kind, info.header, info.claims) == ("opaque", {}, {})
    assert (info.issued_at, info.expires_at, info.not_before, info.subject, info.scopes) == (
        T0,
        T0 + 60,
        None,
        None,
        (),
    )


def test_inspect_a_token_obtained_at_zero_has_no_issue_time() -> None:
    assert inspect_token(TokenSet("opaque", obtained_at=0.0)).issued_at is None


def test_inspect_a_paseto_public_token_reads_its_claims_and_footer() -> None:
    claims = {"sub": 42, "iat": T0 - 10, "nbf": T0 - 5, "exp": T0 + 600, "scp": ["read", 7]}
    info = inspect_token(TokenSet(_paseto(claims, b'{"kid":"k1"}'), expires_at=T0 + 600, obtained_at=T0))
    assert info.kind == "paseto-v4-public"
    assert info.header == {"kid": "k1"}
    assert info.claims == claims
    assert (info.issued_at, info.not_before, info.subject) == (T0 - 10, T0 - 5, "42")
    assert info.scopes == ("read", "7")


def test_inspect_a_paseto_local_token_says_so_without_claims() -> None:
    info = inspect_token(TokenSet("v4.local." + _b64(b"\1" * 80), obtained_at=T0))
    assert (info.kind, info.claims) == ("paseto-v4-local", {})


def test_inspect_takes_scopes_from_the_answer_before_the_claims() -> None:
    token = jwt.encode({"scope": "claim-scope", "scp": "other"}, "k" * 32, algorithm="HS256")
    assert inspect_token(TokenSet(token, scopes=("granted",))).scopes == ("granted",)
    assert inspect_token(TokenSet(token)).scopes == ("claim-scope",)
    only_scp = jwt.encode({"scp": "a b"}, "k" * 32, algorithm="HS256")
    assert inspect_token(TokenSet(only_scp)).scopes == ("a", "b")


def test_inspect_a_jwt_with_times_and_without_subject() -> None:
    token = jwt.encode({"iat": int(T0) - 30, "nbf": int(T0) - 20}, "k" * 32, algorithm="HS256")
    info = inspect_token(TokenSet(token, obtained_at=T0))
    assert (info.kind, info.issued_at, info.not_before, info.subject) == ("jwt", T0 - 30, T0 - 20, None)


def test_a_paseto_footer_that_is_not_utf8_is_shown_with_replacement_characters() -> None:
    parsed = paseto_public_claims(_paseto({"sub": "m"}, footer=b"k\xffid"))
    assert parsed is not None
    assert parsed[0] == {"footer": "k\ufffdid"}
