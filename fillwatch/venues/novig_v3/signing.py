"""Novig v3 request signing, scheme ``NOVIG-V3``: pure functions, no I/O.

Facts from ``protocols/novig-v3.md`` §3 and Novig's "Sign a request" page: every
request (GETs and the ``/v3/ws`` upgrade included) carries ``Novig-Key-Id``,
``Novig-Timestamp`` (Unix milliseconds, unpadded decimal) and ``Novig-Signature``
(standard padded base64). The signature covers six lines joined by ``\\n``::

    NOVIG-V3
    <the Novig-Timestamp text>
    <METHOD>
    <path as sent: never decoded or normalised>
    <canonical query, or an empty line>
    <lower-case hex SHA-256 of the exact body bytes>

Ed25519 keys sign those bytes directly; P-256 keys sign ECDSA/SHA-256 and send
the DER ``SEQUENCE {r, s}``. No header names the algorithm: the key decides.
The verifying side (``sim/novig_v3_auth.py``) has its own implementation, checked against the same vectors.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fillwatch.core.secret import RedactedDict
from fillwatch.venues.base import Request

__all__ = [
    "EDGE_STRIPPED",
    "EMPTY_BODY_HASH",
    "KEY_ID_HEADER",
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "PrivateKey",
    "PublicKey",
    "body_hash",
    "canonical_query",
    "encode_query",
    "load_private_key",
    "load_public_key",
    "sign",
    "signed_get",
    "signed_headers",
    "string_to_sign",
    "verify",
]

SCHEME = "NOVIG-V3"
KEY_ID_HEADER = "Novig-Key-Id"
TIMESTAMP_HEADER = "Novig-Timestamp"
SIGNATURE_HEADER = "Novig-Signature"
EMPTY_BODY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

EDGE_STRIPPED = frozenset({"Expires", "Key-Pair-Id", "Policy", "Signature"})
"""Query names Novig's edge removes before the server sees them: a request signing one always fails."""

PrivateKey: TypeAlias = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ECDSA = ec.ECDSA(hashes.SHA256())


