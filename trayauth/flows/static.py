"""A pasted token or API key: nothing to obtain, but worth checking and reading.

The token is the secret. Its expiry is read from its own claims (JWT ``exp``, PASETO v4.public
``exp``) because nothing else states one; an opaque key never expires. A preset may name a
``verify`` request (Attentive's ``GET /v1/me``) so a typo is caught at login, not at 3 a.m.
"""

from __future__ import annotations

from trayauth.domain.errors import CredentialsRejected, PresetError, ProviderError
from trayauth.domain.model import TokenSet
from trayauth.domain.tokens import token_expiry
from trayauth.flows.base import FlowContext
from trayauth.net.http import describe_error


def _secret_key(ctx: FlowContext) -> str:
    key = ctx.preset.options.get("secret_field")
    if isinstance(key, str):
        return key
    fields = ctx.preset.secret_fields
    if len(fields) != 1:
        raise PresetError(f"preset {ctx.preset.id!r}: a static preset needs exactly one secret field")
    return fields[0].key


async def login(ctx: FlowContext) -> TokenSet:
    token = "".join(ctx.require_secret(_secret_key(ctx)).split())
    if token.lower().startswith("bearer "):
        token = token[7:]
    verify = ctx.preset.options.get("verify")
    if isinstance(verify, dict) and verify.get("url"):
        base = (ctx.setting("base_url") or "").rstrip("/")
        url = str(verify["url"]).replace("{base_url}", base)
        resp = await ctx.http.request(
            str(verify.get("method", "GET")),
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
        )
        if resp.status in (401, 403):
            raise CredentialsRejected(
                f"{ctx.name}: the provider rejected this key ({describe_error(resp, [token])})",
                hint="check the key and paste it again",
            )
        if not 200 <= resp.status < 300:
            raise ProviderError(f"{ctx.name}: checking the key failed ({describe_error(resp, [token])})")
    now = ctx.clock()
    expires_at = token_expiry(token)
    if expires_at is not None and expires_at <= now:
        raise CredentialsRejected(
            f"{ctx.name}: this token has already expired (its exp claim is in the past)",
            hint="get a fresh token from the provider and paste that",
        )
    return TokenSet(access_token=token, expires_at=expires_at, obtained_at=now)
