"""NOVIG-V3 signing at its edges: what is refused, what is sent, and that every signature verifies.

Facts from Novig's "Sign a request" page (``api/signing``, ``protocols/novig-v3.md`` §3): the three
``Novig-*`` headers, the six-line string to sign, the canonical query rules, the edge-stripped query
names (``Expires``, ``Key-Pair-Id``, ``Policy``, ``Signature``), Ed25519 or P-256 keys. Published
vectors: ``tests/data/novig_v3/signing-vectors.json`` (Novig's
https://docs.novig.com/api-reference/spec-files/signing-vectors.json, public keys only).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fillwatch.venues.novig_v3 import signing as v3

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "novig_v3" / "signing-vectors.json").read_text())
KEY_ID = "5f0c8e8e-8d0a-4c38-9d0e-1a2b3c4d5e6f"


def _vector(vector_id: str) -> dict:
    (found,) = [v for v in VECTORS["vectors"] if v["id"] == vector_id]
    return found


def _public_pem(keypair: str) -> bytes:
    return VECTORS["keypairs"][keypair]["public_key_spki_pem"].encode()


def _verifies(key: v3.PrivateKey, headers: dict, method: str, path: str, query: str = "", body: bytes = b"") -> bool:
    """Whether the headers' signature verifies, with the key's public half, over the request as sent."""
    message = v3.string_to_sign(headers["Novig-Timestamp"], method, path, query, body)
    return v3.verify(key.public_key(), message, base64.b64decode(headers["Novig-Signature"], validate=True))


KEYS = {"ed25519": Ed25519PrivateKey.generate, "p256": lambda: ec.generate_private_key(ec.SECP256R1())}


@pytest.mark.parametrize("vector_id", ["ed25519_get_absent_query_empty_body", "ecdsa_p256_get_absent_query_empty_body"])
def test_the_empty_body_hash_is_the_published_one(vector_id: str) -> None:
    """The module's empty-body hash is the published vectors' SHA-256 of zero bytes, and what body_hash gives."""
    assert v3.EMPTY_BODY_HASH == _vector(vector_id)["body_hash"] == v3.body_hash(b"")


def test_the_documented_header_names_and_scheme() -> None:
    """The scheme and header names are the documented ones, spelled as the signing page spells them."""
    assert (v3.SCHEME, v3.KEY_ID_HEADER, v3.TIMESTAMP_HEADER, v3.SIGNATURE_HEADER) == (
        "NOVIG-V3", "Novig-Key-Id", "Novig-Timestamp", "Novig-Signature",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("vector_id", "method"),
    [("ed25519_delete_no_body", "delete"), ("ed25519_patch_body", "Patch"), ("ecdsa_p256_post_json_body", "post")],
)
def test_a_lower_case_method_signs_as_upper_case(vector_id: str, method: str) -> None:
    """The method line is upper case whatever case it is given in: the published signature verifies over it."""
    vector = _vector(vector_id)
    given = vector["input"]
    message = v3.string_to_sign(str(given["timestamp"]), method, given["path"], given["query"], given["body"].encode())
    assert message == vector["string_to_sign"]
    public = v3.load_public_key(_public_pem(vector["keypair_id"]))
    assert v3.verify(public, message, base64.b64decode(vector["signature"]))


@pytest.mark.parametrize("keypair", ["ed25519-test-1", "ecdsa-p256-test-1"])
def test_a_published_signature_does_not_verify_under_the_other_published_key(keypair: str) -> None:
    """A published signature verifies only under its own keypair's public key, not the other one's."""
    (vector,) = [v for v in VECTORS["vectors"] if v["id"].endswith("post_json_body") and v["keypair_id"] == keypair]
    other = next(k for k in VECTORS["keypairs"] if k != keypair)
    signature = base64.b64decode(vector["signature"])
    assert v3.verify(v3.load_public_key(_public_pem(keypair)), vector["string_to_sign"], signature)
    assert not v3.verify(v3.load_public_key(_public_pem(other)), vector["string_to_sign"], signature)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("a=%XY", "a=%25XY"),
        ("a=%AX", "a=%25AX"),
        ("a=%x1", "a=%25x1"),
        ("a=%4", "a=%254"),
        ("a=%", "a=%25"),
        ("%41=%61%62", "A=ab"),
        ("a=%e2%82%ac", "a=%E2%82%AC"),
        ("a=%Cz", "a=%25Cz"),
        ("b=1&a=2&&", "a=2&b=1"),
        ("&&a=1", "a=1"),
        ("x=%26y", "x=%26y"),
        ("n=1=2=3", "n=1%3D2%3D3"),
        ("k=2&k=10", "k=10&k=2"),
    ],
)
def test_percent_escapes_decode_only_when_complete(raw: str, canonical: str) -> None:
    """``%`` with two hex digits decodes (either case) and re-encodes upper case; any other ``%`` is literal."""
    assert v3.canonical_query(raw) == canonical


def test_every_unreserved_byte_is_kept_and_every_other_byte_escaped() -> None:
    """All 66 RFC 3986 unreserved characters pass through; each other byte of 0–255 is ``%`` + upper-case hex."""
    unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    assert v3.canonical_query("v=" + unreserved) == "v=" + unreserved
    others = [b for b in range(256) if chr(b) not in unreserved]
    raw = "v=" + "".join(f"%{b:02x}" for b in others)
    assert v3.canonical_query(raw) == "v=" + "".join(f"%{b:02X}" for b in others)


def test_encode_query_escapes_names_and_values_and_sorts_by_the_escaped_text() -> None:
    """encode_query escapes names as well as values, renders integers in decimal and sorts as canonical_query does."""
    query = v3.encode_query([("b x", 10), ("a/", "é"), ("a/", "~"), ("A", 0)])
    assert query == "A=0&a%2F=%C3%A9&a%2F=~&b%20x=10"
    assert query == v3.canonical_query(query)
    assert v3.encode_query([]) == ""


@pytest.mark.parametrize("kind", KEYS)
def test_a_timestamp_of_zero_is_signable(kind: str) -> None:
    """Zero milliseconds is a non-negative integer, so it signs; the header is its unpadded decimal text."""
    key = KEYS[kind]()
    headers = v3.signed_headers(KEY_ID, key, 0, "GET", "/v3/ws")
    assert headers == {
        "Novig-Key-Id": KEY_ID,
        "Novig-Timestamp": "0",
        "Novig-Signature": headers["Novig-Signature"],
    }
    assert _verifies(key, headers, "GET", "/v3/ws")


@pytest.mark.parametrize("kind", KEYS)
def test_a_signed_query_request_verifies_over_the_canonical_query(kind: str) -> None:
    """The headers for a GET with a query verify over the raw query as sent (canonicalised on both sides)."""
    key = KEYS[kind]()
    headers = v3.signed_headers(KEY_ID, key, 1755000000000, "get", "/v3/portfolio/fills", "limit=50&after=x%2by")
    assert _verifies(key, headers, "GET", "/v3/portfolio/fills", "after=x%2By&limit=50")
    assert not _verifies(key, headers, "GET", "/v3/portfolio/fills", "after=x%2By&limit=51")


@pytest.mark.parametrize("kind", KEYS)
def test_a_body_is_signed_and_marked_json(kind: str) -> None:
    """A request with a body is signed over its exact bytes and carries ``Content-Type: application/json``."""
    key = KEYS[kind]()
    body = b'{"message":"hi"}'
    headers = v3.signed_headers(KEY_ID, key, 1755000000001, "POST", "/v3/echo", body=body)
    assert headers["Content-Type"] == "application/json"
    assert set(headers) == {"Novig-Key-Id", "Novig-Timestamp", "Novig-Signature", "Content-Type"}
    assert _verifies(key, headers, "POST", "/v3/echo", body=body)
    assert not _verifies(key, headers, "POST", "/v3/echo", body=body + b" ")


def test_an_ed25519_signature_is_64_bytes_and_deterministic() -> None:
    """An Ed25519 signature is the raw 64 bytes, the same for the same request, verifying with the public key."""
    key = Ed25519PrivateKey.generate()
    one = v3.signed_headers(KEY_ID, key, 7, "GET", "/v3/ws")
    two = v3.signed_headers(KEY_ID, key, 7, "GET", "/v3/ws")
    assert one == two
    assert len(base64.b64decode(one["Novig-Signature"])) == 64
    assert _verifies(key, one, "GET", "/v3/ws")


EDGE = "Novig's edge removes the query parameter {!r}: it cannot be signed"


@pytest.mark.parametrize(
    ("now_ms", "path", "query", "message"),
    [
        (-1, "/v3/ws", "", "the timestamp must be non-negative integer milliseconds, not -1"),
        (1.0, "/v3/ws", "", "the timestamp must be non-negative integer milliseconds, not 1.0"),
        ("5", "/v3/ws", "", "the timestamp must be non-negative integer milliseconds, not '5'"),
        (1, "", "", "the path must start with '/' and carry no query"),
        (1, "/v3/x?", "", "the path must start with '/' and carry no query"),
        (1, "/v3/orders", "Expires=1", EDGE.format("Expires")),
        (1, "/v3/orders", "Key-Pair-Id=1", EDGE.format("Key-Pair-Id")),
        (1, "/v3/orders", "a=1&Policy", EDGE.format("Policy")),
        (1, "/v3/orders", "Sig%6Eature=x", EDGE.format("Signature")),
        (1, "/v3/orders", "Signature=1&Expires=2", EDGE.format("Expires")),
    ],
)
def test_unsignable_requests_are_refused_saying_why(now_ms, path: str, query: str, message: str) -> None:
    """Each unsignable request raises ValueError whose message says exactly what is wrong."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        v3.signed_headers(KEY_ID, Ed25519PrivateKey.generate(), now_ms, "GET", path, query)


