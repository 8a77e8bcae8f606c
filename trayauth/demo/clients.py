"""The OAuth pieces Attentive and the generic server share: client authentication, the approval
redirect, and redeeming an authorization code (binding, expiry, single use, PKCE).

Kept strict on purpose: a client that passes against this server sends what RFC 6749, RFC 7636
and RFC 8252 ask, so it will pass against a real server that is strict too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from trayauth.demo.accounts import Client, redirect_allowed
from trayauth.demo.grants import Code, Rejected, UsedCode
from trayauth.demo.wire import Answer, Reply, Request, html, oauth_error

if TYPE_CHECKING:
    from trayauth.demo.context import Context

VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authenticate(
    ctx: Context, vendor: str, req: Request, form: dict[str, str], *, confidential: bool = False
) -> Client:
    """The calling client: secret in the form (client_secret_post) or HTTP Basic, never both.

    Public clients identify themselves with client_id alone; ``confidential`` demands a secret.
    """
    basic = req.basic()
    secret: str | None
    if basic is not None and "client_secret" in form:
        raise Answer(oauth_error(400, "invalid_request", "use one client authentication method, not two"))
    if basic is not None:
        client_id, secret = basic
        if form.get("client_id", client_id) != client_id:
            raise Answer(oauth_error(400, "invalid_request", "client_id differs from the Basic credentials"))
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
    challenge = {"WWW-Authenticate": f'Basic realm="{vendor}"'} if basic is not None else {}
    client = ctx.accounts.client(vendor, client_id)
    if client is None:
        raise Answer(oauth_error(401, "invalid_client", "unknown client", challenge))
    if client.secret is None:
        if confidential:
            raise Answer(oauth_error(400, "unauthorized_client", "this grant needs a confidential client"))
        return client
    if not secret or not hmac.compare_digest(secret.encode(), client.secret.encode()):
        raise Answer(oauth_error(401, "invalid_client", "client authentication failed", challenge))
    return client


def approval(ctx: Context, vendor: str, req: Request) -> tuple[Client, str, dict[str, str]]:
    """Check an authorization request that arrives in the browser.

    Returns the client, the redirect URI and the params the answer must echo (state). An unknown
    client or unregistered redirect URI gets an error page, never a redirect (RFC 6749 §4.1.2.1).
    """
    q = req.query
    client = ctx.accounts.client(vendor, q.get("client_id", ""))
    if client is None:
        raise Answer(html(400, "Unknown application", "The client_id is not registered with this provider."))
    redirect_uri = q.get("redirect_uri", "")
    if not redirect_allowed(client, redirect_uri):
        raise Answer(
            html(400, "Redirect URI not allowed", "The redirect_uri is not registered for this app.")
        )
    echo = {"state": q["state"]} if "state" in q else {}
    if req.deny or client.denies:
        raise Answer(redirect_error(redirect_uri, echo, "access_denied", "the user did not approve the app"))
    return client, redirect_uri, echo


def redirect_error(redirect_uri: str, echo: dict[str, str], error: str, description: str) -> Reply:
    return Reply(
        302, redirect=redirect_uri, params={"error": error, "error_description": description, **echo}
    )


def redeem(ctx: Context, vendor: str, form: dict[str, str], client: Client) -> Code:
    """Spend an authorization code for ``client``; a replayed code revokes what it was swapped for."""
    try:
        code = ctx.codes[vendor].take(form.get("code", ""))
    except UsedCode as exc:
        if exc.code.family is not None:
            ctx.book.revoke(exc.code.family, replay=True)
        raise Answer(oauth_error(400, "invalid_grant", "authorization code already used")) from None
    except Rejected as exc:
        raise Answer(oauth_error(400, "invalid_grant", f"authorization code {exc.reason}")) from None
    if code.data["client_id"] != client.client_id:
        raise Answer(oauth_error(400, "invalid_grant", "the code was issued to another client"))
    if form.get("redirect_uri") != code.data["redirect_uri"]:
        raise Answer(
            oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request")
        )
    challenge, verifier = code.data.get("challenge"), form.get("code_verifier")
    if challenge:
        if not verifier or not VERIFIER.fullmatch(verifier):
            raise Answer(oauth_error(400, "invalid_grant", "a valid code_verifier is required (PKCE)"))
        if not hmac.compare_digest(s256(verifier), challenge):
            raise Answer(oauth_error(400, "invalid_grant", "PKCE verification failed"))
    elif verifier:
        raise Answer(oauth_error(400, "invalid_grant", "code_verifier sent but no code_challenge was"))
    return code
