"""The token endpoint: the single place a grant is sent, so every grant maps RFC 6749 §5.2 errors
the same way and every request goes through the one HTTP policy.

A refresh needs nothing else, so this module loads no ID-token check (PyJWT): the logins that
verify one (``direct_grant``, the browser and device sign-ins) import ``flows.idtoken`` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from trayauth.domain.errors import LoginRequired, NetworkError
from trayauth.domain.steps import NextStep
from trayauth.flows import discovery
from trayauth.net.http import reading
from trayauth.protocol.oauth import ClientAuth, auth_method, choose_scopes, parse_token_response

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext


async def request_token(
    ctx: FlowContext,
    url: str,
    form: Mapping[str, str],
    *,
    grant: str,
    client: ClientAuth,
    secrets: Iterable[str] = (),
    requested_scopes: Sequence[str] = (),
) -> TokenSet:
    """POST one grant to the token endpoint; every error names the account."""
    hidden = [*ctx.all_secrets(), *secrets, *(s for s in (client.secret,) if s)]
    params = dict(ctx.preset.oauth.token_params)
    body, headers = client.apply({**params, **form})
    headers["Accept"] = "application/json"
    resp = await ctx.http.request("POST", url, data=body, headers=headers, secrets=hidden)
    with reading(resp):
        return parse_token_response(
            resp,
            account=ctx.name,
            grant=grant,
            now=ctx.clock(),
            requested_scopes=requested_scopes,
            secrets=hidden,
        )


def scopes_for(ctx: FlowContext, supported: Sequence[str] | None = None) -> tuple[str, ...]:
    """The user's scopes as typed; the preset's defaults filtered by ``scopes_supported``."""
    fld = ctx.preset.field("scopes")
    return choose_scopes(ctx.account.settings.get("scopes"), fld.default if fld else None, supported)


def client_for(ctx: FlowContext, supported: Sequence[str] = ()) -> ClientAuth:
    """The account's client: ``client_id`` setting plus the optional ``client_secret`` secret."""
    fld = ctx.preset.field("client_secret")
    secret = (
        ctx.require_secret("client_secret")
        if fld is not None and fld.required
        else ctx.secret("client_secret")
    )
    method = auth_method(ctx.preset.oauth.client_auth, supported)
    return ClientAuth(ctx.setting("client_id"), secret, method)


async def refresh_grant(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    """RFC 6749 §6, rotation-aware: a new refresh token replaces the old, none keeps the old."""
    if not tokens.refresh_token:
        raise LoginRequired(
            "there is no refresh token", account=ctx.name, next_step=NextStep.log_in(ctx.name)
        )
    try:
        endpoints = await discovery.endpoints(ctx)
    except NetworkError as exc:
        exc.sent = False  # a failed metadata fetch never carried the refresh token: it is still good
        raise
    client = client_for(ctx, endpoints.auth_methods)
    new = await request_token(
        ctx,
        endpoints.token,
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
        grant="refresh_token",
        client=client,
        secrets=[tokens.refresh_token, tokens.access_token],
        requested_scopes=tokens.scopes,
    )
    return new.with_refresh_fallback(tokens)
