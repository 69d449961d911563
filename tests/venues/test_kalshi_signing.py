"""Kalshi request signing, verified with the public key: the WebSocket handshake and every REST request.

protocols/kalshi.md §2.3 and §9; openapi.yaml (kalshi-sdk 22.4.0) security schemes ``kalshiAccessKey``,
``kalshiAccessSignature``, ``kalshiAccessTimestamp``: the signature covers ``ts_ms + METHOD + path``
(no query), RSA-PSS/SHA-256 with a 32-byte salt for an RSA key, Ed25519 for an Ed25519 key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from fillwatch.core.errors import ConfigError
from fillwatch.venues.kalshi.adapter import WS_PATH, Kalshi, SigningKey, sign

PSS_32 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
NOW_MS = 1703123456789
HEADERS = {"KALSHI-ACCESS-KEY", "KALSHI-ACCESS-SIGNATURE", "KALSHI-ACCESS-TIMESTAMP"}


def verify(key: SigningKey, signature: str, message: bytes) -> None:
    """Raise InvalidSignature unless `signature` (base64) is `key`'s signature of `message`."""
    raw = base64.b64decode(signature, validate=True)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key.public_key().verify(raw, message)
    else:
        key.public_key().verify(raw, message, PSS_32, hashes.SHA256())


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(params=["rsa", "ed25519"])
def key(request: pytest.FixtureRequest, venue_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> SigningKey:
    """Both key types Kalshi issues (openapi.yaml ``ApiKeyType``: rsa, ed25519)."""
    return venue_key if request.param == "rsa" else ed_key


def test_handshake_headers_carry_the_key_id_and_verify_with_the_public_key(key: SigningKey) -> None:
    """The upgrade to /trade-api/ws/v2 carries exactly the key id, ts_ms and a signature of ts_ms+GET+path."""
    headers = Kalshi("key-id-1", key).handshake_headers(NOW_MS)
    assert set(headers) == HEADERS
    assert headers["KALSHI-ACCESS-KEY"] == "key-id-1"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == str(NOW_MS)
    verify(key, headers["KALSHI-ACCESS-SIGNATURE"], f"{NOW_MS}GET{WS_PATH}".encode())


RequestOf = Callable[[Kalshi], object]
REQUESTS: dict[str, RequestOf] = {
    "fills": lambda v: v.history_request("fills", datetime(2024, 12, 1, tzinfo=UTC), "c1", NOW_MS),
    "orders": lambda v: v.history_request("orders", datetime(2024, 12, 1, tzinfo=UTC), None, NOW_MS),
    "market": lambda v: v.market_request("FED-23DEC-T3.00", NOW_MS),
}


@pytest.mark.parametrize("which", REQUESTS)
def test_rest_requests_carry_the_key_id_and_sign_their_path_with_the_public_key(key: SigningKey, which: str) -> None:
    """Every REST request is a GET with KALSHI-ACCESS-KEY = the key id and a signature of ts_ms+GET+its URL path."""
    request = REQUESTS[which](Kalshi("key-id-2", key, api_url="https://external-api.kalshi.com/trade-api/v2"))
    assert request.method == "GET"
    assert set(request.headers) == HEADERS
    assert request.headers["KALSHI-ACCESS-KEY"] == "key-id-2"
    assert request.headers["KALSHI-ACCESS-TIMESTAMP"] == str(NOW_MS)
    path = urlsplit(request.url).path
    assert path.startswith("/trade-api/v2/")
    verify(key, request.headers["KALSHI-ACCESS-SIGNATURE"], f"{NOW_MS}GET{path}".encode())


def test_everything_from_the_first_question_mark_on_is_left_unsigned(key: SigningKey) -> None:
    """protocols/kalshi.md §2.3: the query string is not signed, even one holding another '?'."""
    signature = sign(key, 5, "get", "/trade-api/v2/portfolio/fills?cursor=a?b&limit=2")
    verify(key, signature, b"5GET/trade-api/v2/portfolio/fills")


def test_the_api_url_keeps_its_own_path_and_loses_only_trailing_slashes(key: SigningKey) -> None:
    """A REST base behind a path prefix (e.g. a proxy's /PREFIX) is kept whole; only its trailing '/' goes."""
    venue = Kalshi("k", key, api_url="http://127.0.0.1:9/PREFIX//")
    request = venue.history_request("fills", datetime(2024, 12, 1, tzinfo=UTC), None, NOW_MS)
    assert request.url == "http://127.0.0.1:9/PREFIX/portfolio/fills"
    verify(key, request.headers["KALSHI-ACCESS-SIGNATURE"], f"{NOW_MS}GET/PREFIX/portfolio/fills".encode())


NO_KEY = "this Kalshi adapter was built for parsing only; it has no key to sign with"


@pytest.mark.parametrize("which", ["handshake", *REQUESTS])
def test_a_parsing_only_adapter_refuses_to_sign_with_a_one_line_reason(which: str) -> None:
    """The adapter ``replay`` uses has no key: asked to sign, it raises ConfigError saying so, never signs."""
    venue = Kalshi.for_parsing()
    with pytest.raises(ConfigError) as raised:
        venue.handshake_headers(NOW_MS) if which == "handshake" else REQUESTS[which](venue)
    assert str(raised.value) == NO_KEY


def test_a_parsing_only_adapter_has_an_empty_key_id_and_shows_no_key() -> None:
    """Kalshi.for_parsing() names no key id (repr is how it appears in logs) and holds no key."""
    assert repr(Kalshi.for_parsing()) == "Kalshi(key_id='')"
