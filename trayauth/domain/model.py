"""The data the rest of trayauth passes around: accounts and token sets."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


class State(enum.StrEnum):
    """An account's state as `trayauth list` and the tray show it."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    LOGGED_OUT = "logged_out"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Account:
    """A named session with one provider: non-secret settings only (they go to the config file)."""

    name: str
    preset: str
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a flow obtained. Times are POSIX seconds (UTC); ``expires_at`` None means no expiry known.

    ``extra`` keeps non-secret response fields worth showing (user_id, app_id, token_type …).
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    obtained_at: float = 0.0
    token_type: str = "Bearer"
    scopes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    # An OpenID Connect ID token, checked when it arrived; not stored (``to_dict`` leaves it out):
    # trayauth hands out access tokens and keeps nothing it does not need.
    id_token: str | None = field(default=None, repr=False, compare=False)

    @property
    def lifetime(self) -> float | None:
        if self.expires_at is None:
            return None
        return max(0.0, self.expires_at - self.obtained_at)

    def with_refresh_fallback(self, previous: TokenSet | None) -> TokenSet:
        """A refresh response without a refresh token keeps the previous one (RFC 6749 §6)."""
        if self.refresh_token or previous is None or not previous.refresh_token:
            return self
        return replace(self, refresh_token=previous.refresh_token)

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "obtained_at": self.obtained_at,
            "token_type": self.token_type,
            "scopes": list(self.scopes),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        expires_at = data.get("expires_at")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token") or None,
            expires_at=float(expires_at) if expires_at is not None else None,
            obtained_at=float(data.get("obtained_at") or 0.0),
            token_type=str(data.get("token_type") or "Bearer"),
            scopes=tuple(str(s) for s in data.get("scopes") or ()),
            extra=dict(data.get("extra") or {}),
        )