@pytest.mark.parametrize("query", ["a=Signature", "signature=1", "Expires2=1", "%FF%FE=1", "Policy%3D=1"])
def test_names_that_are_not_edge_stripped_sign(query: str) -> None:
    """Only a query *name* equal to a stripped one is refused: values, other case, other names (even bytes
    that are not UTF-8) sign and verify."""
    key = Ed25519PrivateKey.generate()
    headers = v3.signed_headers(KEY_ID, key, 1, "GET", "/v3/orders", query)
    assert _verifies(key, headers, "GET", "/v3/orders", query)


@pytest.mark.parametrize(
    ("api_url", "url"),
    [
        ("https://api.novig.com", "https://api.novig.com/v3/orders"),
        ("https://api.novig.com/", "https://api.novig.com/v3/orders"),
        ("http://127.0.0.1:8080/TRADEX", "http://127.0.0.1:8080/TRADEX/v3/orders"),
        ("http://127.0.0.1:8080/TRADEX/", "http://127.0.0.1:8080/TRADEX/v3/orders"),
    ],
)
def test_signed_get_without_params_sends_no_query_and_signs_its_path(api_url: str, url: str) -> None:
    """A GET without parameters has no ``?`` at all, is a GET, and signs the path it is sent to, prefix kept."""
    key = ec.generate_private_key(ec.SECP256R1())
    request = v3.signed_get(KEY_ID, key, 1755000000000, api_url, "/v3/orders")
    assert request.method == "GET"
    assert request.url == url
    assert (request.params, request.json) == (None, None)
    assert set(request.headers) == {"Novig-Key-Id", "Novig-Timestamp", "Novig-Signature"}
    assert request.headers["Novig-Key-Id"] == KEY_ID
    assert _verifies(key, request.headers, "GET", urlsplit(url).path)


