"""A generic OAuth 2.0 + OpenID Connect server, and the dialects of real providers on top of it.

It serves every OAuth preset (authorization code + PKCE over a loopback redirect, password,
client credentials, device code), the refresh grant with rotation and reuse detection, RFC 7009
revocation with client authentication, RFC 9207 ``iss`` in authorization responses, and ID
tokens signed with a published key (ES256, ``jwks_uri``). The authorize endpoint auto-approves
as the demo user, like a browser session already signed in. Each :class:`Dialect` (GitHub,
Google, Microsoft Entra ID, GitLab, Auth0, Okta, Keycloak) changes the paths and the behaviours
its provider documents; all share the ``oauth`` vendor's users, clients and tokens.
"""

from __future__ import annotations

import secrets
import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt

from trayauth.demo import clients
from trayauth.demo.accounts import Client
from trayauth.demo.device import Refused, device_page
from trayauth.demo.dialects import DIALECTS, Dialect
from trayauth.demo.grants import Family, Rejected
from trayauth.demo.wire import Answer, Reply, Request, Route, oauth_error

if TYPE_CHECKING:
    from trayauth.demo.context import Context

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", "password", "client_credentials", DEVICE_GRANT)
DEFAULT_SCOPE = "api"
OFFLINE = "offline_access"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PROFILE = {"demo": {"name": "Demo User", "preferred_username": "demo", "email": "demo@oauth.test"}}
STATE = "oauth"  # every dialect keeps its users, clients, codes and tokens under this vendor


def issuer(ctx: Context, d: Dialect) -> str:
    base = ctx.base_url(d.vendor) + (f"/{d.issuer_path}" if d.issuer_path else "")
    return base + "/" if d.issuer_slash else base


def _url(ctx: Context, d: Dialect, path: str) -> str:
    return f"{ctx.base_url(d.vendor)}/{path}"


def _supported(ctx: Context, d: Dialect) -> tuple[str, ...] | None:
    if d.vendor == STATE and ctx.settings.scopes_supported is not None:
        return tuple(ctx.settings.scopes_supported)  # e.g. a server without offline_access (DOT)
    return d.scopes


def _unknown_scopes(ctx: Context, d: Dialect, scope: str) -> list[str]:
    supported = _supported(ctx, d)
    if supported is None:
        return []
    return [s for s in scope.split() if s not in supported]


def discovery(d: Dialect) -> Any:
    def handler(ctx: Context, req: Request) -> Reply:
        doc: dict[str, Any] = {
            "issuer": issuer(ctx, d),
            "authorization_endpoint": _url(ctx, d, d.authorize),
            "token_endpoint": _url(ctx, d, d.token),
            "response_types_supported": ["code"],
            "grant_types_supported": list(GRANTS),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        }
        supported = _supported(ctx, d)
        if supported is not None:
            doc["scopes_supported"] = list(supported)
        for key, path in (
            ("device_authorization_endpoint", d.device),
            ("userinfo_endpoint", d.userinfo),
            ("revocation_endpoint", d.revoke),
            ("jwks_uri", d.jwks),
        ):
            if path is not None:
                doc[key] = _url(ctx, d, path)
        if d.revoke is not None:
            doc["revocation_endpoint_auth_methods_supported"] = [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ]
        if d.iss_parameter:
            doc["authorization_response_iss_parameter_supported"] = True
        return Reply(200, doc)

    return handler


def _refresh_allowed(ctx: Context, d: Dialect, q: dict[str, str], scope: list[str], client_id: str) -> bool:
    """Whether this sign-in earns a refresh token, by the dialect's documented rule."""
    if d.refresh == "offline_scope":
        return OFFLINE in scope
    if d.refresh == "access_type":
        if q.get("access_type") != "offline":
            return False
        first = (client_id, "demo") not in ctx.consented
        ctx.consented.add((client_id, "demo"))
        return first or q.get("prompt") == "consent"
    if d.refresh == "expiring":
        return ctx.settings.github_expiring_tokens
    return True


