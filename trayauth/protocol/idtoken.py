"""OpenID Connect ID token validation (Core §3.1.3.7), given the issuer's keys.

Pure: the JWKS was fetched elsewhere (through the project's HTTP policy, not PyJWT's urllib
client). The checks are the ones that matter to a native client: the signature against the
issuer's published keys (never ``none``, never an HMAC key the client does not hold), ``iss``,
``aud`` (and ``azp`` when there are several audiences), ``exp``, and the ``nonce`` this login sent,
so an ID token from another sign-in cannot be slipped in.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

import jwt

from trayauth.domain.errors import ProviderError

HMAC = ("HS256", "HS384", "HS512")  # OIDC Core §10.1: keyed with the client secret
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY = 120.0  # seconds of clock skew tolerated on exp/iat, as most OIDC libraries allow


class UnknownKey(ProviderError):
    """The token names a key the JWKS does not hold: the issuer may have rotated its keys."""


def key_set(document: Mapping[str, Any], *, account: str) -> jwt.PyJWKSet:
    """A JWKS document as PyJWT keys; keys PyJWT cannot use are skipped, none usable is an error."""
    try:
        return jwt.PyJWKSet.from_dict(dict(document))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise ProviderError(
            f"the provider's signing keys (JWKS) are unusable ({exc})", account=account
        ) from None


def algorithm(token: str) -> str | None:
    """The ``alg`` a token's header names (None for something that is not a JWT)."""
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        return None
    return alg if isinstance(alg, str) else None


def _header(token: str, account: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ProviderError("the provider's ID token is not a JWT", account=account) from None


def verify_id_token(
    token: str,
    keys: jwt.PyJWKSet | None,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float,
    account: str,
    aliases: tuple[str, ...] = (),
    client_secret: str | None = None,
) -> dict[str, Any]:
    """The ID token's claims when every check passes; a ProviderError naming the failed check.

    Signed with a public-key algorithm, it is checked against ``keys``; with HS256/384/512 (a
    confidential client's choice, e.g. django-oauth-toolkit's HS256 applications) against the
    client secret, which only this client and the server hold. Anything else (``none``; HMAC
    without a secret) is refused.
    """
    header = _header(token, account)
    alg = header.get("alg")
    candidates: list[Any]
    if alg in HMAC and client_secret:
        candidates = [client_secret.encode("utf-8")]
    elif alg in ASYMMETRIC:
        kid = header.get("kid")
        candidates = [k for k in (keys.keys if keys else []) if kid is None or k.key_id == kid]
        if not candidates:
            raise UnknownKey(
                f"{account}: the provider's ID token is signed with a key its JWKS does not list"
            )
    else:
        raise ProviderError(
            f"the provider's ID token is signed with {str(alg)[:20]!r}, not a public key", account=account
        )
    claims: dict[str, Any] | None = None
    for key in candidates:
        try:
            with warnings.catch_warnings():
                # A short client secret is the server's choice, not something to print about.
                warnings.simplefilter("ignore", getattr(jwt, "InsecureKeyLengthWarning", UserWarning))
                claims = jwt.decode(
                    token,
                    key=key,
                    algorithms=[str(alg)],
                    audience=client_id,
                    issuer=None,  # compared below, tolerant of a trailing slash
                    leeway=LEEWAY,
                    options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iat": False},
                )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise ProviderError(
                "the provider's ID token has expired; check this computer's clock", account=account
            ) from None
        except jwt.InvalidAudienceError:
            raise ProviderError(
                f"the provider's ID token is for another client, not {client_id}", account=account
            ) from None
        except jwt.PyJWTError as exc:
            raise ProviderError(f"the provider's ID token is invalid ({exc})", account=account) from None
    if claims is None:
        raise ProviderError("the provider's ID token signature does not verify", account=account)
    accepted = {i.rstrip("/") for i in (issuer, *aliases)}
    if str(claims.get("iss", "")).rstrip("/") not in accepted:
        raise ProviderError(
            f"the ID token was issued by {str(claims.get('iss'))[:80]!r}, not the account's issuer",
            account=account,
        )
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise ProviderError(
            "the ID token has several audiences and names another party (azp)", account=account
        )
    if nonce is not None and claims.get("nonce") != nonce:
        raise ProviderError("the ID token's nonce does not match this sign-in", account=account)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + LEEWAY <= now:
        raise ProviderError(
            "the provider's ID token has expired; check this computer's clock", account=account
        )
    json.dumps(claims)  # claims must be plain JSON (they may be shown by 'inspect')
    return claims
