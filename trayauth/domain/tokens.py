"""Token expiry, inspection, and the one renewal rule.

Expiry comes from what the provider said, in this order: an explicit timestamp the vendor calls
authoritative (``expires_at_timestamp``, ``expires_at``), then ``expires_in``, and only when the
response says nothing, the token's own claims (JWT ``exp``, PASETO v4.public ``exp``). Amino says
not to rely on its claims; Sensos's docs contradict themselves: the response wins.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from trayauth.domain.errors import ProviderError
from trayauth.domain.model import State, TokenSet

MAX_MARGIN = 60.0
ASSUMED_LIFETIME = 3600.0
MARGIN_FRACTION = 0.10
EXPIRING_WINDOW = 300.0
# Beyond this, an expiry is not a real one (year ~2286): treat as "no expiry" rather than overflow.
_FAR_FUTURE = 1e10


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ProviderError(f"the provider sent {name} as a boolean")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise ProviderError(f"the provider sent {name} that is out of range") from None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ProviderError(f"the provider sent {name} that is not a number") from None
    else:
        raise ProviderError(f"the provider sent {name} of an unexpected type")
    if not math.isfinite(number):
        raise ProviderError(f"the provider sent {name} that is not finite")
    return number


def parse_timestamp(value: Any, name: str = "expires_at") -> float:
    """ISO 8601 (``2019-04-02T13:22:22.508Z``) or POSIX seconds (or milliseconds) to POSIX seconds."""
    if isinstance(value, str) and not value.strip().lstrip("-").replace(".", "", 1).isdigit():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ProviderError(f"the provider sent {name} that is not a date") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    number = _number(value, name)
    if number > 1e11:  # milliseconds since the epoch
        number /= 1000.0
    return number


def expiry_from_fields(
    now: float,
    *,
    expires_in: Any = None,
    expires_at: Any = None,
    expires_at_timestamp: Any = None,
) -> float | None:
    """The absolute expiry a response states, or None when it states none.

    A zero or negative ``expires_in`` means "already expired": it yields ``now`` so the caller
    renews at once instead of trusting a token the server calls dead.
    """
    if expires_at_timestamp is not None:
        return _bounded(parse_timestamp(expires_at_timestamp, "expires_at_timestamp"))
    if expires_at is not None:
        return _bounded(parse_timestamp(expires_at, "expires_at"))
    if expires_in is not None:
        seconds = _number(expires_in, "expires_in")
        return _bounded(now + max(0.0, seconds))
    return None


# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token_problem(token: str) -> str | None:
    """Why ``token`` cannot travel in an ``Authorization: Bearer`` header; None when it can.

    Anything else (CR/LF, spaces, terminal escapes) would be printed raw by ``trayauth header``
    and could add a header of its own to ``curl -H "$(trayauth header X)"``.
    """
    if _B64TOKEN.fullmatch(token):
        return None
    bad = next((c for c in token if not _B64TOKEN.fullmatch(c) and c != "="), "=")
    return f"it contains {bad!r}, which a bearer token cannot (RFC 6750 allows letters, digits and -._~+/=)"


def _bounded(moment: float) -> float | None:
    return None if moment > _FAR_FUTURE else moment


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# RFC 4648 §5 without padding: what a JWS compact segment is made of (RFC 7515 §2, §7.1).
_BASE64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# The only critical header extension PyJWT understands (RFC 7797); any other makes it refuse.
_KNOWN_CRIT = frozenset({"b64"})


def _segment(part: bytes) -> bytes | None:
    """One base64url segment, decoded; None where PyJWT refuses it.

    Up to two trailing ``=`` are tolerated (some issuers pad) when the length is then a multiple
    of four; any other character outside the alphabet, an impossible length, or bits left over
    that a canonical encoder would not write are refused.
    """
    stripped = part.rstrip(b"=")
    padding = len(part) - len(stripped)
    if padding > 2 or (padding and len(part) % 4) or len(stripped) % 4 == 1:
        return None
    if not _BASE64URL.issuperset(stripped):
        return None
    decoded = base64.urlsafe_b64decode(stripped + b"=" * (-len(stripped) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != stripped:
        return None
    return decoded


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)  # bytes: UTF-8/16/32 detected as PyJWT's json.loads does
    except (ValueError, RecursionError):  # not JSON or not text, numbers over the digit limit, too deep
        return None
    return value if isinstance(value, dict) else None


def _header_refused(header: dict[str, Any]) -> bool:
    """What PyJWT refuses in a header even without checking a signature: a non-string ``kid``,
    a ``crit`` that is not a non-empty list of extensions it knows, and an unencoded payload
    (``b64`` false, RFC 7797), which has no claims in the token to read."""
    if "kid" in header and not isinstance(header["kid"], str):
        return True
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit:
            return True
        if any(not isinstance(ext, str) or ext not in _KNOWN_CRIT for ext in crit):
            return True
    return header.get("b64", True) is False


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a JWT, unverified: for display and expiry only, never for trust.

    A JWS compact serialization (RFC 7515 §7.1) read with the standard library: three base64url
    segments, the first two JSON objects. The signature is not checked, because trayauth is not
    the token's audience (the API is); it reads ``exp``, ``iat`` and the scopes to know when to
    renew and what to show. PyJWT did this before, but importing it loads cryptography's
    asymmetric key algorithms: 3.2 MiB resident in the tray on top of what the vault's Fernet
    already loads (6.8 MiB in a bare interpreter), kept for the whole life of a tray that reads
    every account's token at start. The reader accepts and refuses what PyJWT's unverified decode
    does (tests/unit/test_jws_reader.py feeds both the same tokens); PyJWT remains for checking
    ID-token signatures at login (protocol/idtoken).
    """
    if token.count(".") != 2:
        return None
    try:
        raw = token.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not a token (PyJWT raised instead of refusing)
        return None
    parts = [_segment(part) for part in raw.split(b".")]
    if any(part is None for part in parts):
        return None
    header_data, payload, _signature = (part or b"" for part in parts)
    header = _json_object(header_data)
    if header is None or _header_refused(header):
        return None
    claims = _json_object(payload)
    if claims is None:
        return None
    return header, claims


