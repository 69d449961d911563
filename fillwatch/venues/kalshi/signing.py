"""Kalshi request signing (protocols/kalshi.md §2.3, §9): RSA-PSS/SHA-256 or Ed25519 over ``ts_ms + METHOD + path``."""

from __future__ import annotations

import base64
from typing import TypeAlias

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["WS_PATH", "SigningKey", "auth_headers", "sign"]

WS_PATH = "/trade-api/ws/v2"

SigningKey: TypeAlias = RSAPrivateKey | Ed25519PrivateKey
"""The key types Kalshi issues (OpenAPI ``ApiKeyType``: ``rsa``, ``ed25519``)."""

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def sign(key: SigningKey, ts_ms: int, method: str, path: str) -> str:
    """Base64 of the signature of ``ts_ms + METHOD + path`` (query stripped).

    RSA keys sign RSA-PSS/SHA-256 (32-byte salt); Ed25519 keys sign Ed25519 (64 bytes).
    """
    message = f"{ts_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
    if isinstance(key, Ed25519PrivateKey):
        return base64.b64encode(key.sign(message)).decode("ascii")
    return base64.b64encode(key.sign(message, _PSS, hashes.SHA256())).decode("ascii")


def auth_headers(key_id: str, key: SigningKey, now_ms: int, method: str = "GET", path: str = WS_PATH) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request signed at `now_ms`."""
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-SIGNATURE": sign(key, now_ms, method, path),
        "KALSHI-ACCESS-TIMESTAMP": str(now_ms),
    }
