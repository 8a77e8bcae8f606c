"""OAuth 2.0 on the client side: parameters, the redirect, token answers and errors.

The protocol rules live here as plain functions (no sockets, no clock of their own) so they are
tested exhaustively without a network; the flow modules only wire them to ``ctx.http`` and the
user (``trayauth.flows.grants`` is the single place a token endpoint is called).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets as entropy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from trayauth.domain.errors import (
    CredentialsRejected,
    LoginCancelled,
    ProviderError,
    TrayauthError,
    UsageError,
)
from trayauth.domain.steps import NextStep, StepKind
from trayauth.net.http import HttpResponse, describe_error, safe_url
from trayauth.protocol.responses import DEFAULT_RESPONSE, token_from_response

if TYPE_CHECKING:
    from trayauth.domain.model import TokenSet

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
POST, BASIC = "client_secret_post", "client_secret_basic"
# Answer fields that are credentials or already represented in TokenSet: never copied to `extra`.
_NOT_EXTRA = re.compile(r"token|secret|password|key|code|^scope$|^expires_in$", re.IGNORECASE)
_OUR_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
    }
)
OFFLINE_ACCESS = "offline_access"


class StateMismatch(UsageError):
    """A redirect that is not this sign-in's answer: the login keeps waiting for the real one."""


# ---- parameters ------------------------------------------------------------------------------


def split_scopes(text: str | None) -> tuple[str, ...]:
    """Scopes as typed by a user: space separated (RFC 6749 §3.3), commas tolerated."""
    if not text:
        return ()
    seen: dict[str, None] = {}
    for scope in text.replace(",", " ").split():
        seen.setdefault(scope, None)
    return tuple(seen)


def choose_scopes(typed: str | None, default: str | None, supported: Sequence[str] | None) -> tuple[str, ...]:
    """The scopes to request: what the user typed, as typed; else the preset's defaults minus those
    the server's ``scopes_supported`` lacks (a default like ``offline_access`` that a server does
    not know would fail the whole sign-in with ``invalid_scope``). ``supported`` None: not said."""
    if typed and typed.strip():
        return split_scopes(typed)
    defaults = split_scopes(default)
    if supported is None:
        return defaults
    known = set(supported)
    return tuple(s for s in defaults if s in known)


def offline_params(
    scopes: Sequence[str], configured: Mapping[str, str], *, offline_consent: bool
) -> dict[str, str]:
    """Authorization parameters beyond the core ones: the preset's, plus ``prompt=consent`` when
    ``offline_access`` is asked for. OpenID Connect Core §11: a server MUST ignore
    ``offline_access`` unless the request has ``prompt=consent`` (oidc-provider does exactly that,
    and the login then gets no refresh token). A preset's own ``prompt`` wins."""
    params = dict(configured)
    if offline_consent and OFFLINE_ACCESS in scopes and "prompt" not in params:
        params["prompt"] = "consent"
    return params


def new_nonce() -> str:
    """An unguessable ``nonce`` (OpenID Connect Core §3.1.2.1) binding the ID token to this login."""
    return entropy.token_urlsafe(24)


def new_state() -> str:
    """An unguessable ``state`` (RFC 6749 §10.12): 256 bits, URL-safe."""
    return entropy.token_urlsafe(32)


def authorization_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    code_challenge: str | None = None,
    extra: Mapping[str, Any] | None = None,
    nonce: str | None = None,
) -> str:
    """The URL the browser opens (RFC 6749 §4.1.1, RFC 7636 §4.3).

    A query already in the endpoint (Attentive hands out a ready-made distribution URL) is kept,
    minus the parameters set here, which win; so do they over a preset's ``authorize_params``.
    The fragment is dropped: §3.1 forbids one.
    """
    parts = urlsplit(endpoint)
    ours: dict[str, str] = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    if scopes:
        ours["scope"] = " ".join(scopes)
    ours["state"] = state
    if code_challenge:
        ours["code_challenge"] = code_challenge
        ours["code_challenge_method"] = "S256"
    if nonce:
        ours["nonce"] = nonce
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _OUR_AUTHORIZE_PARAMS
    ]
    query += [(str(k), str(v)) for k, v in (extra or {}).items() if k not in _OUR_AUTHORIZE_PARAMS]
    query += list(ours.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, quote_via=quote), ""))