def paseto_public_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Claims and footer of a PASETO ``v4.public`` token; the message is readable without a key."""
    parts = token.split(".")
    if len(parts) not in (3, 4) or parts[0] != "v4" or parts[1] != "public":
        return None
    try:
        payload = _b64decode(parts[2])
        footer_raw = _b64decode(parts[3]) if len(parts) == 4 else b""
    except (binascii.Error, ValueError):
        return None
    if len(payload) <= 64:  # Ed25519 signature is the last 64 bytes
        return None
    try:
        claims = json.loads(payload[:-64].decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8 or JSON, numbers over the digit limit, too deep
        return None
    if not isinstance(claims, dict):
        return None
    footer: dict[str, Any] = {}
    if footer_raw:
        try:
            parsed = json.loads(footer_raw.decode("utf-8"))
            footer = parsed if isinstance(parsed, dict) else {"footer": str(parsed)}
        except (ValueError, RecursionError):
            footer = {"footer": footer_raw.decode("utf-8", "replace")}
    return footer, claims


def _claim_time(claims: dict[str, Any], key: str) -> float | None:
    value = claims.get(key)
    if value is None:
        return None
    try:
        return _bounded(parse_timestamp(value, key))
    except ProviderError:
        return None


def token_expiry(token: str) -> float | None:
    """JWT ``exp`` or PASETO v4.public ``exp``; None for opaque tokens and tokens without one."""
    parsed = jwt_parts(token) or paseto_public_claims(token)
    if parsed is None:
        return None
    return _claim_time(parsed[1], "exp")


@dataclass(frozen=True)
class Inspection:
    """What `trayauth inspect` and the tray's Inspect window show. Never includes the token."""

    kind: str  # jwt | paseto-v4-public | paseto-v4-local | opaque
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    issued_at: float | None = None
    expires_at: float | None = None
    not_before: float | None = None
    scopes: tuple[str, ...] = ()
    subject: str | None = None


