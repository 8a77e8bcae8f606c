"""Attentive: a private app's API key checked at ``/v1/me``, and a public app's OAuth install.

The install page stands in for Attentive's UI: it plays the approving user and redirects at once.
Codes live two minutes on the server clock, are single-use and bound to client and redirect URI;
the access token they buy never expires (the vendor's words), so there is no refresh token.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from trayauth.demo import clients
from trayauth.demo.wire import Reply, Request, Route, oauth_error

if TYPE_CHECKING:
    from trayauth.demo.context import Context

UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="attentive"'}


def me(ctx: Context, req: Request) -> Reply:
    token = req.bearer()
    app = ctx.subject("attentive", token)
    if app is None:
        return Reply(401, {"error": "Unauthorized", "message": "Invalid API key"}, headers=dict(UNAUTHORIZED))
    return Reply(
        200, {"applicationName": app, "companyName": "Demo Company", "contactEmail": "demo@attentive.test"}
    )


def install(ctx: Context, req: Request) -> Reply:
    client, redirect_uri, echo = clients.approval(ctx, "attentive", req)
    code = ctx.codes["attentive"].issue(
        ctx.settings.code_ttl["attentive"],
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=req.query.get("scope", ""),
    )
    return Reply(302, redirect=redirect_uri, params={"code": code, **echo}, token_path=("code",))


def tokens(ctx: Context, req: Request) -> Reply:
    form = req.form()
    if form is None:
        return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    client = clients.authenticate(ctx, "attentive", req, form, confidential=True)
    if form.get("grant_type") != "authorization_code":
        return oauth_error(400, "unsupported_grant_type", "only authorization_code is supported")
    # Attentive documents no PKCE; like any server that does not know a parameter (RFC 6749 §3.2)
    # it ignores code_verifier, as its install page ignores code_challenge.
    form.pop("code_verifier", None)
    code = clients.redeem(ctx, "attentive", form, client)
    scope = code.data["scope"]
    family = ctx.book.family("attentive", client.client_id, client_id=client.client_id, scope=scope)
    code.family = family
    token = secrets.token_urlsafe(32)
    ctx.book.record(
        "attentive",
        token,
        sub=client.client_id,
        expires_at=ctx.expires_at("attentive"),
        family=family,
        scope=scope,
        client_id=client.client_id,
    )
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "scope": scope}
    lifetime = ctx.settings.lifetimes.get("attentive")
    if lifetime is not None:  # only when a test gives these tokens a lifetime; Attentive's never expire
        body["expires_in"] = round(lifetime)
    return Reply(200, body, headers={"Cache-Control": "no-store"}, token_path=("access_token",))


ROUTES = [
    Route("attentive", "v1/me", "v1/me", ("GET",), me),
    Route("attentive", "ui/integrations/oauth-install", "oauth-install", ("GET",), install, interactive=True),
    Route(
        "attentive",
        "v1/authorization-codes/tokens",
        "v1/authorization-codes/tokens",
        ("POST",),
        tokens,
        limited=True,
    ),
]
