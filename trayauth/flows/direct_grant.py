"""A login that is one request to the token endpoint (the password and client-credentials grants),
with the ID token that may come back checked.

Apart from :mod:`trayauth.flows.grants` because the check brings PyJWT: a refresh, which only
needs the token endpoint, does without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from trayauth.flows import discovery, idtoken
from trayauth.flows.grants import client_for, request_token, scopes_for

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet
    from trayauth.flows.base import FlowContext


async def direct_grant(ctx: FlowContext, form: Mapping[str, str], *, grant: str) -> TokenSet:
    """A grant that is one request to the token endpoint (password, client credentials)."""
    endpoints = await discovery.endpoints(ctx, extras=True)
    scopes = scopes_for(ctx, endpoints.scopes_supported)
    if scopes:
        form = {**form, "scope": " ".join(scopes)}
    client = client_for(ctx, endpoints.auth_methods)
    tokens = await request_token(
        ctx, endpoints.token, form, grant=grant, client=client, requested_scopes=scopes
    )
    await idtoken.check(ctx, endpoints, tokens, nonce=None)
    return tokens
