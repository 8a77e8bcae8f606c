"""Signing keys of the demo provider, and the tokens it signs.

Why real signatures on fake tokens: the client decodes JWT and PASETO claims without verifying
them, and tests want to be sure the token they hold is one this server made, not a stale one
from another run. Keys are fresh per server, never persisted.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm

from trayauth.demo import paseto


class Mint:
    def __init__(self) -> None:
        self._hmac_key = secrets.token_bytes(32)
        self._ed_key = Ed25519PrivateKey.generate()
        # ID tokens are signed with a public-key algorithm, as OpenID providers do, so a client
        # can check them against the published JWKS without holding any secret.
        self._id_key = ec.generate_private_key(ec.SECP256R1())
        self.id_kid = uuid.uuid4().hex[:16]

    def id_token(self, claims: dict[str, Any], *, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        """An ES256 ID token with the server's ``kid`` (``key``: a test's own, unpublished key)."""
        return jwt.encode(claims, key or self._id_key, algorithm="ES256", headers={"kid": self.id_kid})

    def jwks(self) -> dict[str, Any]:
        """The public half of the ID token key as a JWK Set (RFC 7517)."""
        jwk = ECAlgorithm.to_jwk(self._id_key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.id_kid, "use": "sig", "alg": "ES256"}]}

    def rotate_id_key(self) -> None:
        """A new ID token key under a new kid (tests of key rotation)."""
        self._id_key = ec.generate_private_key(ec.SECP256R1())
        self.id_kid = uuid.uuid4().hex[:16]

    def jwt(self, claims: dict[str, Any], *, unique: bool = True) -> str:
        """HS256 JWT; ``unique`` adds a ``jti`` so two tokens minted in one second differ."""
        body = dict(claims)
        if unique:
            body.setdefault("jti", uuid.uuid4().hex)
        return jwt.encode(body, self._hmac_key, algorithm="HS256", headers={"typ": "JWT"})

    def jwt_claims(self, token: str) -> dict[str, Any] | None:
        """Claims of a JWT this server signed (expiry is the token book's business, not checked)."""
        try:
            claims = jwt.decode(
                token,
                self._hmac_key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None
        return claims if isinstance(claims, dict) else None

    def paseto(self, claims: dict[str, Any], *, local: bool = False, footer: bytes = b"") -> str:
        if local:
            return paseto.opaque_local()
        return paseto.sign_public(self._ed_key, claims, footer)

    def paseto_claims(self, token: str) -> dict[str, Any] | None:
        return paseto.verify_public(self._ed_key.public_key(), token)
