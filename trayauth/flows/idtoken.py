"""Checking an ID token that came with a login: the keys are fetched here, the rules are in
``protocol/idtoken``.

The issuer's JWKS is fetched through the project's HTTP policy (HTTPS except loopback, size caps,
deadlines) rather than PyJWT's ``PyJWKClient``, which uses urllib and none of those rules. Keys
are cached per URL for an hour; a token signed with a key not in the cached set refetches once,
because providers rotate keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt

from trayauth.domain.errors import ProviderError
from trayauth.net.http import describe_error, safe_url
from trayauth.protocol.idtoken import HMAC, UnknownKey, algorithm, key_set, verify_id_token

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext
    from trayauth.flows.discovery import Endpoints

CACHE_TTL = 3600.0
_keys: dict[str, tuple[float, jwt.PyJWKSet]] = {}


def forget() -> None:
    _keys.clear()


async def _fetch(ctx: FlowContext, url: str) -> jwt.PyJWKSet:
    resp = await ctx.http.request("GET", url, headers={"Accept": "application/json"})
    if resp.status != 200:
        raise ProviderError(
            f"cannot read the provider's signing keys at {safe_url(url)} ({describe_error(resp)})",
            account=ctx.name,
        )
    keys = key_set(resp.json_object(), account=ctx.name)
    _keys[url] = (ctx.clock(), keys)
    return keys


async def check(
    ctx: FlowContext, endpoints: Endpoints, tokens: TokenSet, *, nonce: str | None
) -> dict[str, Any] | None:
    """The ID token's claims when one came back and verifies; None when there is none to check.

    Skipped when the preset says so, or when the issuer or its keys are unknown (endpoints typed
    by hand without an issuer): then nothing trustworthy to compare against exists.
    """
    token = tokens.id_token
    options = ctx.preset.oauth
    if not token or not options.verify_id_token or not endpoints.issuer:
        return None
    client_id = ctx.require("client_id")
    secret = ctx.secret("client_secret")
    url = endpoints.jwks
    keys: jwt.PyJWKSet | None = None
    fresh = False
    if algorithm(token) in HMAC and secret:
        pass  # keyed with the client secret: no keys to fetch
    elif url is None:
        return None
    else:
        cached = _keys.get(url)
        fresh = cached is None or not 0 <= ctx.clock() - cached[0] < CACHE_TTL
        keys = await _fetch(ctx, url) if fresh or cached is None else cached[1]

    def verify(keys: jwt.PyJWKSet | None) -> dict[str, Any]:
        return verify_id_token(
            token,
            keys,
            issuer=endpoints.issuer or "",
            client_id=client_id,
            nonce=nonce,
            now=ctx.clock(),
            account=ctx.name,
            aliases=options.issuer_aliases,
            client_secret=secret,
        )

    try:
        return verify(keys)
    except UnknownKey:
        if fresh or url is None:
            raise
        return verify(await _fetch(ctx, url))
