"""The verifying side of Kalshi's request signing, for the simulated venue: pure, no I/O.

A request carries ``KALSHI-ACCESS-KEY``, ``KALSHI-ACCESS-TIMESTAMP`` (Unix ms) and
``KALSHI-ACCESS-SIGNATURE`` (base64) over ``timestamp + METHOD + path`` (protocols/kalshi.md §2, §9):
RSA-PSS/SHA-256 or Ed25519, as the key is.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

__all__ = ["MAX_SKEW_MS", "PublicKey", "auth_problem"]

MAX_SKEW_MS = 30_000
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def auth_problem(
    headers: Mapping[str, str], method: str, path: str, *, key_id: str | None, public_key: PublicKey, now_ms: float
) -> str | None:
    """Why the signed `headers` are not acceptable, or None when they are.

    `headers` is websockets' case-insensitive ``Headers`` or the HTTP server's dict of lower-case names;
    `key_id` is the one key the venue knows (None: revoked).
    """
    sent_id = headers.get("kalshi-access-key")
    ts = headers.get("kalshi-access-timestamp", "")
    signature = headers.get("kalshi-access-signature", "")
    if not sent_id or not ts or not signature:
        return "authentication headers missing"
    if key_id is None or sent_id != key_id:
        return "unknown or revoked API key"
    if not ts.isdigit() or abs(int(ts) - now_ms) > MAX_SKEW_MS:
        return "timestamp missing or outside the allowed window"
    try:
        _verify(public_key, base64.b64decode(signature, validate=True), f"{ts}{method}{path}".encode())
    except (InvalidSignature, ValueError):
        return "invalid signature"
    return None


def _verify(public_key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey, signature: bytes, message: bytes) -> None:
    """Check a request signature as Kalshi does for the key's type (protocols/kalshi.md §9).

    Raises:
        InvalidSignature: if it does not verify.
    """
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, message)
    else:
        public_key.verify(signature, message, _PSS, hashes.SHA256())