def inspect_token(tokens: TokenSet) -> Inspection:
    token = tokens.access_token
    kind = "opaque"
    header: dict[str, Any] = {}
    claims: dict[str, Any] = {}
    parsed = jwt_parts(token)
    if parsed is not None:
        kind, (header, claims) = "jwt", parsed
    else:
        parsed = paseto_public_claims(token)
        if parsed is not None:
            kind, (header, claims) = "paseto-v4-public", parsed
        elif token.startswith("v4.local."):
            kind = "paseto-v4-local"
    scopes = tokens.scopes
    if not scopes:
        raw_scope = claims.get("scope", claims.get("scp"))
        if isinstance(raw_scope, str):
            scopes = tuple(raw_scope.split())
        elif isinstance(raw_scope, list):
            scopes = tuple(str(s) for s in raw_scope)
    subject = claims.get("sub")
    return Inspection(
        kind=kind,
        header=header,
        claims=claims,
        issued_at=_claim_time(claims, "iat") or (tokens.obtained_at or None),
        expires_at=tokens.expires_at,
        not_before=_claim_time(claims, "nbf"),
        scopes=scopes,
        subject=str(subject) if subject is not None else None,
    )


def assume_expiry(tokens: TokenSet, previous: TokenSet | None) -> TokenSet:
    """An expiry for a renewable token whose answer stated none: the previous lifetime, else an hour.

    Renewing such a token on a guess costs one request; believing it never expires hands out a
    dead token the day the provider lets it lapse.
    """
    if tokens.expires_at is not None:
        return tokens
    lifetime = previous.lifetime if previous is not None else None
    if not lifetime or lifetime <= 0:
        lifetime = ASSUMED_LIFETIME
    return replace(tokens, expires_at=tokens.obtained_at + lifetime)


def renewal_margin(tokens: TokenSet) -> float:
    """Renew when less than min(60 s, 10 % of the lifetime) is left.

    The 10 % keeps short-lived tokens (a 5-minute demo token, a 2-minute test token) from being
    renewed the moment they arrive; the 60 s cap is Senseye's "a minute before it expires".
    """
    lifetime = tokens.lifetime
    if lifetime is None or lifetime <= 0:
        return MAX_MARGIN
    return min(MAX_MARGIN, MARGIN_FRACTION * lifetime)


def renew_at(tokens: TokenSet) -> float | None:
    if tokens.expires_at is None:
        return None
    return tokens.expires_at - renewal_margin(tokens)


def needs_renewal(tokens: TokenSet, now: float) -> bool:
    due = renew_at(tokens)
    return due is not None and now >= due


def state_of(tokens: TokenSet | None, now: float, *, error: str | None = None) -> State:
    if tokens is None:
        return State.LOGGED_OUT
    return state_at(tokens.expires_at, expiring_at(tokens), now, error=error)


def state_at(
    expires_at: float | None, expiring_from: float | None, now: float, *, error: str | None
) -> State:
    """The state of a logged-in account at ``now``: THE rule, for `trayauth list` and the tray
    (which keeps ``expires_at`` and ``expiring_from`` in its snapshots and asks again as time
    passes)."""
    if expires_at is not None and now >= expires_at:
        return State.EXPIRED
    if error:
        return State.ERROR
    if expiring_from is not None and now >= expiring_from:
        return State.EXPIRING
    return State.VALID


def expiring_at(tokens: TokenSet) -> float | None:
    """The moment the token starts to count as "expiring"; None without an expiry."""
    if tokens.expires_at is None:
        return None
    return tokens.expires_at - expiring_window(tokens)


def expiring_window(tokens: TokenSet) -> float:
    """How long before expiry a token counts as "expiring": 5 minutes, or a quarter of a short life."""
    lifetime = tokens.lifetime
    window = EXPIRING_WINDOW if not lifetime else min(EXPIRING_WINDOW, 0.25 * lifetime)
    return max(window, renewal_margin(tokens))


def session_ends_at(renew: str, renewable: bool, tokens: TokenSet | None) -> float | None:
    """When the user must sign in again because a session meant to renew itself cannot.

    A preset that renews (by refresh or by logging in again) whose login brought nothing to renew
    with — no refresh token, e.g. ``offline_access`` dropped by the server — ends when its access
    token expires; saying so at login beats "cannot renew itself" an hour later. None: the
    session renews itself, never expires, or was never meant to renew.
    """
    if tokens is None or renew == "none" or renewable or tokens.expires_at is None:
        return None
    return tokens.expires_at