def authorize(d: Dialect) -> Any:
    def handler(ctx: Context, req: Request) -> Reply:
        client, redirect_uri, echo = clients.approval(ctx, STATE, req)
        if d.iss_parameter:
            echo = {**echo, "iss": issuer(ctx, d)}
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
        scope = (q.get("scope") or DEFAULT_SCOPE).split()
        unknown = _unknown_scopes(ctx, d, " ".join(scope))
        if unknown:
            return clients.redirect_error(redirect_uri, echo, "invalid_scope", f"unknown scope {unknown[0]}")
        if d.refresh == "consent" and OFFLINE in scope and q.get("prompt") != "consent":
            # OpenID Connect Core §11: offline_access is ignored unless prompt=consent (oidc-provider).
            scope = [s for s in scope if s != OFFLINE]
            refresh = False
        else:
            refresh = _refresh_allowed(ctx, d, q, scope, client.client_id)
        code = ctx.codes[STATE].issue(
            ctx.settings.code_ttl[STATE],
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=" ".join(scope),
            challenge=challenge,
            nonce=q.get("nonce"),
            sub="demo",
            refresh=refresh,
            dialect=d.vendor,
        )
        return Reply(302, redirect=redirect_uri, params={"code": code, **echo}, token_path=("code",))

    return handler


def issue(
    ctx: Context,
    client: Client,
    sub: str,
    scope: str,
    *,
    family: Family | None = None,
    nonce: str | None = None,
    d: Dialect | None = None,
    rotate: bool = True,
) -> Reply:
    """A token response; with a refresh token when ``family`` is given (a new one if ``rotate``)."""
    d = d or DIALECTS[STATE]
    now = ctx.now()
    iss = issuer(ctx, d)
    expires_at = ctx.expires_at(STATE)
    if d.refresh == "expiring" and not ctx.settings.github_expiring_tokens:
        expires_at = None  # GitHub's OAuth app tokens do not expire unless the app opts in
    claims: dict[str, Any] = {
        "iss": iss,
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
        STATE, token, sub=sub, expires_at=expires_at, family=family, scope=scope, client_id=client.client_id
    )
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "scope": scope}
    if expires_at is not None:
        body["expires_in"] = round(expires_at - now)
    if family is not None and rotate:
        lifetime = ctx.settings.refresh_lifetimes.get(STATE)
        body["refresh_token"] = ctx.book.rotate(family, lambda: secrets.token_urlsafe(32), lifetime)
        if d.refresh == "expiring":
            body["refresh_token_expires_in"] = 15897600  # GitHub: six months
    if "openid" in scope.split() and sub in PROFILE:
        id_claims: dict[str, Any] = {"iss": iss, "sub": sub, "aud": client.client_id, "iat": int(now)}
        id_claims["exp"] = int(now + 3600)
        if nonce:
            id_claims["nonce"] = nonce
        id_claims.update(ctx.settings.id_token_overrides)
        if ctx.settings.id_token_hs256 and client.secret:
            with warnings.catch_warnings():  # the demo secrets are short on purpose (readable)
                warnings.simplefilter("ignore", getattr(jwt, "InsecureKeyLengthWarning", UserWarning))
                body["id_token"] = jwt.encode(id_claims, client.secret.encode(), algorithm="HS256")
        else:
            body["id_token"] = ctx.mint.id_token(id_claims)
    return Reply(200, body, headers=dict(NO_STORE), token_path=("access_token",))


def _code_grant(ctx: Context, d: Dialect, client: Client, form: dict[str, str]) -> Reply:
    code = clients.redeem(ctx, STATE, form, client)
    if code.data.get("dialect", STATE) != d.vendor:
        return oauth_error(400, "invalid_grant", "the code was issued by another authorization server")
    scope = code.data["scope"]
    family = ctx.book.family(STATE, code.data["sub"], client_id=client.client_id, scope=scope)
    code.family = family
    keep = family if code.data.get("refresh", True) else None
    return issue(ctx, client, family.sub, scope, family=keep, nonce=code.data.get("nonce"), d=d)


