"""PASETO v4 tokens, as Senseye's machine tokens are: enough to mint and verify test tokens.

v4.public is the real thing (Ed25519 over the PASETO pre-authentication encoding), so a client
can read the claims without a key exactly as it would read a vendor's token, and a signature
check proves the token came from this server. v4.local tokens are encrypted, so to a client they
are opaque whatever the cipher; random bytes after the header serve every test.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUBLIC_HEADER = b"v4.public."
LOCAL_HEADER = b"v4.local."
SIGNATURE_BYTES = 64


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pae(*pieces: bytes) -> bytes:
    """Pre-Authentication Encoding (PASETO spec, Common.md): LE64 counts and lengths, MSB clear."""

    def le64(n: int) -> bytes:
        return struct.pack("<Q", n & 0x7FFF_FFFF_FFFF_FFFF)

    return le64(len(pieces)) + b"".join(le64(len(p)) + p for p in pieces)


def sign_public(key: Ed25519PrivateKey, claims: dict[str, Any], footer: bytes = b"") -> str:
    message = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    signature = key.sign(pae(PUBLIC_HEADER, message, footer, b""))
    token = PUBLIC_HEADER.decode() + _b64(message + signature)
    return token + ("." + _b64(footer) if footer else "")


def verify_public(key: Ed25519PublicKey, token: str) -> dict[str, Any] | None:
    """The claims of a v4.public token signed by ``key``, or None if it is not one."""
    parts = token.split(".")
    if len(parts) not in (3, 4) or f"{parts[0]}.{parts[1]}." != PUBLIC_HEADER.decode():
        return None
    try:
        raw = _unb64(parts[2])
        footer = _unb64(parts[3]) if len(parts) == 4 else b""
    except ValueError:
        return None
    if len(raw) <= SIGNATURE_BYTES:
        return None
    message, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    try:
        key.verify(signature, pae(PUBLIC_HEADER, message, footer, b""))
        claims = json.loads(message.decode("utf-8"))
    except (InvalidSignature, UnicodeDecodeError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def opaque_local() -> str:
    """A v4.local-shaped token: 32-byte nonce, some ciphertext, 32-byte tag, all random here."""
    return LOCAL_HEADER.decode() + _b64(os.urandom(32 + 48 + 32))
