"""Client credentials grant (RFC 6749 §4.4): a machine's own token, no user involved.

§4.4.3 says no refresh token should come back, so renewal is this grant again with the kept
client secret (the preset says ``renew = "relogin"``). ``refresh`` exists for servers that hand
out a refresh token anyway.
"""

from __future__ import annotations

from trayauth.domain.model import TokenSet
from trayauth.flows import direct_grant, grants, revocation
from trayauth.flows.base import FlowContext
from trayauth.protocol.revocation import RevocationResult


async def login(ctx: FlowContext) -> TokenSet:
    ctx.require("client_id")
    ctx.require_secret("client_secret")
    form = {"grant_type": "client_credentials"}
    return await direct_grant.direct_grant(ctx, form, grant="client_credentials")


async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    if tokens.refresh_token:
        return await grants.refresh_grant(ctx, tokens)
    return await login(ctx)


async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    return await revocation.revoke_oauth(ctx, tokens)
