"""NOVIG-V3 request signing against Novig's published signing vectors.

The vectors in ``tests/data/novig_v3/signing-vectors.json`` are Novig's own test data,
published at https://docs.novig.com/api-reference/spec-files/signing-vectors.json (fetched
2026-09-25, private test keys removed; copied from ``protocols/novig-v3-signing-vectors.json``).
Other facts come from Novig's "Sign a request" page (``api/signing``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fillwatch.venues.novig_v3 import signing as v3

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "novig_v3" / "signing-vectors.json").read_text())
CASES = VECTORS["vectors"]


def _public(vector: dict) -> v3.PublicKey:
    return v3.load_public_key(VECTORS["keypairs"][vector["keypair_id"]]["public_key_spki_pem"].encode())


def _string(vector: dict) -> str:
    given = vector["input"]
    return v3.string_to_sign(
        str(given["timestamp"]), given["method"], given["path"], given["query"], given["body"].encode()
    )


def _pkcs8(key: v3.PrivateKey | rsa.RSAPrivateKey, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def test_all_thirty_published_vectors_are_present() -> None:
    """The copied vectors file holds Novig's 30 vectors over both published keypairs."""
    assert len(CASES) == 30
    assert {c["keypair_id"] for c in CASES} == {"ed25519-test-1", "ecdsa-p256-test-1"}


@pytest.mark.parametrize("vector", CASES, ids=[c["id"] for c in CASES])
def test_vector_string_to_sign(vector: dict) -> None:
    """Each vector's string to sign and body hash are reproduced byte for byte."""
    assert _string(vector) == vector["string_to_sign"]
    assert v3.body_hash(vector["input"]["body"].encode()) == vector["body_hash"]


@pytest.mark.parametrize("vector", CASES, ids=[c["id"] for c in CASES])
def test_vector_signature_verifies_with_our_string(vector: dict) -> None:
    """Each published signature verifies under the published public key over the string we build."""
    signature = base64.b64decode(vector["signature"], validate=True)
    assert v3.verify(_public(vector), _string(vector), signature)


@pytest.mark.parametrize("vector", CASES[:1] + CASES[-1:], ids=["ed25519", "p256"])
def test_published_signature_with_one_byte_changed_fails(vector: dict) -> None:
    """A published signature with one byte flipped, or over a one-character-different string, fails."""
    signature = bytearray(base64.b64decode(vector["signature"]))
    assert not v3.verify(_public(vector), _string(vector) + " ", bytes(signature))
    signature[10] ^= 0x01
    assert not v3.verify(_public(vector), _string(vector), bytes(signature))


def test_documented_example_string() -> None:
    """The signing page's example: ``GET /v3/keys`` at 1755000000000 has an empty line 5 and the empty-body hash."""
    assert v3.string_to_sign("1755000000000", "get", "/v3/keys") == (
        "NOVIG-V3\n1755000000000\nGET\n/v3/keys\n\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("q=New%20York", "q=New%20York"),
        ("q=foo+bar", "q=foo%2Bbar"),
        ("path=%2ftmp", "path=%2Ftmp"),
        ("flag", "flag="),
        ("token=abc=", "token=abc%3D"),
        ("a=%7E", "a=~"),
        ("apple=1&Zebra=2", "Zebra=2&apple=1"),
        ("s=b&s=a&s=c", "s=a&s=b&s=c"),
        ("a=1&&b=2&", "a=1&b=2"),
        ("bad=%zz%4", "bad=%25zz%254"),
        ("", ""),
    ],
)
def test_canonical_query_rules(raw: str, canonical: str) -> None:
    """The documented consequences of the canonical query rules (and empty tokens skipped, stray ``%`` encoded)."""
    assert v3.canonical_query(raw) == canonical


def test_encode_query_is_already_canonical() -> None:
    """A query built by encode_query canonicalises to itself, so what is sent is what was signed."""
    query = v3.encode_query([("limit", 500), ("after", "b64+/cursor=="), ("market", "ü x"), ("Zed", "1")])
    assert v3.canonical_query(query) == query
    assert query == "Zed=1&after=b64%2B%2Fcursor%3D%3D&limit=500&market=%C3%BC%20x"


