"""The four vendors with token APIs of their own: Sentiance, Senseye, Sensos, Amino.

Each answers in its vendor's documented shape, errors included, because the client's job is to
read those shapes (``expires_at`` ISO strings, ``expiresIn``, JSON:API envelopes) and to show a
vendor's error body as one clear line.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trayauth.demo.grants import Family, Rejected
from trayauth.demo.wire import Reply, Request, Route, oauth_error

if TYPE_CHECKING:
    from trayauth.demo.context import Context

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSONAPI = "application/vnd.api+json"
REFRESH_REASONS = {
    "unknown": "unknown refresh token",
    "reused": "refresh token already used: the session is revoked, log in again",
    "revoked": "the session was revoked, log in again",
    "expired": "refresh token expired, log in again",
}


def iso_ms(moment: float) -> str:
    """Sentiance's timestamp format: ISO 8601 UTC with milliseconds and a Z."""
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def object_id(username: str) -> str:
    """A stable 24-hex user id (Sentiance's ids look like Mongo ObjectIds)."""
    return hashlib.sha256(username.encode()).hexdigest()[:24]


def expiry(ctx: Context, vendor: str) -> tuple[float, float | None]:
    """(now, expires_at) on the server's clock; expires_at None when tokens never expire."""
    now = ctx.now()
    lifetime = ctx.settings.lifetimes.get(vendor)
    return now, None if lifetime is None else now + lifetime


# --- Sentiance: email/password -> one-time code -> opaque token + rotating refresh token -------


def _sentiance_error(status: int, message: str) -> Reply:
    error = {400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
    return Reply(status, {"error": error, "message": message})


def sentiance_login(ctx: Context, req: Request) -> Reply:
    body = req.json()
    if body is None:
        return _sentiance_error(400, "expected a JSON body with username and password")
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    if not ctx.accounts.password_ok("sentiance", username, password):
        return _sentiance_error(401, "Invalid username or password")
    user = object_id(username)
    code = ctx.codes["sentiance"].issue(
        ctx.settings.code_ttl["sentiance"], value=secrets.token_hex(56), user=user, username=username
    )
    return Reply(200, {"user": user, "authorization_code": code}, token_path=("authorization_code",))


def _sentiance_pair(ctx: Context, family: Family) -> Reply:
    now, expires_at = expiry(ctx, "sentiance")
    token = secrets.token_hex(48)
    ctx.book.record("sentiance", token, sub=family.sub, expires_at=expires_at, family=family)
    refresh = ctx.book.rotate(
        family, lambda: secrets.token_hex(50), ctx.settings.refresh_lifetimes.get("sentiance")
    )
    body = {
        "id": str(uuid.uuid4()),
        "user_id": family.sub,
        "token": token,
        "refresh_token": refresh,
        "expires_at": None if expires_at is None else iso_ms(expires_at),
        "token_type": "self",
        "updated_at": iso_ms(now),
        "created_at": family.extra["created_at"],
        "app_id": "00000000000000000000000a",
    }
    return Reply(200, body, headers=dict(NO_STORE), token_path=("token",))


def sentiance_token(ctx: Context, req: Request) -> Reply:
    body = req.json()
    if body is None:
        return _sentiance_error(400, "expected a JSON body")
    grant = body.get("grant_type")
    if grant == "code":
        if body.get("token_type") != "self":
            return _sentiance_error(400, 'token_type must be "self"')
        try:
            code = ctx.codes["sentiance"].take(str(body.get("code", "")))
        except Rejected as exc:
            return _sentiance_error(401, f"authorization code {exc.reason}")
        family = ctx.book.family("sentiance", code.data["user"], created_at=iso_ms(ctx.now()))
        return _sentiance_pair(ctx, family)
    if grant == "refresh_token":
        try:
            family = ctx.book.redeem("sentiance", str(body.get("refresh_token", "")))
        except Rejected as exc:
            return _sentiance_error(401, REFRESH_REASONS[exc.reason])
        ctx.book.renewed("sentiance")
        return _sentiance_pair(ctx, family)
    return _sentiance_error(400, 'grant_type must be "code" or "refresh_token"')


# --- Senseye: OAuth 2.0 password grant, form-encoded only, rate limited, no refresh token -------


def senseye_token(ctx: Context, req: Request) -> Reply:
    form = req.form()
    if form is None:
        return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    if form.get("grant_type") != "password":
        return oauth_error(400, "unsupported_grant_type", "only grant_type=password is supported")
    username, password = form.get("username", ""), form.get("password", "")
    if not ctx.accounts.password_ok("senseye", username, password):
        return oauth_error(401, "invalid_grant", "Invalid username or password")
    now, expires_at = expiry(ctx, "senseye")
    claims: dict[str, Any] = {"iss": ctx.base_url("senseye"), "sub": username, "iat": int(now)}
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    token = ctx.mint.jwt(claims)
    ctx.book.record("senseye", token, sub=username, expires_at=expires_at, claims=claims)
    body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
    if expires_at is not None:
        body["expires_in"] = round(expires_at - now)
    return Reply(200, body, headers=dict(NO_STORE), token_path=("access_token",))


# --- Sensos: application credentials as JSON -> {accessToken, expiresIn} ------------------------


def _sensos_error(status: int, message: str) -> Reply:
    return Reply(status, {"error": "Unauthorized" if status == 401 else "Bad Request", "message": message})


def sensos_token(ctx: Context, req: Request) -> Reply:
    body = req.json()
    if body is None:
        return _sensos_error(400, "expected a JSON body")
    tenant, app, secret = (str(body.get(k, "")) for k in ("tenantId", "applicationId", "applicationSecret"))
    if not (tenant and app and secret):
        return _sensos_error(400, "tenantId, applicationId and applicationSecret are required")
    if not ctx.accounts.app_secret_ok(tenant, app, secret):
        return _sensos_error(401, "Invalid or expired access token")  # sic: the vendor's own wording
    now, expires_at = expiry(ctx, "sensos")
    claims: dict[str, Any] = {"iss": ctx.base_url("sensos"), "sub": app, "tenantId": tenant, "iat": int(now)}
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    token = ctx.mint.jwt(claims)
    ctx.book.record("sensos", token, sub=app, expires_at=expires_at, claims=claims)
    answer: dict[str, Any] = {"accessToken": token}
    if expires_at is not None:
        answer["expiresIn"] = round(expires_at - now)
    return Reply(200, answer, headers=dict(NO_STORE), token_path=("accessToken",))


# --- Amino: JSON:API envelope; expires_at_timestamp is the truth, the JWT exp deliberately is not


def _amino_error(status: int, title: str, detail: str) -> Reply:
    return Reply(
        status, {"errors": [{"status": str(status), "title": title, "detail": detail}]}, content_type=JSONAPI
    )


def _amino_pair(ctx: Context, family: Family) -> Reply:
    now, expires_at = expiry(ctx, "amino")
    iss, aud = "AminoMove", ctx.base_url("amino")
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "sub": family.sub,
        "iat": int(now),
        "profile_id": family.extra["profile_id"],
        "type": "access",
    }
    if expires_at is not None:
        claims["exp"] = int(expires_at + ctx.settings.amino_claim_skew)
    token = ctx.mint.jwt(claims)
    ctx.book.record("amino", token, sub=family.sub, expires_at=expires_at, family=family, claims=claims)
    refresh_life = ctx.settings.refresh_lifetimes.get("amino")
    refresh_claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "sub": family.sub,
        "iat": int(now),
        "type": "refresh",
    }
    if refresh_life is not None:
        refresh_claims["exp"] = int(now + refresh_life)
    refresh = ctx.book.rotate(family, lambda: ctx.mint.jwt(refresh_claims), refresh_life)
    attributes = {
        "login_timestamp": family.extra["login_timestamp"],
        "user_id": family.extra["user_id"],
        "user_profile_id": family.extra["profile_id"],
        "access_token": token,
        "expires_at_timestamp": None if expires_at is None else int(expires_at),
        "refresh_token": refresh,
    }
    body = {"data": [{"type": "AuthenticationTokens", "id": str(uuid.uuid4()), "attributes": attributes}]}
    return Reply(
        200,
        body,
        content_type=JSONAPI,
        headers=dict(NO_STORE),
        token_path=("data", 0, "attributes", "access_token"),
    )


