"""Authorization code grant in the system browser (RFC 6749 §4.1, RFC 7636 PKCE, RFC 8252).

Serves ``oauth2`` (any OAuth 2.0 / OpenID Connect server) and ``attentive-oauth``. Options in the
preset's flow table: ``pkce`` (default true: S256 on every login), ``timeout`` (seconds to wait
for the browser, default 300), ``code_lifetime`` (seconds a code lives once issued: the exchange
must finish within it, Attentive's is 120), ``client_auth``, ``authorize_params``,
``token_params``, ``token_url`` / ``authorize_url`` templates and ``check_issuer`` — typed in
:class:`trayauth.domain.options.OAuthOptions`. Asking for ``offline_access`` sends
``prompt=consent``; an ``iss`` in the redirect is checked (RFC 9207) and required where the server
promises it; an ID token is verified against the issuer's keys with the nonce sent here.

The login only: renewal and revocation are the same for every OAuth flow and live in
:mod:`trayauth.flows.oauth_session`, so a renewal by refresh token does not load this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from trayauth.domain.errors import LoginRequired, LoginTimeout
from trayauth.domain.model import TokenSet
from trayauth.domain.steps import NextStep
from trayauth.flows import discovery, grants, idtoken
from trayauth.flows.base import FlowContext
from trayauth.net import loopback
from trayauth.protocol import oauth
from trayauth.protocol.pkce import new_pkce


async def login(ctx: FlowContext) -> TokenSet:
    if ctx.asker is None:  # before any network: background renewal never starts a browser sign-in
        raise LoginRequired(
            "signing in needs the browser", account=ctx.name, next_step=NextStep.log_in(ctx.name)
        )
    options = ctx.preset.oauth
    timeout = loopback.timeout_of(ctx)
    lifetime = options.code_lifetime
    client_id = ctx.require("client_id")
    endpoints = await discovery.endpoints(ctx, authorize=True, extras=True)
    assert endpoints.authorize is not None
    client = grants.client_for(ctx, endpoints.auth_methods)
    scopes = grants.scopes_for(ctx, endpoints.scopes_supported)
    state = oauth.new_state()
    pkce = new_pkce() if options.pkce else None
    # A nonce only where an ID token can come back, so plain OAuth servers see no unknown parameter.
    nonce = oauth.new_nonce() if "openid" in scopes else None
    configured = {k: discovery.fill_template(ctx, v) for k, v in options.authorize_params.items()}
    extra = oauth.offline_params(
        scopes, {k: v for k, v in configured.items() if v}, offline_consent=options.offline_consent
    )
    authorize = endpoints.authorize

    def build(redirect_uri: str) -> str:
        return oauth.authorization_url(
            authorize,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=pkce.challenge if pkce else None,
            extra=extra,
            nonce=nonce,
        )

    def validate(url: str) -> str:
        return oauth.parse_callback(
            url, state=state, account=ctx.name, issuer=endpoints.issuer, iss_required=endpoints.iss_required
        )

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
        tokens = await exchange
    else:
        tokens = await _within(ctx, exchange, lifetime)
    await idtoken.check(ctx, endpoints, tokens, nonce=nonce)
    return tokens


async def _within(ctx: FlowContext, exchange: Awaitable[TokenSet], lifetime: float) -> TokenSet:
    """The exchange, abandoned once the code has died.

    The code dies ``lifetime`` seconds after it was issued, i.e. just before it reached us: an
    exchange stuck behind Retry-After waits or a slow network is abandoned, not retried forever.
    """
    expired = LoginTimeout(
        f"the authorization code expired before it could be exchanged (codes live {round(lifetime)} s)",
        account=ctx.name,
    )
    try:
        return await asyncio.wait_for(exchange, lifetime)
    except TimeoutError:
        raise expired from None
    except oauth.GrantExpired:
        raise expired from None
