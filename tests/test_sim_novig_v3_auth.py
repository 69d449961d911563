"""The simulator's NOVIG-V3 verifier: Novig's check order, statuses and messages.

Source: Novig's "Errors" page (``api/errors``: "How we check a signed request" and the
401/403 message tables), summarised in ``protocols/novig-v3.md`` §3.6; the published
signing vectors (``tests/data/novig_v3/signing-vectors.json``, from
https://docs.novig.com/api-reference/spec-files/signing-vectors.json).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.sim.novig_v3_auth import ApiKey, Principal, Rejection, SignedRequest, check, string_to_sign
from fillwatch.venues.novig_v3 import signing as v3

NOW = 1_757_894_400_000
KEY_ID = "5f0c8e8e-8d0a-4c38-9d0e-1a2b3c4d5e6f"
OTHER_ID = "0b3f5f20-1111-4c38-9d0e-1a2b3c4d5e6f"
VECTORS = json.loads((Path(__file__).parent / "data" / "novig_v3" / "signing-vectors.json").read_text())


@pytest.fixture(params=["ed25519", "p256"])
def key(request: pytest.FixtureRequest) -> v3.PrivateKey:
    return Ed25519PrivateKey.generate() if request.param == "ed25519" else ec.generate_private_key(ec.SECP256R1())


def _keys(key: v3.PrivateKey, **row) -> dict[str, ApiKey]:
    return {KEY_ID: ApiKey(KEY_ID, key.public_key(), **row)}


def _request(
    key: v3.PrivateKey, *, ts: int = NOW, path: str = "/v3/ws", body: bytes = b"", **override
) -> SignedRequest:
    method = "POST" if body else "GET"
    headers = dict(v3.signed_headers(KEY_ID, key, ts, method, path, "", body))
    for name, value in override.items():
        header = name.replace("_", "-")
        if value is None:
            headers.pop(header)
        else:
            headers[header] = value
    return SignedRequest(method, path, "", body, headers)


def _message(result: Principal | Rejection) -> tuple[int, str, str]:
    assert isinstance(result, Rejection), result
    return result.status, result.code, result.message


def test_a_fresh_signature_passes(key: v3.PrivateKey) -> None:
    """A request signed now with a registered Ed25519 or P-256 key reaches the handler."""
    assert check(_request(key), _keys(key), NOW + 100) == Principal(KEY_ID, "trading::read")


def test_one_byte_changed_in_the_signature_is_rejected(key: v3.PrivateKey) -> None:
    """A signature with one byte changed answers 401 ``signature verification failed``."""
    request = _request(key)
    signature = bytearray(base64.b64decode(request.headers["Novig-Signature"]))
    signature[7] ^= 0x40
    bad = _request(key, Novig_Signature=base64.b64encode(bytes(signature)).decode())
    assert _message(check(bad, _keys(key), NOW)) == (401, "SIGNATURE_REJECTED", "signature verification failed")


def test_a_timestamp_31_seconds_old_is_rejected(key: v3.PrivateKey) -> None:
    """A timestamp 31 s old answers 401 ``novig-timestamp is too old``; exactly 30 s still passes."""
    assert _message(check(_request(key, ts=NOW - 31_000), _keys(key), NOW))[2] == "novig-timestamp is too old"
    assert isinstance(check(_request(key, ts=NOW - 30_000), _keys(key), NOW), Principal)


def test_a_timestamp_31_seconds_ahead_is_rejected(key: v3.PrivateKey) -> None:
    """A timestamp 31 s in the future answers 401 ``novig-timestamp is too far in the future``."""
    assert _message(check(_request(key, ts=NOW + 31_000), _keys(key), NOW))[2] == (
        "novig-timestamp is too far in the future"
    )


def test_a_wrong_key_id_is_rejected(key: v3.PrivateKey) -> None:
    """A well-formed key id that is not registered answers 401 ``api key not found``."""
    request = _request(key, Novig_Key_Id=OTHER_ID)
    assert _message(check(request, _keys(key), NOW)) == (401, "SIGNATURE_REJECTED", "api key not found")


def test_a_key_id_that_is_not_a_uuid_is_rejected(key: v3.PrivateKey) -> None:
    """A key label instead of its UUID answers ``novig-key-id is not a valid UUID``."""
    assert _message(check(_request(key, Novig_Key_Id="my-bot"), _keys(key), NOW))[2] == (
        "novig-key-id is not a valid UUID"
    )


def test_an_upper_case_key_id_finds_its_key(key: v3.PrivateKey) -> None:
    """A key id is a UUID, not a string: upper-case hex finds the same key."""
    request = _request(key, Novig_Key_Id=KEY_ID.upper())
    assert isinstance(check(request, _keys(key), NOW), Principal)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (("Novig_Key_Id", "Novig_Timestamp", "Novig_Signature"), "novig-key-id header is required"),
        (("Novig_Timestamp", "Novig_Signature"), "novig-timestamp header is required"),
        (("Novig_Signature",), "novig-signature header is required"),
    ],
)
def test_missing_headers_name_the_first_one_missing(key: v3.PrivateKey, missing: tuple[str, ...], message: str) -> None:
    """Missing headers are checked key id, timestamp, signature: the message names the first missing."""
    request = _request(key, **dict.fromkeys(missing))
    assert _message(check(request, _keys(key), NOW)) == (401, "SIGNATURE_REJECTED", message)


@pytest.mark.parametrize("timestamp", ["", "17e11", "1.5", " 1757894400000", "99999999999999999999"])
def test_a_timestamp_that_is_not_an_integer_is_rejected(key: v3.PrivateKey, timestamp: str) -> None:
    """A timestamp that is not a 64-bit decimal integer answers ``novig-timestamp is not a valid integer``."""
    assert _message(check(_request(key, Novig_Timestamp=timestamp), _keys(key), NOW))[2] == (
        "novig-timestamp is not a valid integer"
    )


def test_a_timestamp_in_seconds_is_too_old(key: v3.PrivateKey) -> None:
    """Seconds instead of milliseconds read as a time in 1970: ``novig-timestamp is too old``."""
    assert _message(check(_request(key, ts=NOW // 1000), _keys(key), NOW))[2] == "novig-timestamp is too old"


@pytest.mark.parametrize(
    ("row", "message"),
    [({"revoked": True}, "api key has been revoked"), ({"expires_ms": NOW}, "api key has expired")],
)
def test_revoked_and_expired_keys_are_rejected(key: v3.PrivateKey, row: dict, message: str) -> None:
    """A revoked or expired key answers its own 401 message, even with a valid signature."""
    assert _message(check(_request(key), _keys(key, **row), NOW))[2] == message


@pytest.mark.parametrize("transform", ["url", "unpadded", "junk"])
def test_a_signature_that_is_not_standard_padded_base64_is_malformed(key: v3.PrivateKey, transform: str) -> None:
    """base64url, unpadded base64 and junk answer ``novig-signature is malformed``."""
    raw = b"\xfb\xff" * 32  # 64 bytes, like an Ed25519 signature: '+', '/' and '=' padding in standard base64
    text = {
        "url": base64.urlsafe_b64encode(raw).decode(),
        "unpadded": base64.b64encode(raw).decode().rstrip("="),
        "junk": "not base64!",
    }[transform]
    assert _message(check(_request(key, Novig_Signature=text), _keys(key), NOW))[2] == "novig-signature is malformed"


def test_checks_run_in_the_documented_order(key: v3.PrivateKey) -> None:
    """With several faults, the earliest check in Novig's order answers."""
    keys = _keys(key, revoked=True)
    stale_unknown = _request(key, ts=NOW - 60_000, Novig_Key_Id=OTHER_ID)
    assert _message(check(stale_unknown, keys, NOW))[2] == "novig-timestamp is too old"
    unknown_malformed = _request(key, Novig_Key_Id=OTHER_ID, Novig_Signature="x")
    assert _message(check(unknown_malformed, keys, NOW))[2] == "api key not found"
    revoked_malformed = _request(key, Novig_Signature="x")
    assert _message(check(revoked_malformed, keys, NOW))[2] == "api key has been revoked"
    huge = SignedRequest("POST", "/v3/echo", "", b"x" * (100 * 1024 + 1), {})
    assert _message(check(huge, keys, NOW))[:2] == (413, "PAYLOAD_TOO_LARGE")