@pytest.mark.parametrize("make", [Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP256R1())])
def test_signed_headers_verify_and_have_the_documented_form(make) -> None:
    """Headers from a freshly generated key carry ms time and padded base64 that verifies over the request."""
    key = v3.load_private_key(_pkcs8(make()))
    body = b'{"x": 1}'
    headers = v3.signed_headers(
        "5f0c8e8e-8d0a-4c38-9d0e-1a2b3c4d5e6f", key, 1755000000123, "POST", "/v3/echo", "", body
    )
    assert headers["Novig-Timestamp"] == "1755000000123"
    assert headers["Content-Type"] == "application/json"
    signature = base64.b64decode(headers["Novig-Signature"], validate=True)
    assert base64.b64encode(signature).decode() == headers["Novig-Signature"]  # standard, padded
    message = v3.string_to_sign("1755000000123", "POST", "/v3/echo", "", body)
    assert v3.verify(key.public_key(), message, signature)
    assert "Novig-Signature" not in repr(headers)


def test_p256_signature_is_der_and_raw_r_s_is_refused() -> None:
    """A P-256 signature is DER (r, s); the same numbers as raw 64-byte r‖s never verify."""
    key = ec.generate_private_key(ec.SECP256R1())
    message = v3.string_to_sign("1", "GET", "/v3/ws")
    der = v3.sign(key, message)
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert v3.verify(key.public_key(), message, der)
    assert not v3.verify(key.public_key(), message, raw)


def test_get_without_body_has_no_content_type() -> None:
    """A GET (the websocket upgrade) is signed over the empty body and sends no Content-Type."""
    headers = v3.signed_headers("k", Ed25519PrivateKey.generate(), 5, "GET", "/v3/ws")
    assert set(headers) == {"Novig-Key-Id", "Novig-Timestamp", "Novig-Signature"}


@pytest.mark.parametrize(
    ("now_ms", "path", "query"),
    [
        (-1, "/v3/ws", ""),
        (1.5, "/v3/ws", ""),
        (True, "/v3/ws", ""),
        (1, "v3/ws", ""),
        (1, "/v3/x?a=1", ""),
        (1, "/v3/orders", "Signature=abc"),
        (1, "/v3/orders", "a=1&Expires=2"),
    ],
)
def test_signed_headers_refuse_unsignable_requests(now_ms, path: str, query: str) -> None:
    """Bad timestamps, paths without '/', a query in the path, and edge-stripped names are refused."""
    with pytest.raises(ValueError):  # noqa: PT011 — the messages are for people
        v3.signed_headers("k", Ed25519PrivateKey.generate(), now_ms, "GET", path, query)


@pytest.mark.parametrize(
    "pem",
    [
        b"not a key",
        _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        _pkcs8(ec.generate_private_key(ec.SECP384R1())),
        _pkcs8(Ed25519PrivateKey.generate(), password=b"pw"),
    ],
    ids=["garbage", "rsa", "p384", "encrypted"],
)
def test_load_private_key_refuses_other_keys(pem: bytes) -> None:
    """Only unencrypted Ed25519 and P-256 PEM keys load; the error never quotes the key."""
    with pytest.raises(ValueError, match="key") as caught:
        v3.load_private_key(pem)
    assert "PRIVATE KEY" not in str(caught.value)


def test_sec1_p256_key_loads() -> None:
    """A P-256 key in the SEC1 ``EC PRIVATE KEY`` form (``openssl ecparam -genkey``) loads too."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert b"BEGIN EC PRIVATE KEY" in pem
    assert isinstance(v3.load_private_key(pem), ec.EllipticCurvePrivateKey)


def test_signed_get_sends_the_query_it_signed() -> None:
    """A signed GET carries its canonical query in the URL and signs the full path, prefix included."""
    key = Ed25519PrivateKey.generate()
    params = [("limit", 500), ("after", "opaque+cursor/=="), ("order", "7c9e6679")]
    request = v3.signed_get("k", key, 1755000000000, "http://127.0.0.1:8080/prefix/", "/v3/portfolio/fills", params)
    url = urlsplit(request.url)
    assert (url.path, request.params) == ("/prefix/v3/portfolio/fills", None)
    assert url.query == "after=opaque%2Bcursor%2F%3D%3D&limit=500&order=7c9e6679"
    message = v3.string_to_sign("1755000000000", "GET", url.path, url.query)
    assert v3.verify(key.public_key(), message, base64.b64decode(request.headers["Novig-Signature"]))
