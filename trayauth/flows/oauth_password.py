"""Resource owner password grant (RFC 6749 §4.3) against any OAuth 2.0 server.

The password is kept in the vault (the preset says ``keep_secrets``) because a server may answer
without a refresh token; then renewal is this grant again. When a refresh token does come back,
renewal spends it instead and the password is not sent again.
"""

from __future__ import annotations

from trayauth.domain.model import TokenSet
from trayauth.flows import grants, revocation
from trayauth.flows.base import FlowContext
from trayauth.protocol.revocation import RevocationResult


async def login(ctx: FlowContext) -> TokenSet:
    form = {
        "grant_type": "password",
        "username": ctx.require("username"),
        "password": ctx.require_secret("password"),
    }
    return await grants.direct_grant(ctx, form, grant="password")


async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    return await grants.refresh_grant(ctx, tokens)


async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    return await revocation.revoke_oauth(ctx, tokens)
