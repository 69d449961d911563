"""The verifying side of ``NOVIG-V3``, for the simulated Novig v3 venue: pure, no I/O.

Novig's "Errors" page (``api/errors``, "How we check a signed request") lists the checks a
signed request passes, top to bottom; the first that fails answers:

====================================  ======  ====================================================
check                                 status  ``message``
====================================  ======  ====================================================
body within 100 KiB                   413     (undocumented; ``code`` ``PAYLOAD_TOO_LARGE``)
``Novig-Key-Id`` present              401     ``novig-key-id header is required``
``Novig-Timestamp`` present           401     ``novig-timestamp header is required``
``Novig-Signature`` present           401     ``novig-signature header is required``
key id is a UUID                      401     ``novig-key-id is not a valid UUID``
timestamp is an i64                   401     ``novig-timestamp is not a valid integer``
now − ts ≤ 30 s                       401     ``novig-timestamp is too old``
ts − now ≤ 30 s                       401     ``novig-timestamp is too far in the future``
key known                             401     ``api key not found``
key live                              401     ``api key has been revoked`` / ``api key has expired``
signature is standard padded base64   401     ``novig-signature is malformed``
signature verifies                    401     ``signature verification failed``
scope grants the route                403     ``api key scope is insufficient for this route``
====================================  ======  ====================================================

Every 401 and 403 has ``code`` ``SIGNATURE_REJECTED``. The signed body is the request's
body only with ``Content-Type: application/json``; without it the server hashes no body.

The string to sign is rebuilt here from Novig's published rules (``string_to_sign_rules`` in
``signing-vectors.json``), not imported from the client's ``venues.novig_v3.signing``: the
simulator stands for the venue, so a misreading of the rules on the client side must fail
against it rather than be shared by both. Both sides are checked against Novig's vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote, unquote_to_bytes

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "BODY_LIMIT",
    "ROUTE_SCOPES",
    "SKEW_MS",
    "ApiKey",
    "Principal",
    "Rejection",
    "SignedRequest",
    "check",
    "string_to_sign",
]

PublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey

KEY_ID_HEADER = "novig-key-id"
TIMESTAMP_HEADER = "novig-timestamp"
SIGNATURE_HEADER = "novig-signature"

SKEW_MS = 30_000
"""How far a timestamp may sit from the server's clock, either way (inclusive)."""

BODY_LIMIT = 100 * 1024
"""The exchange refuses a larger body with 413 before it reads any header."""

READ = frozenset({"trading", "trading::read"})
ROUTE_SCOPES: dict[tuple[str, str], frozenset[str]] = {
    # The routes a tailer uses and the scopes that reach them (protocols/novig-v3.md §2).
    ("GET", "/v3/ws"): READ,
    ("GET", "/v3/portfolio/fills"): READ,
    ("GET", "/v3/orders"): READ,
    ("GET", "/v3/portfolio/positions"): READ,
    ("GET", "/v3/account/orders"): frozenset({"trading"}),
    ("GET", "/v3/account/positions"): frozenset({"trading"}),
    ("POST", "/v3/echo"): READ,
}

_UUID = re.compile(
    r"(?:urn:uuid:)?(\{)?[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\2[0-9a-fA-F]{4}\2[0-9a-fA-F]{4}\2[0-9a-fA-F]{12}(?(1)\})"
)
_I64 = re.compile(r"[+-]?[0-9]+")
_I64_RANGE = range(-(2**63), 2**63)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One stored key row: the public half decides the algorithm (no header names it)."""

    key_id: str
    public_key: PublicKey
    scope: str = "trading::read"
    revoked: bool = False
    expires_ms: int | None = None
    """Unix ms after which the key has expired (None: never)."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the verifier sees of one request: `path` as sent, `query` raw without ``?``."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """A request that passed every check: the handler runs for this key."""

    key_id: str
    scope: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """The first failed check: the HTTP status and the JSON error body Novig sends."""

    status: int
    code: str
    message: str

    def body(self) -> bytes:
        """``{"code": …, "message": …}``, the REST ``ErrorBody`` fields that apply."""
        return orjson.dumps({"code": self.code, "message": self.message})


def _rejected(message: str, status: int = 401) -> Rejection:
    return Rejection(status, "SIGNATURE_REJECTED", message)