def _clean(text: str, limit: int) -> str:
    """Provider text fit for one error line: printable, single-spaced, bounded."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())[:limit]


def _query_of(url: str) -> str | None:
    text = url.strip()
    if "?" in text:
        return text.split("?", 1)[1].split("#", 1)[0]
    if "=" in text and "://" not in text:  # a pasted query string alone
        return text.split("#", 1)[0]
    return None


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def parse_callback(
    url: str, *, state: str, account: str, issuer: str | None = None, iss_required: bool = False
) -> str:
    """The authorization code in a redirect (RFC 6749 §4.1.2), or the reason there is none.

    Anything without exactly one matching ``state`` raises ``StateMismatch``: it is not this
    login's answer (a stale tab, a forged request), so the caller keeps waiting. Once the state
    matches, the answer is final: ``error=access_denied`` is the user saying no
    (``LoginCancelled``), other errors and a missing code are the provider's (``ProviderError``).
    """
    try:
        query = _query_of(url)
        params = parse_qs(query, keep_blank_values=True, max_num_fields=64) if query is not None else {}
    except ValueError:
        params = {}
    states = params.get("state", [])
    if len(states) != 1 or not _equal(states[0], state):
        raise StateMismatch(
            f"{account}: that redirect does not belong to this sign-in (its state does not match)",
            next_step=NextStep.of(StepKind.PASTE_REDIRECT),
        )
    errors = params.get("error", [])
    if errors:
        code = _clean(errors[0], 64) or "error"
        detail = _clean(params.get("error_description", [""])[0], 200)
        said = f"{code}: {detail}" if detail else code
        if code == "access_denied":
            raise LoginCancelled(f"sign-in was refused in the browser ({said})", account=account)
        if code == "invalid_scope":
            raise UsageError(
                f"the provider refused the requested scopes ({said})",
                account=account,
                next_step=NextStep.check_setting(account, ("scopes",)),
            )
        raise ProviderError(f"the provider answered the sign-in with an error ({said})", account=account)
    check_iss(params.get("iss", []), issuer=issuer, required=iss_required, account=account)
    codes = params.get("code", [])
    if len(codes) != 1 or not codes[0]:
        raise ProviderError("the provider's redirect carried no authorization code", account=account)
    return codes[0]


def check_iss(values: Sequence[str], *, issuer: str | None, required: bool, account: str) -> None:
    """RFC 9207 §2.4: an ``iss`` in the authorization response must be the issuer this login
    talks to; where the server advertises ``authorization_response_iss_parameter_supported`` a
    response without one is refused too (mix-up attack defence)."""
    if not issuer:
        return
    if not values:
        if required:
            raise ProviderError(
                f"the sign-in answer lacks the issuer (iss) that {safe_url(issuer)} promises to send",
                account=account,
            )
        return
    if len(values) != 1 or values[0].rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(
            f"the sign-in answer came from another issuer than {safe_url(issuer)}", account=account
        )


# ---- client authentication -------------------------------------------------------------------


@dataclass(frozen=True)
class ClientAuth:
    """Who the client is at the token endpoint (RFC 6749 §2.3): public, or with a secret."""

    client_id: str | None
    secret: str | None = None
    method: str = POST

    def apply(self, form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers to send; Basic credentials are form-encoded first (§2.3.1)."""
        body, headers = dict(form), {}
        if self.secret and self.client_id and self.method == BASIC:
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self.secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            return body, headers
        if self.client_id:
            body["client_id"] = self.client_id
        if self.secret:
            body["client_secret"] = self.secret
        return body, headers


