"""Where an account's OAuth endpoints are: typed by hand, templated by the preset, or discovered.

An endpoint the account names (``authorize_url``, ``token_url``, ``device_authorization_url``)
wins; then the preset's template (Attentive's token endpoint hangs off ``base_url``); only what is
still missing is looked up in the issuer's metadata (OpenID Connect Discovery, then RFC 8414).
Metadata is cached per issuer for the life of the process: the tray renews many times a day and
the document practically never changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from trayauth.domain.errors import ProviderError, UsageError
from trayauth.domain.steps import NextStep
from trayauth.net.http import check_url, describe_error, safe_url
from trayauth.protocol.metadata import ServerMetadata, parse_metadata

if TYPE_CHECKING:
    from trayauth.flows.base import FlowContext

CACHE_TTL = 3600.0
_KEYS = {
    "authorize_url": "authorization_endpoint",
    "token_url": "token_endpoint",
    "device_authorization_url": "device_authorization_endpoint",
}
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Endpoints:
    token: str
    authorize: str | None = None
    device: str | None = None
    issuer: str | None = None  # for the RFC 9207 ``iss`` check of the redirect
    auth_methods: tuple[str, ...] = ()  # token_endpoint_auth_methods_supported, when discovered
    revocation: str | None = None  # RFC 7009 endpoint: the account's, the preset's or discovered
    revocation_auth_methods: tuple[str, ...] = ()
    jwks: str | None = None  # where the ID token's signing keys are
    scopes_supported: tuple[str, ...] | None = None  # None: the server does not say
    iss_required: bool = False  # RFC 9207: the server advertises ``iss`` in authorization responses


def forget() -> None:
    """Drop every cached metadata document (tests; a settings change)."""
    _cache.clear()


def well_known_urls(issuer: str) -> list[str]:
    """OpenID Connect's location first, then RFC 8414's (inserted before the issuer's path)."""
    base = issuer.rstrip("/")
    parts = urlsplit(base)
    oidc = f"{base}/.well-known/openid-configuration"
    rfc8414 = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + parts.path, "", "")
    )
    return [oidc] if rfc8414 == oidc else [oidc, rfc8414]


def _validate(document: Mapping[str, Any], issuer: str, *, account: str, strict: bool) -> None:
    """OIDC Discovery §4.3 / RFC 8414 §3.3: the document must speak for the issuer asked about."""
    stated = document.get("issuer")
    if strict and (not isinstance(stated, str) or stated.rstrip("/") != issuer.rstrip("/")):
        raise ProviderError(
            f"the metadata at {safe_url(issuer)} is for another issuer",
            account=account,
            next_step=NextStep.check_setting(account, ("issuer",)),
        )


async def metadata(ctx: FlowContext, issuer: str) -> dict[str, Any]:
    """The issuer's metadata document, from the cache when it is fresh."""
    key = issuer.rstrip("/")
    now = ctx.clock()
    cached = _cache.get(key)
    if cached is not None and 0 <= now - cached[0] < CACHE_TTL:
        return cached[1]
    strict = ctx.preset.oauth.check_issuer
    last = ""
    for url in well_known_urls(issuer):
        resp = await ctx.http.request(
            "GET", url, headers={"Accept": "application/json"}, secrets=ctx.all_secrets()
        )
        if resp.status in (404, 405, 410):
            last = describe_error(resp)
            continue
        if not 200 <= resp.status < 300:
            raise ProviderError(
                f"cannot read the metadata at {safe_url(url)} ({describe_error(resp)})", account=ctx.name
            )
        document = resp.json_object()
        _validate(document, issuer, account=ctx.name, strict=strict)
        _cache[key] = (now, document)
        return document
    raise ProviderError(
        f"{safe_url(issuer)} publishes no OpenID Connect or OAuth metadata ({last})",
        account=ctx.name,
        next_step=NextStep.check_setting(ctx.name, ("issuer", "authorize_url", "token_url")),
    )


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def fill_template(ctx: FlowContext, template: str | None) -> str | None:
    """A preset's endpoint template with ``{setting}`` filled from the account (``{base_url}``,
    ``{issuer}``, ``{tenant}``, ``{realm}``, ``{domain}`` …); None when a value is missing."""
    if not template:
        return None
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = (ctx.setting(match.group(1)) or "").strip().rstrip("/")
        if not value:
            missing = True
        return value

    filled = _PLACEHOLDER.sub(one, template)
    return None if missing else filled


def _given(ctx: FlowContext, key: str) -> str | None:
    """The account's setting, else the preset's template."""
    value = ctx.setting(key)
    if value:
        return value
    return fill_template(ctx, getattr(ctx.preset.oauth, key))


def _from_document(meta: ServerMetadata, key: str) -> str | None:
    value = getattr(meta, _KEYS[key])
    return value if isinstance(value, str) and value else None


def issuer_of(ctx: FlowContext) -> str | None:
    """The account's ``issuer``, else the preset's template (Keycloak's ``{base_url}/realms/{realm}``)."""
    return ctx.setting("issuer") or fill_template(ctx, ctx.preset.oauth.issuer)


async def endpoints(
    ctx: FlowContext, *, authorize: bool = False, device: bool = False, extras: bool = False
) -> Endpoints:
    """The endpoints a flow needs; a clear UsageError when the account names neither them nor an issuer.

    ``extras`` also reads what a login or logout uses beyond the endpoints (revocation, JWKS,
    scopes_supported, RFC 9207): then the metadata is read whenever there is an issuer, but a
    server without metadata is fine when every endpoint it needs was given by hand.
    """
    wanted = [
        "token_url",
        *(["authorize_url"] if authorize else []),
        *(["device_authorization_url"] if device else []),
    ]
    found = {key: _given(ctx, key) for key in wanted}
    issuer = issuer_of(ctx)
    meta = ServerMetadata()
    if any(v is None for v in found.values()):
        if not issuer:
            need = " and ".join(repr(k) for k in wanted)
            raise UsageError(
                f"account {ctx.name!r} needs an 'issuer' setting, or {need}",
                account=ctx.name,
                named=True,
                next_step=NextStep.set_setting(ctx.name, ctx.preset.id, ("issuer",)),
            )
        meta = parse_metadata(await metadata(ctx, issuer))
        for key, value in found.items():
            found[key] = value or _from_document(meta, key)
        missing = [_KEYS[k] for k, v in found.items() if v is None]
        if missing:
            raise ProviderError(
                f"the metadata of {safe_url(issuer)} names no {', '.join(missing)}",
                account=ctx.name,
                next_step=NextStep.check_setting(ctx.name, tuple(k for k, v in found.items() if v is None)),
            )
    elif extras and issuer:
        try:
            meta = parse_metadata(await metadata(ctx, issuer))
        except ProviderError:
            meta = ServerMetadata()  # endpoints by hand, and no metadata: nothing more to learn
    options = ctx.preset.oauth
    revocation = _given(ctx, "revocation_url") or meta.revocation_endpoint
    jwks = fill_template(ctx, options.jwks_url) or meta.jwks_uri
    for value in (*found.values(), revocation, jwks):
        if value is not None:
            check_url(str(value), resolve=None)  # resolved when used
    return Endpoints(
        token=str(found["token_url"]),
        authorize=found.get("authorize_url"),
        device=found.get("device_authorization_url"),
        issuer=issuer or None,
        auth_methods=meta.token_auth_methods,
        revocation=revocation,
        revocation_auth_methods=meta.revocation_auth_methods,
        jwks=jwks,
        scopes_supported=meta.scopes_supported,
        iss_required=meta.iss_parameter_supported,
    )
