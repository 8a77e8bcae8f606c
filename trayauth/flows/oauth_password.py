"""Resource owner password grant (RFC 6749 §4.3) against any OAuth 2.0 server.

The password is kept in the vault (the preset says ``keep_secrets``) because a server may answer
without a refresh token; then renewal is this grant again. When a refresh token does come back,
renewal spends it instead and the password is not sent again.

The login only: renewal and revocation are the same for every OAuth flow and live in
:mod:`trayauth.flows.oauth_session`, so a renewal by refresh token does not load this module.
"""

from __future__ import annotations

from trayauth.domain.model import TokenSet
from trayauth.flows import direct_grant
from trayauth.flows.base import FlowContext


async def login(ctx: FlowContext) -> TokenSet:
    form = {
        "grant_type": "password",
        "username": ctx.require("username"),
        "password": ctx.require_secret("password"),
    }
    return await direct_grant.direct_grant(ctx, form, grant="password")
