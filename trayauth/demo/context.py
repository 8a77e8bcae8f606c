"""The state every vendor handler shares: clock, settings, issued tokens, codes, keys, accounts.

One object passed to pure handler functions, rather than a server class the vendors subclass, so a
vendor module is just its routes and the server module is just HTTP plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trayauth.demo.accounts import Accounts
from trayauth.demo.device import DeviceBook
from trayauth.demo.grants import CodeBook, TokenBook
from trayauth.demo.mint import Mint
from trayauth.demo.ratelimit import SlidingWindow

VENDORS = ("sentiance", "senseye", "sensos", "attentive", "amino", "oauth")


@dataclass
class Settings:
    """Knobs tests turn; the defaults follow the vendors' documented behaviour."""

    # Access-token lifetime in seconds (None: never expires, as Attentive's OAuth tokens).
    lifetimes: dict[str, float | None] = field(
        default_factory=lambda: {
            "sentiance": 3600,
            "senseye": 86400,
            "sensos": 36000,
            "amino": 3600,
            "oauth": 3600,
            "attentive": None,
        }
    )
    # Refresh-token lifetime (None: until spent or revoked). Amino says its refresh tokens expire.
    refresh_lifetimes: dict[str, float | None] = field(default_factory=lambda: {"amino": 30 * 86400.0})
    # Requests allowed per window on a vendor's token endpoint (None: unlimited).
    rate_limits: dict[str, int | None] = field(default_factory=lambda: {"senseye": 10})
    rate_window: float = 60.0
    # One-time code lifetimes: Sentiance's is "short-lived", Attentive's 2 minutes, ours 60 s.
    code_ttl: dict[str, float] = field(
        default_factory=lambda: {"sentiance": 60, "attentive": 120, "oauth": 60}
    )
    device_expires_in: int = 600
    device_interval: int = 5
    # Amino's JWT `exp` is this much later than `expires_at_timestamp`: the client must trust the latter.
    amino_claim_skew: float = 86400
    # GitHub's "expiring user tokens" app setting: off by default (tokens never expire, no refresh).
    github_expiring_tokens: bool = False
    # The generic server's scopes_supported (None: its default list), e.g. a server without offline_access.
    scopes_supported: list[str] | None = None
    # Claims forced into every ID token (tests of a forged or mistaken one: another aud, nonce …).
    id_token_overrides: dict[str, object] = field(default_factory=dict)
    # Sign confidential clients' ID tokens with HS256 and their secret (OIDC Core §10.1), as a
    # django-oauth-toolkit application set to HS256 does; public clients keep ES256.
    id_token_hs256: bool = False


class Context:
    def __init__(self, now: Callable[[], float], base_url: Callable[[str], str]) -> None:
        self.now = now
        self.base_url = base_url
        self.settings = Settings()
        self.accounts = Accounts()
        self.mint = Mint()
        self.book = TokenBook(now)
        self.codes = {vendor: CodeBook(now) for vendor in ("sentiance", "attentive", "oauth")}
        self.devices = DeviceBook(now)
        self.limiter = SlidingWindow(now)
        self.consented: set[tuple[str, str]] = set()  # (client, user) pairs that consented once (Google)
        self.revoked: list[str] = []  # token_type_hint of every revocation request, in order

    def expires_at(self, vendor: str) -> float | None:
        lifetime = self.settings.lifetimes.get(vendor)
        return None if lifetime is None else self.now() + lifetime

    def subject(self, vendor: str, token: str | None) -> str | None:
        """Who a bearer token speaks for, if it is valid now (issued here or minted by a test)."""
        if not token:
            return None
        issued = self.book.lookup(vendor, token)
        if issued is not None:
            return issued.sub
        if vendor == "attentive":
            return self.accounts.api_key_app(token)
        return None
