"""The stdlib JWT reader in domain.tokens against PyJWT's unverified decode, token for token.

``jwt_parts`` replaced ``jwt.get_unverified_header`` + ``jwt.decode(verify_signature=False)`` to
keep PyJWT (and cryptography's key algorithms) out of the long-running tray. These tests feed the
same tokens, well-formed and malformed, to both and require the same answer: refused by both, or
accepted by both with the same header and claims. The one place they differ on purpose (a string
that cannot be UTF-8, where PyJWT raised instead of refusing) has its own test.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trayauth.domain.model import TokenSet
from trayauth.domain.tokens import inspect_token, jwt_parts, token_expiry


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def obj(value: Any) -> str:
    return b64(json.dumps(value).encode())


def pyjwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """What domain.tokens did before: PyJWT's unverified header and claims, None when refused."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return dict(header), claims


def payload(data: bytes) -> str:
    """A token whose claims segment is exactly ``data``."""
    return ".".join((HEADER, b64(data), SIG))


def same(a: object, b: object) -> bool:
    """Equal as JSON (NaN claims compare equal to themselves here)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


HS = "k" * 64
HEADER = obj({"alg": "HS256", "typ": "JWT"})
CLAIMS = obj({"sub": "u1", "exp": 1_700_000_600, "scope": "read write"})
SIG = b64(b"\x01" * 32)

GOOD = [
    jwt.encode({"sub": "u1", "exp": 1_700_000_600}, HS, algorithm="HS256"),
    jwt.encode(
        {"iat": 1, "nbf": 2, "exp": 3, "aud": ["a", "b"]}, HS, algorithm="HS256", headers={"kid": "k1"}
    ),
    jwt.encode({"exp": "not a number", "iat": None, "sub": 7}, HS, algorithm="HS256"),  # claims not judged
    jwt.encode({"name": "Zoë ✓", "nested": {"a": [1, 2.5, True, None]}}, HS, algorithm="HS512"),
    jwt.encode({}, HS, algorithm="HS256"),
    f"{HEADER}.{CLAIMS}.{SIG}",
    f"{HEADER}.{CLAIMS}.",  # no signature at all (alg none): readable
    f"{obj({'alg': 'none'})}.{CLAIMS}.",
    f"{obj({})}.{obj({})}.",
    f"{obj({'alg': 'RS256', 'crit': ['b64'], 'b64': True})}.{CLAIMS}.{SIG}",
    f"{obj({'alg': 'HS256', 'kid': ''})}.{CLAIMS}.{SIG}",
    f"{HEADER}.{CLAIMS}.{base64.urlsafe_b64encode(b'xy').decode()}",  # padded signature ("eHk=")
    f"{base64.urlsafe_b64encode(b'{}').decode()}.{CLAIMS}.{SIG}",  # padded header ("e30=")
    payload(b'{"exp": NaN, "x": Infinity}'),
    payload(b'{"a": 1, "a": 2}'),  # duplicate key: the last wins in both
    payload(json.dumps({"s": "é"}).encode("utf-16")),  # JSON in UTF-16 (BOM)
    payload(b'\xef\xbb\xbf{"a": 1}'),  # UTF-8 with a BOM
    payload(b' {"a": 1} '),
]

BAD = [
    "",
    "opaque-token",
    "a.b",
    "a.b.c.d",
    "..",
    f"{HEADER}.{CLAIMS}",
    f"{HEADER}.{CLAIMS}.{SIG}.{SIG}",
    f".{CLAIMS}.{SIG}",  # empty header
    f"{HEADER}..{SIG}",  # empty payload
    f"{HEADER}.{CLAIMS}.{SIG}!",  # not base64url
    f"{HEADER}.{CLAIMS}.{SIG[:-1]}+",  # base64, not base64url
    f"{HEADER}.{CLAIMS}.a/b",
    f"{HEADER[:-1]}*.{CLAIMS}.{SIG}",
    f"{HEADER}.{CLAIMS} .{SIG}",  # a space
    f"{HEADER}.{CLAIMS}.{SIG}\n",
    f"{HEADER}.{CLAIMS}.é",  # not ASCII
    f"{HEADER}.{CLAIMS}.abcde",  # length 1 mod 4: no such encoding
    f"{HEADER}.{CLAIMS}.eHk===",  # three padding characters
    f"{HEADER}.{CLAIMS}.eHk==",  # padded to a length that is not a multiple of 4
    f"{HEADER}.{CLAIMS}.eHl",  # bits left over a canonical encoder would not write ("eHk")
    f"{HEADER}.{CLAIMS}.=",
    f"{b64(b'not json')}.{CLAIMS}.{SIG}",
    payload(b"not json"),
    f"{obj(['alg', 'HS256'])}.{CLAIMS}.{SIG}",  # header not an object
    f"{HEADER}.{obj(['exp', 1])}.{SIG}",  # claims not an object
    f"{HEADER}.{obj('claims')}.{SIG}",
    f"{HEADER}.{obj(12)}.{SIG}",
    f"{HEADER}.{obj(None)}.{SIG}",
    payload(b"\xff\xfe\xfa"),  # not text
    payload(b'{"a": "\xff"}'),  # not UTF-8
    payload(b"[" * 100_000 + b"]" * 100_000),  # too deep
    payload(b'{"n": ' + b"9" * 5000 + b"}"),  # over the integer digit limit
    f"{obj({'alg': 'HS256', 'kid': 7})}.{CLAIMS}.{SIG}",  # kid not a string
    f"{obj({'alg': 'HS256', 'kid': None})}.{CLAIMS}.{SIG}",
    f"{obj({'alg': 'HS256', 'crit': []})}.{CLAIMS}.{SIG}",
    f"{obj({'alg': 'HS256', 'crit': 'b64'})}.{CLAIMS}.{SIG}",
    f"{obj({'alg': 'HS256', 'crit': ['exp']})}.{CLAIMS}.{SIG}",  # an extension it does not know
    f"{obj({'alg': 'HS256', 'crit': ['b64', 1]})}.{CLAIMS}.{SIG}",
    f"{obj({'alg': 'HS256', 'b64': False, 'crit': ['b64']})}.{CLAIMS}.{SIG}",  # unencoded payload
    f"{obj({'alg': 'HS256', 'b64': False, 'crit': ['b64']})}..{SIG}",  # detached: no claims
    f"{obj({'alg': 'HS256', 'b64': False})}..{SIG}",
]


@pytest.mark.parametrize("token", GOOD)
def test_well_formed_tokens_read_as_pyjwt_reads_them(token: str) -> None:
    theirs = pyjwt_parts(token)
    assert theirs is not None, "the corpus's good token is not one PyJWT reads"
    ours = jwt_parts(token)
    assert ours is not None and same(ours, theirs)


@pytest.mark.parametrize("token", BAD)
def test_malformed_tokens_are_refused_as_pyjwt_refuses_them(token: str) -> None:
    assert pyjwt_parts(token) is None, "the corpus's bad token is one PyJWT reads"
    assert jwt_parts(token) is None


def test_the_claims_of_a_b64_true_header_are_read_and_a_false_b64_never_is() -> None:
    claims = {"exp": 1_700_000_600}
    kept = f"{obj({'alg': 'HS256', 'b64': True})}.{obj(claims)}.{SIG}"
    assert jwt_parts(kept) == ({"alg": "HS256", "b64": True}, claims)
    assert token_expiry(kept) == 1_700_000_600
    dropped = f"{obj({'alg': 'HS256', 'b64': 0})}.{obj(claims)}.{SIG}"  # 0 is not False to either
    assert pyjwt_parts(dropped) is not None and jwt_parts(dropped) is not None


def test_a_string_that_is_not_unicode_text_is_refused_where_pyjwt_raised() -> None:
    """A lone surrogate (JSON can carry one: "\\ud800") cannot be UTF-8: PyJWT let
    UnicodeEncodeError out of the old reader; the new one says "not a JWT" like any other junk."""
    token = f"{HEADER}.{CLAIMS}.\ud800"
    with pytest.raises(UnicodeEncodeError):
        jwt.get_unverified_header(token)
    assert jwt_parts(token) is None
    assert token_expiry(token) is None
    assert inspect_token(TokenSet(access_token=token)).kind == "opaque"


def mutants(seed: int, count: int) -> list[str]:
    """Good tokens with one character replaced, inserted or removed: mostly near-misses."""
    rng = random.Random(seed)
    alphabet = "ABCxyz019-_+/=.!é \t"
    out = []
    for _ in range(count):
        token = rng.choice(GOOD)
        i = rng.randrange(len(token) + 1)
        op = rng.randrange(3)
        if op == 0 and i < len(token):
            token = token[:i] + rng.choice(alphabet) + token[i + 1 :]
        elif op == 1:
            token = token[:i] + rng.choice(alphabet) + token[i:]
        else:
            token = token[:i] + token[i + 1 :]
        out.append(token)
    return out


def test_thousands_of_near_miss_tokens_get_the_same_answer_from_both() -> None:
    differ = [t for t in mutants(20261202, 4000) if not same(jwt_parts(t), pyjwt_parts(t))]
    assert differ == []


segment = st.one_of(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ", max_size=12),
    st.builds(b64, st.binary(max_size=12)),
    st.builds(
        obj,
        st.dictionaries(
            st.sampled_from(["alg", "kid", "crit", "b64", "exp", "sub"]),
            st.one_of(
                st.none(), st.booleans(), st.integers(), st.text(max_size=4), st.lists(st.text(max_size=4))
            ),
            max_size=3,
        ),
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(segment, min_size=1, max_size=4))
def test_random_segments_get_the_same_answer_from_both(parts: list[str]) -> None:
    token = ".".join(parts)
    assert same(jwt_parts(token), pyjwt_parts(token))