def _refresh_grant(ctx: Context, d: Dialect, client: Client, form: dict[str, str]) -> Reply:
    try:
        family = ctx.book.redeem(STATE, form.get("refresh_token", ""))
    except Rejected as exc:
        return oauth_error(400, "invalid_grant", f"refresh token {exc.reason}")
    if family.client_id != client.client_id:
        return oauth_error(400, "invalid_grant", "the refresh token was issued to another client")
    granted = family.scope.split()
    wanted = form.get("scope", "").split() or granted
    if not set(wanted) <= set(granted):
        return oauth_error(400, "invalid_scope", "a refresh cannot widen the scope")
    ctx.book.renewed(STATE)
    return issue(ctx, client, family.sub, " ".join(wanted), family=family, d=d, rotate=d.rotate)


def _password_grant(ctx: Context, d: Dialect, client: Client, form: dict[str, str]) -> Reply:
    username = form.get("username", "")
    if not ctx.accounts.password_ok(STATE, username, form.get("password", "")):
        return oauth_error(400, "invalid_grant", "invalid username or password")
    scope = form.get("scope") or DEFAULT_SCOPE
    family = ctx.book.family(STATE, username, client_id=client.client_id, scope=scope)
    return issue(ctx, client, username, scope, family=family, d=d)


def _device_grant(ctx: Context, d: Dialect, client: Client, form: dict[str, str]) -> Reply:
    try:
        auth = ctx.devices.poll(form.get("device_code", ""), client.client_id)
    except Refused as exc:
        return oauth_error(400, exc.error, exc.description)
    scope = auth.scope or DEFAULT_SCOPE
    family = ctx.book.family(STATE, auth.sub, client_id=client.client_id, scope=scope)
    refresh = d.refresh not in ("offline_scope", "expiring") or (
        OFFLINE in scope.split() if d.refresh == "offline_scope" else ctx.settings.github_expiring_tokens
    )
    return issue(ctx, client, auth.sub, scope, family=family if refresh else None, d=d)


def _github_wire(req: Request, reply: Reply) -> Reply:
    """GitHub answers token errors with 200, and form-encodes unless asked for JSON."""
    if reply.status == 400 and isinstance(reply.body, dict) and "error" in reply.body:
        reply = Reply(200, reply.body, headers=reply.headers)
    if "application/json" not in req.headers.get("accept", "") and isinstance(reply.body, dict):
        data = urlencode({k: str(v) for k, v in reply.body.items()}).encode()
        return Reply(
            reply.status, data, content_type="application/x-www-form-urlencoded", headers=reply.headers
        )
    return reply


def _authenticate(
    ctx: Context, d: Dialect, req: Request, form: dict[str, str], *, confidential: bool
) -> Client:
    client = clients.authenticate(ctx, STATE, req, form, confidential=confidential)
    if d.secret_required and req.basic() is None and not form.get("client_secret"):
        raise Answer(oauth_error(400, "invalid_request", "client_secret is missing"))
    return client


def token(d: Dialect) -> Any:
    def handler(ctx: Context, req: Request) -> Reply:
        reply = _token(ctx, d, req)
        return _github_wire(req, reply) if d.github_wire else reply

    return handler


def _token(ctx: Context, d: Dialect, req: Request) -> Reply:
    form = req.form()
    if form is None:
        return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    grant = form.get("grant_type", "")
    if grant not in GRANTS:
        return oauth_error(400, "unsupported_grant_type", f"unsupported grant_type {grant!r}")
    try:
        client = _authenticate(ctx, d, req, form, confidential=grant == "client_credentials")
    except Answer as answer:
        return answer.reply
    unknown = _unknown_scopes(ctx, d, form.get("scope", ""))
    if unknown and grant in ("password", "client_credentials"):
        return oauth_error(400, "invalid_scope", f"unknown scope {unknown[0]}")
    if grant == "authorization_code":
        return _code_grant(ctx, d, client, form)
    if grant == "refresh_token":
        return _refresh_grant(ctx, d, client, form)
    if grant == "password":
        return _password_grant(ctx, d, client, form)
    if grant == "client_credentials":
        return issue(ctx, client, client.client_id, form.get("scope") or DEFAULT_SCOPE, d=d)
    return _device_grant(ctx, d, client, form)


