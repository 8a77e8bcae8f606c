"""Token revocation (RFC 7009) on the client side, as data: what to send and what came back.

Pure: ``flows/revocation.py`` sends the requests. The order follows RFC 7009 §2.1 and what
servers do: the refresh token first (revoking it ends the grant, and with it, on most servers,
the access tokens issued from it), then the access token; each with ``token_type_hint``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Revocation(enum.StrEnum):
    """What logging out achieved at the provider."""

    CONFIRMED = "confirmed"  # the provider answered 200 to every token sent
    UNREACHABLE = "unreachable"  # no answer: network down, or the logout deadline passed
    REFUSED = "refused"  # the provider answered with an error (e.g. invalid_client)
    NOT_OFFERED = "not_offered"  # the provider has nothing to revoke, or no endpoint is known
    NOTHING_HELD = "nothing_held"  # there were no tokens to revoke


@dataclass(frozen=True, slots=True)
class RevocationResult:
    outcome: Revocation
    # Why, in a few words: the provider's note ("Amino has nothing to revoke") or the failure.
    detail: str = ""

    @property
    def confirmed(self) -> bool:
        return self.outcome is Revocation.CONFIRMED

    @property
    def sentence(self) -> str:
        """What logging out achieved, as a sentence both the CLI and the tray show."""
        lingers = "the local tokens are deleted; the session ends when its refresh token expires"
        if self.outcome is Revocation.CONFIRMED:
            return "signed out at the provider; the local tokens are deleted"
        if self.outcome is Revocation.UNREACHABLE:
            return f"the provider could not be reached: {lingers}"
        if self.outcome is Revocation.REFUSED:
            return f"the provider refused to revoke the session ({self.detail}): {lingers}"
        if self.outcome is Revocation.NOT_OFFERED:
            why = f" ({self.detail})" if self.detail else ""
            return f"the local tokens are deleted; nothing to revoke at the provider{why}"
        return "there were no tokens to delete"


def revocation_forms(
    refresh_token: str | None, access_token: str | None, *, include_access: bool = True
) -> list[dict[str, str]]:
    """The form bodies to POST, in order (client authentication is added by the caller)."""
    forms: list[dict[str, str]] = []
    if refresh_token:
        forms.append({"token": refresh_token, "token_type_hint": "refresh_token"})
    if access_token and include_access:
        forms.append({"token": access_token, "token_type_hint": "access_token"})
    return forms


def answer_ok(status: int, error: str | None, hint: str) -> bool:
    """RFC 7009 §2.2: 200 means revoked (or already invalid). §2.2.1's ``unsupported_token_type``
    for an access token means this server does not revoke those (Auth0): the session itself ended
    with the refresh token, and the access token lapses on its own, so that is no failure."""
    if status == 200:
        return True
    return hint == "access_token" and error == "unsupported_token_type"
