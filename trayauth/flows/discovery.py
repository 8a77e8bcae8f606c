"""Where an account's OAuth endpoints are: typed by hand, templated by the preset, or discovered.

An endpoint the account names (``authorize_url``, ``token_url``, ``device_authorization_url``)
wins; then the preset's template (Attentive's token endpoint hangs off ``base_url``); only what is
still missing is looked up in the issuer's metadata (OpenID Connect Discovery, then RFC 8414).
Metadata is cached per issuer for the life of the process: the tray renews many times a day and
the document practically never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from trayauth.domain.errors import ProviderError, UsageError
from trayauth.net.http import check_url, describe_error, safe_url

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
            f"{account}: the metadata at {safe_url(issuer)} is for another issuer",
            hint="check the issuer setting (it must match the provider's exactly)",
        )


async def metadata(ctx: FlowContext, issuer: str) -> dict[str, Any]:
    """The issuer's metadata document, from the cache when it is fresh."""
    key = issuer.rstrip("/")
    now = ctx.clock()
    cached = _cache.get(key)
    if cached is not None and 0 <= now - cached[0] < CACHE_TTL:
        return cached[1]
    strict = bool(ctx.preset.options.get("check_issuer", True))
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
                f"{ctx.name}: cannot read the metadata at {safe_url(url)} ({describe_error(resp)})"
            )
        document = resp.json_object()
        _validate(document, issuer, account=ctx.name, strict=strict)
        _cache[key] = (now, document)
        return document
    raise ProviderError(
        f"{ctx.name}: {safe_url(issuer)} publishes no OpenID Connect or OAuth metadata ({last})",
        hint="check the issuer setting, or set authorize_url and token_url by hand",
    )


def _given(ctx: FlowContext, key: str) -> str | None:
    """The account's setting, else the preset's template (``{base_url}``, ``{issuer}`` filled in)."""
    value = ctx.setting(key)
    if value:
        return value
    template = ctx.preset.options.get(key)
    if not isinstance(template, str) or not template:
        return None
    for name in ("base_url", "issuer"):
        marker = "{" + name + "}"
        if marker in template:
            filled = (ctx.setting(name) or "").rstrip("/")
            if not filled:
                return None
            template = template.replace(marker, filled)
    return template


def _from_document(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(_KEYS[key])
    return value if isinstance(value, str) and value else None


async def endpoints(ctx: FlowContext, *, authorize: bool = False, device: bool = False) -> Endpoints:
    """The endpoints a flow needs; a clear UsageError when the account names neither them nor an issuer."""
    wanted = [
        "token_url",
        *(["authorize_url"] if authorize else []),
        *(["device_authorization_url"] if device else []),
    ]
    found = {key: _given(ctx, key) for key in wanted}
    issuer = ctx.setting("issuer")
    methods: tuple[str, ...] = ()
    if any(v is None for v in found.values()):
        if not issuer:
            need = " and ".join(repr(k) for k in wanted)
            raise UsageError(
                f"account {ctx.name!r} needs an 'issuer' setting, or {need}",
                hint=f"re-add it with 'trayauth add {ctx.name} {ctx.preset.id} --set issuer=…'",
            )
        document = await metadata(ctx, issuer)
        for key, value in found.items():
            found[key] = value or _from_document(document, key)
        missing = [_KEYS[k] for k, v in found.items() if v is None]
        if missing:
            raise ProviderError(
                f"{ctx.name}: the metadata of {safe_url(issuer)} names no {', '.join(missing)}",
                hint="set the endpoint by hand on the account",
            )
        supported = document.get("token_endpoint_auth_methods_supported")
        if isinstance(supported, list):
            methods = tuple(str(m) for m in supported)
    for value in found.values():
        check_url(str(value))
    return Endpoints(
        token=str(found["token_url"]),
        authorize=found.get("authorize_url"),
        device=found.get("device_authorization_url"),
        issuer=issuer or None,
        auth_methods=methods,
    )