def amino_tokens(ctx: Context, req: Request) -> Reply:
    params = req.json()
    if params is None:
        params = req.form()
    if params is None:
        return _amino_error(400, "Bad Request", "send JSON (or form) with username and password")
    grant = params.get("grant_type")
    if grant == "refresh_token":
        try:
            family = ctx.book.redeem("amino", str(params.get("refresh_token", "")))
        except Rejected as exc:
            return _amino_error(401, "Unauthorized", REFRESH_REASONS[exc.reason])
        ctx.book.renewed("amino")
        return _amino_pair(ctx, family)
    if grant not in (None, "password"):
        return _amino_error(400, "Bad Request", "grant_type=refresh_token is the only grant supported")
    username, password = str(params.get("username", "")), str(params.get("password", ""))
    if not ctx.accounts.password_ok("amino", username, password):
        return _amino_error(401, "Unauthorized", "Invalid username or password")
    family = ctx.book.family(
        "amino",
        username,
        login_timestamp=int(ctx.now()),
        user_id=int(object_id(username)[:6], 16),
        profile_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "amino:" + username)),
    )
    return _amino_pair(ctx, family)


ROUTES = [
    Route("sentiance", "auth/local", "auth/local", ("POST",), sentiance_login, limited=True),
    Route("sentiance", "auth/token", "auth/token", ("POST",), sentiance_token, limited=True),
    Route("senseye", "oauth/token", "oauth/token", ("POST",), senseye_token, limited=True),
    Route("sensos", "v1/applications/token", "v1/applications/token", ("POST",), sensos_token, limited=True),
    Route(
        "amino",
        "api/auth/v1/access_tokens",
        "api/auth/v1/access_tokens",
        ("POST",),
        amino_tokens,
        limited=True,
    ),
]
