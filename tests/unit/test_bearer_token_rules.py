"""The one rule for what may travel in an ``Authorization: Bearer`` header (RFC 6750 b64token).

A token with a space, CR/LF or a terminal escape would be printed raw by ``trayauth header`` and
could add a header of its own to ``curl -H "$(trayauth header X)"``: it is refused at login, and
the reason names the character that cannot be sent.
"""

from __future__ import annotations

import pytest

from trayauth.domain.tokens import bearer_token_problem


@pytest.mark.parametrize(
    "token",
    ["a", "abc.DEF-_~+/09", "abc=", "abc==", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"],
)
def test_a_b64token_may_travel_in_a_header(token: str) -> None:
    assert bearer_token_problem(token) is None


@pytest.mark.parametrize(
    ("token", "bad"),
    [
        ("abc def", " "),
        ("abc\r\nX-Evil: 1", "\r"),
        ("abc\n", "\n"),
        ("\x1b[31mred", "\x1b"),
        ("tok,en", ","),
        ('abc"', '"'),
        ("ab=c", "="),  # padding only at the end
        ("a=b c", " "),  # the character that can never be sent, not the misplaced padding
        ("=abc", "="),
        ("", "="),
    ],
)
def test_anything_else_is_refused_naming_the_character(token: str, bad: str) -> None:
    assert bearer_token_problem(token) == (
        f"it contains {bad!r}, which a bearer token cannot (RFC 6750 allows letters, digits and -._~+/=)"
    )
