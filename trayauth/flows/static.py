"""A pasted token or API key: nothing to obtain, but worth checking and reading.

The token is the secret. Its expiry is read from its own claims (JWT ``exp``, PASETO v4.public
``exp``) because nothing else states one; an opaque key never expires. A preset may name a
``verify`` request (Attentive's ``GET /v1/me``) so a typo is caught at login, not at 3 a.m.
"""

from __future__ import annotations

from trayauth.domain.errors import CredentialsRejected, PresetError, ProviderError, UsageError
from trayauth.domain.model import TokenSet
from trayauth.domain.options import StaticOptions
from trayauth.domain.steps import NextStep, StepKind
from trayauth.domain.tokens import bearer_token_problem, token_expiry
from trayauth.flows import revocation
from trayauth.flows.base import FlowContext
from trayauth.net.http import describe_error
from trayauth.protocol.revocation import RevocationResult


def _options(ctx: FlowContext) -> StaticOptions:
    options = ctx.preset.options
    if not isinstance(options, StaticOptions):
        raise PresetError(f"preset {ctx.preset.id!r} is not a static preset")
    return options


def _secret_key(ctx: FlowContext) -> str:
    key = _options(ctx).secret_field
    if key is not None:
        return key
    fields = ctx.preset.secret_fields
    if len(fields) != 1:
        raise PresetError(f"preset {ctx.preset.id!r}: a static preset needs exactly one secret field")
    return fields[0].key


async def login(ctx: FlowContext) -> TokenSet:
    token = "".join(ctx.require_secret(_secret_key(ctx)).split())
    if token.lower().startswith("bearer "):
        token = token[7:]
    problem = bearer_token_problem(token)
    if problem is not None:
        raise UsageError(
            f"this token cannot be used: {problem}",
            account=ctx.name,
            next_step=NextStep.of(StepKind.PASTE_ALONE),
        )
    verify = _options(ctx).verify
    if verify is not None:
        base = (ctx.setting("base_url") or "").rstrip("/")
        url = verify.url.replace("{base_url}", base)
        resp = await ctx.http.request(
            verify.method,
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
        )
        if resp.status in (401, 403):
            raise CredentialsRejected(
                f"the provider rejected this key ({describe_error(resp, [token])})",
                account=ctx.name,
                next_step=NextStep.of(StepKind.PASTE_AGAIN),
            )
        if not 200 <= resp.status < 300:
            raise ProviderError(
                f"checking the key failed ({describe_error(resp, [token])})", account=ctx.name
            )
    now = ctx.clock()
    expires_at = token_expiry(token)
    if expires_at is not None and expires_at <= now:
        raise CredentialsRejected(
            "this token has already expired (its exp claim is in the past)",
            account=ctx.name,
            next_step=NextStep.of(StepKind.PASTE_NEW),
        )
    return TokenSet(access_token=token, expires_at=expires_at, obtained_at=now)


async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    return revocation.not_offered(ctx, tokens)
