"""A generic OAuth 2.0 + OpenID Connect server: discovery, authorize, token, userinfo, revoke.

It serves every OAuth preset (authorization code + PKCE over a loopback redirect, password,
client credentials, device code) and the refresh grant with rotation and reuse detection. The
authorize endpoint auto-approves as the demo user, like a browser session already signed in.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from trayauth.demo import clients
from trayauth.demo.accounts import Client
from trayauth.demo.device import Refused
from trayauth.demo.grants import Family, Rejected
from trayauth.demo.wire import Reply, Request, Route, oauth_error

if TYPE_CHECKING:
    from trayauth.demo.context import Context

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", "password", "client_credentials", DEVICE_GRANT)
DEFAULT_SCOPE = "api"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PROFILE = {"demo": {"name": "Demo User", "preferred_username": "demo", "email": "demo@oauth.test"}}


def discovery(ctx: Context, req: Request) -> Reply:
    base = ctx.base_url("oauth")
    return Reply(
        200,
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "device_authorization_endpoint": f"{base}/device_authorization",
            "userinfo_endpoint": f"{base}/userinfo",
            "revocation_endpoint": f"{base}/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANTS),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["openid", "profile", "email", "offline_access", DEFAULT_SCOPE],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256"],
        },
    )


def authorize(ctx: Context, req: Request) -> Reply:
    client, redirect_uri, echo = clients.approval(ctx, "oauth", req)
    q = req.query
    if q.get("response_type") != "code":
        return clients.redirect_error(
            redirect_uri, echo, "unsupported_response_type", "only response_type=code"
        )
    challenge, method = q.get("code_challenge"), q.get("code_challenge_method", "plain")
    if challenge and method != "S256":
        return clients.redirect_error(
            redirect_uri, echo, "invalid_request", "code_challenge_method must be S256"
        )
    if not challenge and client.public:
        return clients.redirect_error(
            redirect_uri, echo, "invalid_request", "public clients must use PKCE (S256)"
        )
    code = ctx.codes["oauth"].issue(
        ctx.settings.code_ttl["oauth"],
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=q.get("scope") or DEFAULT_SCOPE,
        challenge=challenge,
        nonce=q.get("nonce"),
        sub="demo",
    )
    return Reply(302, redirect=redirect_uri, params={"code": code, **echo}, token_path=("code",))


def issue(
    ctx: Context,
    client: Client,
    sub: str,
    scope: str,
    *,
    family: Family | None = None,
    nonce: str | None = None,
) -> Reply:
    """A token response; with a refresh token (rotated) when ``family`` is given."""
    now = ctx.now()
    base = ctx.base_url("oauth")
    expires_at = ctx.expires_at("oauth")
    claims: dict[str, Any] = {
        "iss": base,
        "sub": sub,
        "aud": client.client_id,
        "client_id": client.client_id,
        "scope": scope,
        "iat": int(now),
    }
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    token = ctx.mint.jwt(claims)
    ctx.book.record(
        "oauth", token, sub=sub, expires_at=expires_at, family=family, scope=scope, client_id=client.client_id
    )
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "scope": scope}
    if expires_at is not None:
        body["expires_in"] = round(expires_at - now)
    if family is not None:
        lifetime = ctx.settings.refresh_lifetimes.get("oauth")
        body["refresh_token"] = ctx.book.rotate(family, lambda: secrets.token_urlsafe(32), lifetime)
    if "openid" in scope.split() and sub in PROFILE:
        id_claims: dict[str, Any] = {"iss": base, "sub": sub, "aud": client.client_id, "iat": int(now)}
        id_claims["exp"] = int(now + 3600)
        if nonce:
            id_claims["nonce"] = nonce
        body["id_token"] = ctx.mint.jwt(id_claims)
    return Reply(200, body, headers=dict(NO_STORE), token_path=("access_token",))


def _code_grant(ctx: Context, client: Client, form: dict[str, str]) -> Reply:
    code = clients.redeem(ctx, "oauth", form, client)
    scope = code.data["scope"]
    family = ctx.book.family("oauth", code.data["sub"], client_id=client.client_id, scope=scope)
    code.family = family
    return issue(ctx, client, family.sub, scope, family=family, nonce=code.data.get("nonce"))


def _refresh_grant(ctx: Context, client: Client, form: dict[str, str]) -> Reply:
    try:
        family = ctx.book.redeem("oauth", form.get("refresh_token", ""))
    except Rejected as exc:
        return oauth_error(400, "invalid_grant", f"refresh token {exc.reason}")
    if family.client_id != client.client_id:
        return oauth_error(400, "invalid_grant", "the refresh token was issued to another client")
    granted = family.scope.split()
    wanted = form.get("scope", "").split() or granted
    if not set(wanted) <= set(granted):
        return oauth_error(400, "invalid_scope", "a refresh cannot widen the scope")
    ctx.book.renewed("oauth")
    return issue(ctx, client, family.sub, " ".join(wanted), family=family)


def _password_grant(ctx: Context, client: Client, form: dict[str, str]) -> Reply:
    username = form.get("username", "")
    if not ctx.accounts.password_ok("oauth", username, form.get("password", "")):
        return oauth_error(400, "invalid_grant", "invalid username or password")
    scope = form.get("scope") or DEFAULT_SCOPE
    family = ctx.book.family("oauth", username, client_id=client.client_id, scope=scope)
    return issue(ctx, client, username, scope, family=family)


def _device_grant(ctx: Context, client: Client, form: dict[str, str]) -> Reply:
    try:
        auth = ctx.devices.poll(form.get("device_code", ""), client.client_id)
    except Refused as exc:
        return oauth_error(400, exc.error, exc.description)
    scope = auth.scope or DEFAULT_SCOPE
    family = ctx.book.family("oauth", auth.sub, client_id=client.client_id, scope=scope)
    return issue(ctx, client, auth.sub, scope, family=family)


def token(ctx: Context, req: Request) -> Reply:
    form = req.form()
    if form is None:
        return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    grant = form.get("grant_type", "")
    if grant not in GRANTS:
        return oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
    client = clients.authenticate(ctx, "oauth", req, form, confidential=grant == "client_credentials")
    if grant == "authorization_code":
        return _code_grant(ctx, client, form)
    if grant == "refresh_token":
        return _refresh_grant(ctx, client, form)
    if grant == "password":
        return _password_grant(ctx, client, form)
    if grant == "client_credentials":
        return issue(ctx, client, client.client_id, form.get("scope") or DEFAULT_SCOPE)
    return _device_grant(ctx, client, form)


def userinfo(ctx: Context, req: Request) -> Reply:
    token_value = req.bearer()
    issued = ctx.book.lookup("oauth", token_value) if token_value else None
    if issued is None:
        challenge = 'Bearer error="invalid_token", error_description="missing, expired or revoked"'
        return Reply(401, {"error": "invalid_token"}, headers={"WWW-Authenticate": challenge})
    return Reply(200, {"sub": issued.sub, **PROFILE.get(issued.sub, {})})


def revoke(ctx: Context, req: Request) -> Reply:
    """RFC 7009: always 200, whether or not the token was known."""
    form = req.form()
    if form is None:
        return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    clients.authenticate(ctx, "oauth", req, form)
    ctx.book.revoke_token("oauth", form.get("token", ""))
    return Reply(200, {})


ROUTES = [
    Route("oauth", ".well-known/openid-configuration", "openid-configuration", ("GET",), discovery),
    Route("oauth", "authorize", "authorize", ("GET",), authorize, interactive=True),
    Route("oauth", "token", "token", ("POST",), token, limited=True),
    Route("oauth", "userinfo", "userinfo", ("GET", "POST"), userinfo),
    Route("oauth", "revoke", "revoke", ("POST",), revoke),
]