def check(
    request: SignedRequest,
    keys: Mapping[str, ApiKey],
    now_ms: int,
    scopes: Collection[str] | None = None,
) -> Principal | Rejection:
    """Run Novig's checks on `request` in the documented order; the first failure answers.

    `keys` maps key ids (lower-case UUIDs) to their rows; `scopes` are the scopes that reach
    the route (None: look the route up in :data:`ROUTE_SCOPES`, any scope if it is not there).
    """
    if len(request.body) > BODY_LIMIT:
        return Rejection(413, "PAYLOAD_TOO_LARGE", "request body exceeds 100 KiB")
    headers = {name.lower(): value for name, value in (request.headers or {}).items()}
    found = _headers(headers)
    if isinstance(found, Rejection):
        return found
    key_id, timestamp, signature_text = found
    key = _key(key_id, timestamp, keys, now_ms)
    if isinstance(key, Rejection):
        return key
    signature = _signature(signature_text)
    if signature is None:
        return _rejected("novig-signature is malformed")
    signed_body = request.body if _is_json(headers.get("content-type")) else b""
    message = string_to_sign(timestamp, request.method, request.path, request.query, signed_body)
    if not verify(key.public_key, message, signature):
        return _rejected("signature verification failed")
    allowed = ROUTE_SCOPES.get((request.method.upper(), request.path)) if scopes is None else scopes
    if allowed is not None and key.scope not in allowed:
        return _rejected("api key scope is insufficient for this route", 403)
    return Principal(key.key_id, key.scope)


def _headers(headers: Mapping[str, str]) -> tuple[str, str, str] | Rejection:
    """The three ``Novig-*`` header values, or the message naming the first one missing."""
    values = []
    for name in (KEY_ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        value = headers.get(name)
        if value is None:
            return _rejected(f"{name} header is required")
        values.append(value)
    return values[0], values[1], values[2]


def _key(key_id: str, timestamp: str, keys: Mapping[str, ApiKey], now_ms: int) -> ApiKey | Rejection:
    """The key row, after the key id, timestamp, clock and key-state checks, in that order."""
    if _UUID.fullmatch(key_id) is None:
        return _rejected("novig-key-id is not a valid UUID")
    if _I64.fullmatch(timestamp) is None or int(timestamp) not in _I64_RANGE:
        return _rejected("novig-timestamp is not a valid integer")
    age = now_ms - int(timestamp)
    if age > SKEW_MS:
        return _rejected("novig-timestamp is too old")
    if -age > SKEW_MS:
        return _rejected("novig-timestamp is too far in the future")
    key = keys.get(_uuid_text(key_id))
    if key is None:
        return _rejected("api key not found")
    if key.revoked:
        return _rejected("api key has been revoked")
    if key.expires_ms is not None and now_ms >= key.expires_ms:
        return _rejected("api key has expired")
    return key


def _uuid_text(key_id: str) -> str:
    """The canonical lower-case hyphenated form of a key id the UUID check accepted."""
    digits = re.sub(r"[^0-9a-fA-F]", "", key_id.removeprefix("urn:uuid:")).lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _signature(text: str) -> bytes | None:
    """The signature bytes of standard padded base64, or None (base64url, unpadded, junk)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Canonical only: what re-encodes to the same text (no stray trailing bits, no missing padding).
    return raw if raw and base64.b64encode(raw).decode("ascii") == text else None


def _is_json(content_type: str | None) -> bool:
    """Whether the server captures the body: a JSON media type, parameters allowed."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "application/json"


def string_to_sign(timestamp: str, method: str, path: str, query: str, body: bytes) -> str:
    """The six lines the server verifies, from Novig's rules: `query` raw as received, `path` verbatim."""
    lines = ("NOVIG-V3", timestamp, method.upper(), path, _canonical(query), hashlib.sha256(body).hexdigest())
    return "\n".join(lines)


def _canonical(query: str) -> str:
    """Split on ``&`` and at the first ``=``, %-decode only ``%XX``, re-encode all but unreserved, sort bytewise."""
    pairs = sorted(
        (_reencode(name).encode("ascii"), _reencode(value).encode("ascii"))
        for name, _, value in (token.partition("=") for token in query.split("&") if token)
    )
    return "&".join(f"{name.decode()}={value.decode()}" for name, value in pairs)


def _reencode(part: str) -> str:
    # unquote_to_bytes leaves "+" and malformed "%" runs alone; quote(safe="") keeps exactly A-Z a-z 0-9 - . _ ~
    return quote(unquote_to_bytes(part), safe="")


def verify(key: PublicKey, message: str, signature: bytes) -> bool:
    """Whether `signature` signs `message`: Ed25519 raw, or P-256 ECDSA/SHA-256 in DER (the key decides)."""
    data = message.encode("utf-8")
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
        else:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
