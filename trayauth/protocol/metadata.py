"""An authorization server's metadata document (OpenID Connect Discovery 1.0, RFC 8414) as data.

Pure: the document was fetched elsewhere. Only the members trayauth acts on are read, and a
member of the wrong type counts as absent, so a sloppy document never crashes a login.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerMetadata:
    issuer: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    jwks_uri: str | None = None
    # None: the server does not say (then every scope is tried); a tuple: what it lists.
    scopes_supported: tuple[str, ...] | None = None
    token_auth_methods: tuple[str, ...] = ()
    revocation_auth_methods: tuple[str, ...] = ()
    # RFC 9207 §3: the server puts ``iss`` in every authorization response, so one without is refused.
    iss_parameter_supported: bool = False


def _text(document: Mapping[str, Any], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) and value else None


def _list(document: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = document.get(key)
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


def parse_metadata(document: Mapping[str, Any]) -> ServerMetadata:
    return ServerMetadata(
        issuer=_text(document, "issuer"),
        authorization_endpoint=_text(document, "authorization_endpoint"),
        token_endpoint=_text(document, "token_endpoint"),
        device_authorization_endpoint=_text(document, "device_authorization_endpoint"),
        revocation_endpoint=_text(document, "revocation_endpoint"),
        jwks_uri=_text(document, "jwks_uri"),
        scopes_supported=_list(document, "scopes_supported"),
        token_auth_methods=_list(document, "token_endpoint_auth_methods_supported") or (),
        revocation_auth_methods=_list(document, "revocation_endpoint_auth_methods_supported") or (),
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
    )
