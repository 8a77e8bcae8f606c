"""Logging out at the provider: RFC 7009 token revocation, with the client's authentication.

Every flow module offers ``revoke(ctx, tokens) -> RevocationResult``; the OAuth flows use
:func:`revoke_oauth`, the others say what their preset says (Amino: nothing to revoke).
A logout calls them through :func:`trayauth.flows.logout.revoke_within`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trayauth.flows import discovery
from trayauth.net.http import describe_error
from trayauth.protocol.oauth import ClientAuth, auth_method, error_code
from trayauth.protocol.revocation import Revocation, RevocationResult, answer_ok, revocation_forms

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext


def not_offered(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    """For flows with nothing to revoke: the preset's note says why (Amino's docs say so)."""
    if tokens is None:
        return RevocationResult(Revocation.NOTHING_HELD)
    return RevocationResult(Revocation.NOT_OFFERED, ctx.preset.options.revocation_note)


def _client(ctx: FlowContext, supported: tuple[str, ...]) -> ClientAuth:
    """The client as at the token endpoint; a secret that was not kept is simply not sent."""
    method = auth_method(ctx.preset.oauth.client_auth, supported)
    return ClientAuth(ctx.setting("client_id"), ctx.secret("client_secret"), method)


async def revoke_oauth(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    """Revoke the refresh token, then the access token, where the provider has an endpoint."""
    if tokens is None:
        return RevocationResult(Revocation.NOTHING_HELD)
    options = ctx.preset.oauth
    if not options.revoke:
        return RevocationResult(Revocation.NOT_OFFERED, options.revocation_note)
    endpoints = await discovery.endpoints(ctx, extras=True)
    if endpoints.revocation is None:
        return RevocationResult(
            Revocation.NOT_OFFERED, options.revocation_note or "the provider names no revocation endpoint"
        )
    client = _client(ctx, endpoints.revocation_auth_methods or endpoints.auth_methods)
    hidden = [*ctx.all_secrets(), tokens.access_token, *(t for t in (tokens.refresh_token,) if t)]
    forms = revocation_forms(
        tokens.refresh_token, tokens.access_token, include_access=options.revoke_access_token
    )
    for form in forms:
        body, headers = client.apply(form)
        headers["Accept"] = "application/json"
        resp = await ctx.http.request(
            "POST", endpoints.revocation, data=body, headers=headers, secrets=hidden
        )
        if not answer_ok(resp.status, error_code(resp), form["token_type_hint"]):
            return RevocationResult(Revocation.REFUSED, describe_error(resp, hidden))
    return RevocationResult(Revocation.CONFIRMED)