def device_authorization(d: Dialect) -> Any:
    def handler(ctx: Context, req: Request) -> Reply:
        form = req.form()
        if form is None:
            return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
        # RFC 8628 §3.1: client_id in the form, or the client's own authentication (HTTP Basic).
        client = clients.authenticate(ctx, STATE, req, form)
        scope = form.get("scope", "")
        unknown = _unknown_scopes(ctx, d, scope)
        if unknown:
            return oauth_error(400, "invalid_scope", f"unknown scope {unknown[0]}")
        s = ctx.settings
        auth = ctx.devices.start(client.client_id, scope, s.device_expires_in, s.device_interval)
        page = _url(ctx, d, d.device_page)
        reply = Reply(
            200,
            {
                "device_code": auth.device_code,
                "user_code": auth.user_code,
                "verification_uri": page,
                "verification_uri_complete": f"{page}?user_code={auth.user_code}",
                "expires_in": s.device_expires_in,
                "interval": s.device_interval,
            },
            headers={"Cache-Control": "no-store"},
            token_path=("device_code",),
        )
        return _github_wire(req, reply) if d.github_wire else reply

    return handler


def userinfo(ctx: Context, req: Request) -> Reply:
    token_value = req.bearer()
    issued = ctx.book.lookup(STATE, token_value) if token_value else None
    if issued is None:
        challenge = 'Bearer error="invalid_token", error_description="missing, expired or revoked"'
        return Reply(401, {"error": "invalid_token"}, headers={"WWW-Authenticate": challenge})
    return Reply(200, {"sub": issued.sub, **PROFILE.get(issued.sub, {})})


def revoke(d: Dialect) -> Any:
    def handler(ctx: Context, req: Request) -> Reply:
        """RFC 7009: 200 whether or not the token was known; the client authenticates as at the
        token endpoint (Google alone takes a bare token)."""
        form = req.form()
        if form is None:
            return oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
        if not (d.vendor == "google" and "client_id" not in form and req.basic() is None):
            clients.authenticate(ctx, STATE, req, form)
        value = form.get("token", "")
        if not d.revoke_access_tokens and ctx.book.lookup(STATE, value) is not None:
            return oauth_error(400, "unsupported_token_type", "only refresh tokens can be revoked")
        ctx.book.revoke_token(STATE, value)
        ctx.revoked.append(form.get("token_type_hint", ""))
        return Reply(200, {})

    return handler


def jwks(ctx: Context, req: Request) -> Reply:
    return Reply(200, ctx.mint.jwks())


def routes_of(d: Dialect) -> list[Route]:
    v = d.vendor
    out = [
        Route(v, d.authorize, "authorize", ("GET",), authorize(d), interactive=True),
        Route(v, d.token, "token", ("POST",), token(d), limited=True),
    ]
    if d.discovery is not None:
        out.append(Route(v, d.discovery, "openid-configuration", ("GET",), discovery(d)))
    if d.userinfo is not None:
        out.append(Route(v, d.userinfo, "userinfo", ("GET", "POST"), userinfo))
    if d.revoke is not None:
        out.append(Route(v, d.revoke, "revoke", ("POST",), revoke(d)))
    if d.jwks is not None:
        out.append(Route(v, d.jwks, "jwks", ("GET",), jwks))
    if d.device is not None:
        out.append(Route(v, d.device, "device_authorization", ("POST",), device_authorization(d)))
        out.append(Route(v, d.device_page, "device", ("GET", "POST"), device_page))
    return out


ROUTES = [route for d in DIALECTS.values() for route in routes_of(d)]