def _spki(key) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_published_public_keys_load_as_their_algorithms() -> None:
    """The published Ed25519 and P-256 SPKI keys load as those key types."""
    assert isinstance(v3.load_public_key(_public_pem("ed25519-test-1")), Ed25519PublicKey)
    p256 = v3.load_public_key(_public_pem("ecdsa-p256-test-1"))
    assert isinstance(p256, ec.EllipticCurvePublicKey)
    assert isinstance(p256.curve, ec.SECP256R1)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"not a key", "not a PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
        (_spki(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()),
         "Novig v3 keys are Ed25519 or P-256; this public key is neither"),
        (_spki(ec.generate_private_key(ec.SECP384R1()).public_key()),
         "Novig v3 keys are Ed25519 or P-256; this public key is neither"),
    ],
    ids=["garbage", "bad-der", "rsa", "p384"],
)  # fmt: skip
def test_load_public_key_refuses_other_keys_saying_why(pem: bytes, message: str) -> None:
    """Only Ed25519 and P-256 public keys load; anything else is a ValueError saying which problem it is."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        v3.load_public_key(pem)


def _pkcs8(key, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"not a key", "not a PEM private key"),
        (_pkcs8(Ed25519PrivateKey.generate(), b"pw"),
         "the private key is encrypted; give an unencrypted PKCS#8 PEM key"),
        (_pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
         "Novig v3 keys are Ed25519 or P-256; this private key is neither"),
        (_pkcs8(ec.generate_private_key(ec.SECP384R1())),
         "Novig v3 keys are Ed25519 or P-256; this private key is neither"),
    ],
    ids=["garbage", "encrypted", "rsa", "p384"],
)  # fmt: skip
def test_load_private_key_says_which_problem_it_is(pem: bytes, message: str) -> None:
    """Each refused private key gets the one message for its problem (never quoting the key)."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        v3.load_private_key(pem)


@pytest.mark.parametrize("kind", KEYS)
def test_a_loaded_private_key_signs_what_its_public_key_verifies(kind: str) -> None:
    """A PKCS#8 key loaded from PEM signs requests that verify under its public key loaded from SPKI PEM."""
    made = KEYS[kind]()
    key = v3.load_private_key(_pkcs8(made))
    public = v3.load_public_key(_spki(made.public_key()))
    message = v3.string_to_sign("1755000000000", "GET", "/v3/ws")
    assert v3.verify(public, message, v3.sign(key, message))
    assert not v3.verify(public, message + "x", v3.sign(key, message))
