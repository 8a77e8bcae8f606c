"""Server-side memory of what was issued: access tokens, refresh-token families, one-time codes.

Why families: RFC 9700 §4.14 asks a server that rotates refresh tokens to treat a spent one coming
back as theft and revoke the whole grant. The client's renewal must be single-flight precisely
because of this, so the test server has to do it for real: every login starts a family, each
refresh spends the family's live refresh token and mints the next, and a replayed spent token
revokes every access and refresh token of that login.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Family:
    """One login (a grant): the refresh tokens it has used up and the one still live."""

    id: str
    vendor: str
    sub: str
    client_id: str | None = None
    scope: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    refresh: str | None = None
    refresh_expires_at: float | None = None
    spent: set[str] = field(default_factory=set)
    access: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class Issued:
    vendor: str
    sub: str
    expires_at: float | None
    family: Family | None = None
    scope: str = ""
    client_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    revoked: bool = False


class Rejected(Exception):
    """A refresh token or code the server will not honour; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unknown | reused | revoked | expired | used


class TokenBook:
    """Every token the server handed out, and what became of it."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._access: dict[str, Issued] = {}
        self._refresh: dict[str, Family] = {}
        self.refresh_count: Counter[str] = Counter()
        self.revoked_count: Counter[str] = Counter()

    def family(
        self, vendor: str, sub: str, *, client_id: str | None = None, scope: str = "", **extra: Any
    ) -> Family:
        return Family(secrets.token_hex(8), vendor, sub, client_id, scope, dict(extra))

    def record(
        self,
        vendor: str,
        token: str,
        *,
        sub: str,
        expires_at: float | None,
        family: Family | None = None,
        scope: str = "",
        client_id: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> Issued:
        issued = Issued(vendor, sub, expires_at, family, scope, client_id, dict(claims or {}))
        self._access[token] = issued
        if family is not None:
            family.access.add(token)
        return issued

    def rotate(self, family: Family, make: Callable[[], str], lifetime: float | None) -> str:
        """Spend the family's live refresh token (if any) and make the next one."""
        if family.refresh is not None:
            family.spent.add(family.refresh)
        token = make()
        family.refresh = token
        family.refresh_expires_at = None if lifetime is None else self._now() + lifetime
        self._refresh[token] = family
        return token

    def redeem(self, vendor: str, token: str) -> Family:
        """The family a presented refresh token belongs to, if it may be used now.

        A spent token revokes its family (reuse detection); the caller then answers with an error.
        """
        family = self._refresh.get(token)
        if family is None or family.vendor != vendor:
            raise Rejected("unknown")
        if family.revoked:
            raise Rejected("revoked")
        if token != family.refresh:
            self.revoke(family, replay=True)
            raise Rejected("reused")
        if family.refresh_expires_at is not None and self._now() >= family.refresh_expires_at:
            raise Rejected("expired")
        return family

    def renewed(self, vendor: str) -> None:
        self.refresh_count[vendor] += 1

    def revoke(self, family: Family, *, replay: bool = False) -> None:
        """Revoke a whole login; ``replay`` marks it as caught by reuse detection (counted)."""
        if family.revoked:
            return
        family.revoked = True
        for token in family.access:
            self._access[token].revoked = True
        if replay:
            self.revoked_count[family.vendor] += 1

    def revoke_token(self, vendor: str, token: str) -> None:
        """RFC 7009 revocation: a refresh token ends its family, an access token only itself."""
        family = self._refresh.get(token)
        if family is not None and family.vendor == vendor:
            self.revoke(family)
            return
        issued = self._access.get(token)
        if issued is not None and issued.vendor == vendor:
            issued.revoked = True

    def lookup(self, vendor: str, token: str) -> Issued | None:
        """The record of a currently valid access token, or None."""
        issued = self._access.get(token)
        if issued is None or issued.revoked:
            return None
        if issued.vendor != vendor and issued.vendor != "*":
            return None
        if issued.expires_at is not None and self._now() >= issued.expires_at:
            return None
        return issued


@dataclass
class Code:
    value: str
    data: dict[str, Any]
    expires_at: float
    used: bool = False
    family: Family | None = None  # what the code was exchanged for, revoked if it is replayed


class CodeBook:
    """Short-lived single-use codes (authorization codes, Sentiance's login code)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._codes: dict[str, Code] = {}

    def issue(self, ttl: float, *, value: str | None = None, **data: Any) -> str:
        now = self._now()
        # Forget codes long gone so a long demo session does not grow without bound.
        for stale in [c for c in self._codes.values() if c.expires_at < now - 3600]:
            del self._codes[stale.value]
        value = value or secrets.token_urlsafe(32)
        self._codes[value] = Code(value, dict(data), now + ttl)
        return value

    def take(self, value: str) -> Code:
        """Spend a code; Rejected("used") carries the code so its grant can be revoked."""
        code = self._codes.get(value)
        if code is None:
            raise Rejected("unknown")
        if code.used:
            raise UsedCode(code)
        if self._now() >= code.expires_at:
            raise Rejected("expired")
        code.used = True
        return code


class UsedCode(Rejected):
    def __init__(self, code: Code) -> None:
        super().__init__("used")
        self.code = code
