"""Each flow's preset options as a typed structure, checked when the preset file loads.

Why here and not in each flow: a mistyped preset (``pkce = "false"``, ``timeout = 1e308``, a
misspelled key) must fail when it is read, with the file and the key named, rather than at the
first login or, worse, be taken for something it does not say ("false" is a true string). The
flows then read attributes that already have their types.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from trayauth.domain.errors import PresetError

ClientAuthMethod = Literal["auto", "client_secret_post", "client_secret_basic"]
CLIENT_AUTH_METHODS = ("auto", "client_secret_post", "client_secret_basic")
MAX_TIMEOUT = 3600.0  # an hour in the browser is the most any sign-in needs
MAX_CODE_LIFETIME = 3600.0
_JSON_LEAF = (str, int, float, bool)


class _Reader:
    """Pulls typed values out of one options table and complains, naming the key, about the rest."""

    def __init__(self, data: Mapping[str, Any], where: str, prefix: str = "options") -> None:
        self.data = data
        self.where = where
        self.prefix = prefix
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.prefix}.{key}"

    def fail(self, key: str, wants: str) -> PresetError:
        return PresetError(f"{self.where}: {self._name(key)} must be {wants}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "true or false (without quotes)")
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value

    def seconds(self, key: str, default: float | None, *, most: float) -> float | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number of seconds")
        if not math.isfinite(value) or not 0 < value <= most:
            raise self.fail(key, f"more than 0 and at most {int(most)} seconds")
        return float(value)

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in allowed:
            raise self.fail(key, "one of " + ", ".join(allowed))
        return str(value)

    def strings(self, key: str) -> dict[str, str]:
        """A table of string (or number/boolean) values, as strings: extra request parameters."""
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(key, "a table")
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                out[str(k)] = "true" if v else "false"
            elif isinstance(v, str | int) or (isinstance(v, float) and math.isfinite(v)):
                out[str(k)] = str(v)
            else:
                raise self.fail(f"{key}.{k}", "a string")
        return out

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "a list of strings")
        return tuple(value)

    def table(self, key: str) -> Mapping[str, Any] | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, "a table")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise PresetError(f"{self.where}: unknown option {self._name(unknown[0])}")


@dataclass(frozen=True, slots=True)
class BaseOptions:
    """What every flow may say. ``revocation_note`` explains why logging out revokes nothing
    (Amino: "there is nothing to revoke"); shown instead of a provider confirmation."""

    rotating_refresh: bool = False
    revocation_note: str = ""


def _base(r: _Reader) -> dict[str, Any]:
    return {
        "rotating_refresh": r.boolean("rotating_refresh", False),
        "revocation_note": r.text("revocation_note", "") or "",
    }


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """A request that proves a pasted key works (Attentive's ``GET /v1/me``)."""

    url: str
    method: str = "GET"


@dataclass(frozen=True, slots=True)
class StaticOptions(BaseOptions):
    secret_field: str | None = None
    verify: VerifyRequest | None = None


@dataclass(frozen=True, slots=True)
class StepRequest:
    """One declared request of a ``steps`` login or refresh."""

    url: str
    method: str = "POST"
    json: Any = None
    form: Mapping[str, Any] | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    capture: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepsOptions(BaseOptions):
    login: tuple[StepRequest, ...] = ()
    refresh: StepRequest | None = None
    response: Mapping[str, Any] = field(default_factory=dict)
    trust_token_claims: bool = True


@dataclass(frozen=True, slots=True)
class OAuthOptions(BaseOptions):
    """Options of the OAuth flows (authorization code, device code, password, client credentials).

    Endpoint templates (``token_url`` …) may name any account setting in braces, e.g.
    ``"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"``.

    - ``offline_consent``: when ``offline_access`` is requested, send ``prompt=consent``
      (OpenID Connect Core §11); false for a server that refuses or needs no prompt.
    - ``revoke``: revoke tokens at logout (RFC 7009) where an endpoint is known;
      ``revoke_access_token`` false for servers that only revoke refresh tokens (Auth0).
    - ``verify_id_token``: check an ID token's signature and claims when one is returned.
    - ``issuer_aliases``: other spellings of the issuer an ID token may carry (Google's
      ``accounts.google.com`` beside ``https://accounts.google.com``).
    - ``authorize_params`` values may name settings too (Auth0's ``audience = "{audience}"``);
      a parameter whose setting is empty is left out.
    """

    pkce: bool = True
    timeout: float = 300.0
    code_lifetime: float | None = None
    client_auth: ClientAuthMethod = "auto"
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    token_params: Mapping[str, str] = field(default_factory=dict)
    token_url: str | None = None
    authorize_url: str | None = None
    device_authorization_url: str | None = None
    revocation_url: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    check_issuer: bool = True
    offline_consent: bool = True
    revoke: bool = True
    revoke_access_token: bool = True
    verify_id_token: bool = True
    issuer_aliases: tuple[str, ...] = ()


Options = StaticOptions | StepsOptions | OAuthOptions


def _step(raw: Any, where: str, name: str) -> StepRequest:
    if not isinstance(raw, Mapping):
        raise PresetError(f"{where}: {name} must be a table with a url")
    r = _Reader(raw, where, name)
    url = r.text("url")
    if not url:
        raise PresetError(f"{where}: {name}.url is missing")
    method = (r.text("method", "POST") or "POST").upper()
    body_json = r.raw("json")
    form = r.table("form")
    if body_json is not None and form is not None:
        raise PresetError(f"{where}: {name} has both json and form; pick one")
    headers = r.table("headers") or {}
    capture_raw = r.table("capture") or {}
    capture: dict[str, str] = {}
    for key, path in capture_raw.items():
        if not isinstance(path, str) or not (path == "" or path.startswith("/")):
            raise PresetError(f'{where}: {name}.capture.{key} must be a JSON pointer such as "/code"')
        capture[str(key)] = path
    r.done()
    return StepRequest(url=url, method=method, json=body_json, form=form, headers=headers, capture=capture)


def _response(raw: Mapping[str, Any] | None, where: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "extra":
            if not isinstance(value, Mapping):
                raise PresetError(f"{where}: options.response.extra must be a table")
            for k, v in value.items():
                if not isinstance(v, str):
                    raise PresetError(f"{where}: options.response.extra.{k} must be a JSON pointer string")
            out[key] = dict(value)
        elif not isinstance(value, str):
            raise PresetError(f"{where}: options.response.{key} must be a JSON pointer string")
        else:
            out[str(key)] = value
    return out


def parse_options(flow: str, data: Mapping[str, Any], where: str) -> Options:
    """The typed options of ``flow``; a PresetError naming ``where`` and the key otherwise."""
    r = _Reader(data, where)
    base = _base(r)
    result: Options
    if flow == "static":
        verify_raw = r.table("verify")
        verify = None
        if verify_raw is not None:
            v = _Reader(verify_raw, where, "options.verify")
            url = v.text("url")
            if not url:
                raise PresetError(f"{where}: options.verify.url is missing")
            verify = VerifyRequest(url=url, method=(v.text("method", "GET") or "GET").upper())
            v.done()
        result = StaticOptions(**base, secret_field=r.text("secret_field"), verify=verify)
    elif flow == "steps":
        login_raw = r.raw("login")
        if not isinstance(login_raw, list) or not login_raw:
            raise PresetError(f"{where}: [[options.login]] needs at least one request")
        login = tuple(_step(s, where, f"options.login[{i}]") for i, s in enumerate(login_raw))
        refresh_raw = r.raw("refresh")
        refresh = None if refresh_raw is None else _step(refresh_raw, where, "options.refresh")
        result = StepsOptions(
            **base,
            login=login,
            refresh=refresh,
            response=_response(r.table("response"), where),
            trust_token_claims=r.boolean("trust_token_claims", True),
        )
    else:
        result = OAuthOptions(
            **base,
            pkce=r.boolean("pkce", True),
            timeout=r.seconds("timeout", 300.0, most=MAX_TIMEOUT) or 300.0,
            code_lifetime=r.seconds("code_lifetime", None, most=MAX_CODE_LIFETIME),
            client_auth=r.choice("client_auth", "auto", CLIENT_AUTH_METHODS),  # type: ignore[arg-type]
            authorize_params=r.strings("authorize_params"),
            token_params=r.strings("token_params"),
            token_url=r.text("token_url"),
            authorize_url=r.text("authorize_url"),
            device_authorization_url=r.text("device_authorization_url"),
            revocation_url=r.text("revocation_url"),
            jwks_url=r.text("jwks_url"),
            issuer=r.text("issuer"),
            check_issuer=r.boolean("check_issuer", True),
            offline_consent=r.boolean("offline_consent", True),
            revoke=r.boolean("revoke", True),
            revoke_access_token=r.boolean("revoke_access_token", True),
            verify_id_token=r.boolean("verify_id_token", True),
            issuer_aliases=r.texts("issuer_aliases"),
        )
    r.done()
    return result


def default_options(flow: str) -> Options:
    """The options a preset without an options table gets (steps always needs a table)."""
    if flow == "static":
        return StaticOptions()
    if flow == "steps":
        return StepsOptions()
    return OAuthOptions()