def auth_method(option: object, supported: Sequence[str]) -> str:
    """The preset's choice, else Basic when the server's metadata lists it, else the form.

    The form (``client_secret_post``) is the default without metadata because the providers that
    accept only one method (Attentive, GitHub) accept that one.
    """
    if option in (POST, BASIC):
        return str(option)
    if option not in (None, "auto"):
        raise UsageError(f"client_auth must be auto, {POST} or {BASIC}, not {option!r}")
    return BASIC if BASIC in supported else POST


# ---- token answers ---------------------------------------------------------------------------


class GrantExpired(CredentialsRejected):
    """``invalid_grant`` whose description says the grant (a code, a device code) expired."""


def _says_expired(resp: HttpResponse) -> bool:
    try:
        data = resp.json()
    except ProviderError:
        return False
    description = data.get("error_description") if isinstance(data, dict) else None
    return isinstance(description, str) and "expired" in description.lower()


def error_code(resp: HttpResponse) -> str | None:
    """RFC 6749 §5.2 ``error`` of an answer, if it has one."""
    try:
        data = resp.json()
    except ProviderError:
        return None
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and code else None


_REJECTED = {
    "refresh_token": "the refresh token was rejected",
    "authorization_code": "the authorization code was rejected",
    "password": "the username or password was rejected",
    "client_credentials": "the client credentials were rejected",
    DEVICE_GRANT: "the device code was rejected",
}


def token_error(
    resp: HttpResponse, *, account: str, grant: str, secrets: Iterable[str] = ()
) -> TrayauthError:
    """One clear line for a failed token request (RFC 6749 §5.2)."""
    code = error_code(resp)
    detail = describe_error(resp, secrets)
    if code == "invalid_grant":
        # RFC 6749 has no code for "expired": the server's description is all there is. It is
        # read here, once, at the protocol boundary, so flows branch on a type, not on text.
        kind = GrantExpired if _says_expired(resp) else CredentialsRejected
        return kind(
            f"{account}: {_REJECTED.get(grant, 'the grant was rejected')} ({detail})",
            next_step=NextStep.log_in(account),
        )
    if code in ("invalid_client", "unauthorized_client") or (code is None and resp.status == 401):
        return CredentialsRejected(
            f"the provider rejected the client id or client secret ({detail})",
            account=account,
            next_step=NextStep.log_in(account, check=("client_id", "client_secret")),
        )
    if code == "invalid_scope":
        return UsageError(
            f"the provider refused the requested scopes ({detail})",
            account=account,
            next_step=NextStep.check_setting(account, ("scopes",)),
        )
    if code == "unsupported_grant_type":
        return ProviderError(
            f"the provider does not offer this kind of sign-in here ({detail})", account=account
        )
    return ProviderError(f"the token request to {safe_url(resp.url)} failed ({detail})", account=account)


def _extras(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(k): v
        for k, v in document.items()
        if isinstance(v, str | int | float | bool) and not _NOT_EXTRA.search(str(k))
    }


def parse_token_response(
    resp: HttpResponse,
    *,
    account: str,
    grant: str,
    now: float,
    requested_scopes: Sequence[str] = (),
    secrets: Iterable[str] = (),
) -> TokenSet:
    """A token answer as a TokenSet (RFC 6749 §5.1), or the error it carries.

    A 200 with an ``error`` member counts as an error: GitHub answers that way.
    """
    if not 200 <= resp.status < 300:
        raise token_error(resp, account=account, grant=grant, secrets=secrets)
    document = resp.json_object()
    if "access_token" not in document and isinstance(document.get("error"), str):
        raise token_error(resp, account=account, grant=grant, secrets=secrets)
    tokens = token_from_response(
        document,
        DEFAULT_RESPONSE,
        now=now,
        where=safe_url(resp.url),
        account=account,
        requested_scopes=tuple(requested_scopes),
    )
    token_type = "Bearer" if tokens.token_type.lower() == "bearer" else tokens.token_type
    id_token = document.get("id_token")
    return replace(
        tokens,
        token_type=token_type,
        extra=_extras(document),
        id_token=id_token if isinstance(id_token, str) and id_token else None,
    )
