"""What every OAuth flow does once logged in: renew by refresh token (RFC 6749 §6) and revoke at
logout (RFC 7009).

The same for the browser, device and password sign-ins, and apart from them because a renewal
needs the token endpoint only. The logins bring what a tray that just keeps tokens alive does
without for good: the ID-token check (PyJWT, cryptography's asymmetric key algorithms), PKCE
(authlib) and the loopback redirect server (:func:`trayauth.flows.load_flow` routes to this
module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trayauth.flows import grants, revocation

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext
    from trayauth.protocol.revocation import RevocationResult


async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    return await grants.refresh_grant(ctx, tokens)


async def revoke(ctx: FlowContext, tokens: TokenSet | None) -> RevocationResult:
    return await revocation.revoke_oauth(ctx, tokens)