def _pct_decode(part: str) -> bytes:
    """``%XX`` (either case) becomes that byte; everything else, ``+`` included, stays as its UTF-8."""
    raw = part.encode()
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _enc(data: bytes) -> str:
    """Keep RFC 3986 unreserved bytes; every other byte becomes ``%`` + two upper-case hex digits."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in data)


def _pairs(raw_query: str) -> list[tuple[str, str]]:
    """The decoded-then-encoded (name, value) pairs of a raw query, sorted bytewise by name then value."""
    pairs = []
    for token in raw_query.split("&"):
        if not token:  # Novig's own sample skips empty tokens; no vector tests them
            continue
        name, _, value = token.partition("=")  # the FIRST "=" only; none → value ""
        pairs.append((_enc(_pct_decode(name)), _enc(_pct_decode(value))))
    pairs.sort()  # the encoded text is ASCII, so str order is byte order
    return pairs


def canonical_query(raw_query: str) -> str:
    """Line 5: the raw query (without ``?``) canonicalised as §3.3 says; ``""`` for no query."""
    return "&".join(f"{name}={value}" for name, value in _pairs(raw_query))


def encode_query(params: Iterable[tuple[str, str | int]]) -> str:
    """A query to send built from plain (name, value) pairs, already in canonical form.

    Sending the canonical form itself guarantees the server canonicalises the
    same bytes that were signed.
    """
    pairs = sorted((_enc(name.encode()), _enc(str(value).encode())) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in pairs)


def body_hash(body: bytes) -> str:
    """Line 6: lower-case hex SHA-256 of the exact body bytes (empty body → :data:`EMPTY_BODY_HASH`)."""
    return hashlib.sha256(body).hexdigest()


def string_to_sign(timestamp: str, method: str, path: str, query: str = "", body: bytes = b"") -> str:
    """The six ``NOVIG-V3`` lines; `timestamp` is the header text, `query` the raw query as sent."""
    return "\n".join((SCHEME, timestamp, method.upper(), path, canonical_query(query), body_hash(body)))


def sign(key: PrivateKey, message: str) -> bytes:
    """The raw signature of `message`: 64 Ed25519 bytes, or a DER ECDSA/SHA-256 signature for P-256."""
    data = message.encode("utf-8")
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, _ECDSA)


def verify(key: PublicKey, message: str, signature: bytes) -> bool:
    """Whether `signature` (raw bytes; DER for P-256) signs `message` under `key`."""
    data = message.encode("utf-8")
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, _ECDSA)
    except (InvalidSignature, ValueError):  # a raw r‖s P-256 signature is not DER: it never verifies
        return False
    return True


def signed_headers(
    key_id: str,
    key: PrivateKey,
    now_ms: int,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
) -> dict[str, str]:
    """The headers of one request signed at `now_ms`: the three ``Novig-*`` ones, plus
    ``Content-Type: application/json`` when a body is sent (without it the server hashes no body).

    `path` starts at the leading ``/`` (``/v3/ws``), `query` is the raw query exactly as it
    will be sent (no ``?``). The result hides its values from ``repr`` (the signature is a secret).

    Raises:
        ValueError: for a negative or non-integer `now_ms`, a path without its leading ``/``
            or with a query, or a query name the edge strips (:data:`EDGE_STRIPPED`).
    """
    if type(now_ms) is not int or now_ms < 0:
        raise ValueError(f"the timestamp must be non-negative integer milliseconds, not {now_ms!r}")
    if not path.startswith("/") or "?" in path:
        raise ValueError("the path must start with '/' and carry no query")
    names = (_pct_decode(token.partition("=")[0]).decode("utf-8", "replace") for token in query.split("&"))
    stripped = EDGE_STRIPPED.intersection(names)
    if stripped:
        raise ValueError(f"Novig's edge removes the query parameter {sorted(stripped)[0]!r}: it cannot be signed")
    timestamp = str(now_ms)
    signature = sign(key, string_to_sign(timestamp, method, path, query, body))
    headers = RedactedDict(
        {
            KEY_ID_HEADER: key_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
        }
    )
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def signed_get(
    key_id: str, key: PrivateKey, now_ms: int, api_url: str, path: str, params: Iterable[tuple[str, str | int]] = ()
) -> Request:
    """A signed ``GET`` of `path` under `api_url` (``https://api.novig.com``), for ``net.http`` to send.

    The query is put into the URL already canonical (``params`` stays None), so that no client
    re-encodes it after signing; a path prefix in `api_url` is part of the signed path.
    """
    full_path = urlsplit(api_url).path.rstrip("/") + path
    query = encode_query(params)
    url = api_url.rstrip("/") + path + (f"?{query}" if query else "")
    return Request(method="GET", url=url, headers=signed_headers(key_id, key, now_ms, "GET", full_path, query))


def load_private_key(pem: bytes) -> PrivateKey:
    """An Ed25519 or P-256 private key from unencrypted PEM: PKCS#8 (``openssl genpkey``), or for
    P-256 also the SEC1 ``EC PRIVATE KEY`` form (``openssl ecparam -genkey``).

    Raises:
        ValueError: for anything else — not PEM, encrypted, RSA, another curve — with a
            message that never quotes the key material.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError as exc:  # encrypted: cryptography asks for a password
        raise ValueError("the private key is encrypted; give an unencrypted PKCS#8 PEM key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM private key") from exc
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError("Novig v3 keys are Ed25519 or P-256; this private key is neither")


def load_public_key(pem: bytes) -> PublicKey:
    """An Ed25519 or P-256 public key from SPKI PEM (what Novig stores for a key id).

    Raises:
        ValueError: for anything else.
    """
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM public key") from exc
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise ValueError("Novig v3 keys are Ed25519 or P-256; this public key is neither")
