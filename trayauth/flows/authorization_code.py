"""Authorization code grant in the system browser (RFC 6749 §4.1, RFC 7636 PKCE, RFC 8252).

Serves ``oauth2`` (any OAuth 2.0 / OpenID Connect server) and ``attentive-oauth``. Options in the
preset's flow table: ``pkce`` (default true: S256 on every login), ``timeout`` (seconds to wait
for the browser, default 300), ``code_lifetime`` (seconds a code lives once issued: the exchange
must finish within it, Attentive's is 120), ``client_auth``, ``authorize_params``,
``token_params``, ``token_url`` / ``authorize_url`` templates and ``check_issuer``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from trayauth.domain.errors import CredentialsRejected, LoginRequired, LoginTimeout, UsageError
from trayauth.domain.model import TokenSet
from trayauth.flows import discovery, grants
from trayauth.flows.base import FlowContext
from trayauth.net import loopback
from trayauth.protocol import oauth


def _code_lifetime(ctx: FlowContext) -> float | None:
    value = ctx.preset.options.get("code_lifetime")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"preset {ctx.preset.id!r}: code_lifetime must be a positive number of seconds")
    return float(value)


async def login(ctx: FlowContext) -> TokenSet:
    if ctx.asker is None:  # before any network: background renewal never starts a browser sign-in
        raise LoginRequired(
            f"{ctx.name}: signing in needs the browser", hint=f"run 'trayauth login {ctx.name}'"
        )
    options = ctx.preset.options
    timeout = loopback.timeout_of(ctx)
    lifetime = _code_lifetime(ctx)
    client_id = ctx.require("client_id")
    endpoints = await discovery.endpoints(ctx, authorize=True)
    assert endpoints.authorize is not None
    client = grants.client_for(ctx, endpoints.auth_methods)
    scopes = grants.scopes_for(ctx)
    state = oauth.new_state()
    pkce = oauth.new_pkce() if options.get("pkce", True) else None
    extra = options.get("authorize_params")
    authorize = endpoints.authorize

    def build(redirect_uri: str) -> str:
        return oauth.authorization_url(
            authorize,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=pkce.challenge if pkce else None,
            extra=extra if isinstance(extra, Mapping) else None,
        )

    def validate(url: str) -> str:
        return oauth.parse_callback(url, state=state, account=ctx.name, issuer=endpoints.issuer)

    code, redirect_uri = await loopback.sign_in(ctx, build, validate, timeout=timeout)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        form["code_verifier"] = pkce.verifier
    exchange = grants.request_token(
        ctx,
        endpoints.token,
        form,
        grant="authorization_code",
        client=client,
        secrets=[code, state, *([pkce.verifier] if pkce else [])],
        requested_scopes=scopes,
    )
    if lifetime is None:
        return await exchange
    # The code dies `lifetime` seconds after it was issued, i.e. just before it reached us: an
    # exchange stuck behind Retry-After waits or a slow network is abandoned, not retried forever.
    expired = LoginTimeout(
        f"{ctx.name}: the authorization code expired before it could be exchanged "
        f"(codes live {round(lifetime)} s)"
    )
    try:
        return await asyncio.wait_for(exchange, lifetime)
    except TimeoutError:
        raise expired from None
    except CredentialsRejected as exc:
        if "expired" in exc.message.lower():
            raise expired from None
        raise


async def refresh(ctx: FlowContext, tokens: TokenSet) -> TokenSet:
    return await grants.refresh_grant(ctx, tokens)