def test_a_body_without_json_content_type_is_hashed_as_empty(key: v3.PrivateKey) -> None:
    """Without ``Content-Type: application/json`` the server hashes no body, so a signed body fails."""
    request = _request(key, path="/v3/echo", body=b'{"a":1}')
    assert isinstance(check(request, _keys(key), NOW), Principal)
    bare = _request(key, path="/v3/echo", body=b'{"a":1}', Content_Type=None)
    assert _message(check(bare, _keys(key), NOW))[2] == "signature verification failed"


def test_a_read_key_is_refused_a_trading_only_route(key: v3.PrivateKey) -> None:
    """A ``trading::read`` key on ``GET /v3/account/orders`` answers 403 with the scope message."""
    request = _request(key, path="/v3/account/orders")
    result = check(request, _keys(key), NOW)
    assert _message(result) == (403, "SIGNATURE_REJECTED", "api key scope is insufficient for this route")
    assert orjson.loads(result.body()) == {
        "code": "SIGNATURE_REJECTED",
        "message": "api key scope is insufficient for this route",
    }
    assert isinstance(check(request, _keys(key, scope="trading"), NOW), Principal)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["id"] for v in VECTORS["vectors"]])
def test_every_published_vector_passes_the_verifier(vector: dict) -> None:
    """Each of Novig's published signed requests passes every check at its own timestamp."""
    pair = VECTORS["keypairs"][vector["keypair_id"]]
    given = vector["input"]
    headers = {
        "novig-key-id": KEY_ID,
        "novig-timestamp": str(given["timestamp"]),
        "novig-signature": vector["signature"],
        "content-type": "application/json",
    }
    request = SignedRequest(given["method"], given["path"], given["query"], given["body"].encode(), headers)
    keys = {KEY_ID: ApiKey(KEY_ID, v3.load_public_key(pair["public_key_spki_pem"].encode()))}
    assert check(request, keys, given["timestamp"]) == Principal(KEY_ID, "trading::read")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=[v["id"] for v in VECTORS["vectors"]])
def test_the_simulator_builds_each_published_string_to_sign(vector: dict) -> None:
    """The simulator's own canonicalisation (not the client's) yields each vector's published string to sign."""
    given = vector["input"]
    built = string_to_sign(
        str(given["timestamp"]), given["method"], given["path"], given["query"], given["body"].encode()
    )
    assert built == vector["string_to_sign"]
