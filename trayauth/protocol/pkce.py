"""PKCE (RFC 7636): the one-time secret that ties a browser sign-in to the code exchange.

Apart from :mod:`trayauth.protocol.oauth` because it uses authlib, which only a browser sign-in
needs: the token endpoint, refresh and revocation (everything a long-running tray does between
logins) import ``protocol.oauth`` without it (1 MiB resident less in the tray).
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge


@dataclass(frozen=True)
class Pkce:
    """RFC 7636: the verifier stays here, the S256 challenge goes to the browser."""

    verifier: str
    challenge: str
    method: str = "S256"


def new_pkce() -> Pkce:
    verifier = generate_token(64)  # 64 of [A-Za-z0-9] from SystemRandom: ~380 bits, §4.1's charset
    return Pkce(verifier, create_s256_code_challenge(verifier))
