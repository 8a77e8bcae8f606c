"""Reading a token out of a provider's answer, wherever the preset says it lives.

Vendors put the same facts in different places (``token`` vs ``access_token`` vs JSON:API
``data[0].attributes``); presets name them with JSON pointers (RFC 6901) so a new provider is a
data file, not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trayauth.domain.errors import ProviderError
from trayauth.domain.model import TokenSet
from trayauth.domain.tokens import bearer_token_problem, expiry_from_fields, token_expiry

_MISSING = object()

DEFAULT_RESPONSE: Mapping[str, Any] = {
    "access_token": "/access_token",
    "refresh_token": "/refresh_token",
    "expires_in": "/expires_in",
    "scope": "/scope",
    "token_type": "/token_type",
}


def pointer(document: Any, path: str) -> Any:
    """RFC 6901 lookup; a missing member gives ``_MISSING`` rather than an exception."""
    if not isinstance(path, str):  # a preset's pointer of another TOML type
        raise ProviderError(f"preset JSON pointer {path!r:.60} must be a string")
    if path == "":
        return document
    if not path.startswith("/"):
        raise ProviderError(f"preset JSON pointer {path!r} must start with '/'")
    node = document
    for raw in path[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
    return node


def lookup(document: Any, path: str | None) -> Any:
    """The value at ``path``, or None when the preset names no path or the answer lacks it."""
    if not path:
        return None
    value = pointer(document, path)
    return None if value is _MISSING else value


def token_from_response(
    document: Mapping[str, Any],
    mapping: Mapping[str, Any],
    *,
    now: float,
    where: str,
    account: str | None = None,
    trust_token_claims: bool = True,
    requested_scopes: tuple[str, ...] = (),
) -> TokenSet:
    """Build a TokenSet from a success answer; a missing access token is the provider's fault.

    Expiry order: the preset's explicit timestamp fields, then ``expires_in``, then (unless the
    vendor says not to rely on claims) the token's own ``exp``. A token with none never expires.
    """
    access = lookup(document, mapping.get("access_token", "/access_token"))
    if not isinstance(access, str) or not access.strip():
        raise ProviderError(f"{where} answered without an access token", account=account)
    problem = bearer_token_problem(access.strip())
    if problem is not None:
        raise ProviderError(
            f"{where} answered with an access token that was not stored: {problem}", account=account
        )
    refresh = lookup(document, mapping.get("refresh_token"))
    if refresh is not None and not isinstance(refresh, str):
        raise ProviderError(f"{where} answered with a refresh token that is not a string", account=account)
    expires_at = expiry_from_fields(
        now,
        expires_in=lookup(document, mapping.get("expires_in")),
        expires_at=lookup(document, mapping.get("expires_at")),
        expires_at_timestamp=lookup(document, mapping.get("expires_at_timestamp")),
    )
    if expires_at is None and trust_token_claims:
        expires_at = token_expiry(access)
    scope = lookup(document, mapping.get("scope"))
    if isinstance(scope, str):
        scopes = tuple(scope.split())
    elif isinstance(scope, list):
        scopes = tuple(str(s) for s in scope)
    else:
        scopes = requested_scopes
    token_type = lookup(document, mapping.get("token_type"))
    extra: dict[str, Any] = {}
    for key, path in (mapping.get("extra") or {}).items():
        value = lookup(document, path)
        if isinstance(value, str | int | float | bool):
            extra[str(key)] = value
    return TokenSet(
        access_token=access.strip(),
        refresh_token=refresh or None,
        expires_at=expires_at,
        obtained_at=now,
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
        scopes=scopes,
        extra=extra,
    )
