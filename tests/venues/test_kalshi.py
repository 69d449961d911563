"""The Kalshi adapter: signing, the subscribe command, and parsing both schemas."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fillwatch.render.jsonl import record
from fillwatch.venues.base import Ack, Malformed, Rejected, Resync
from fillwatch.venues.kalshi.adapter import Kalshi, auth_headers, sign

CASES = json.loads((Path(__file__).parent.parent / "data" / "kalshi" / "events.json").read_text())
PSS_32 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@pytest.fixture
def venue(venue_key: rsa.RSAPrivateKey) -> Kalshi:
    return Kalshi("key-id-1", venue_key)


def test_signature_verifies_with_pss_sha256_salt_32(venue_key: rsa.RSAPrivateKey) -> None:
    """The signature is RSA-PSS/SHA-256/MGF1-SHA-256 with a 32-byte salt over ts+GET+path."""
    signature = base64.b64decode(sign(venue_key, 1703123456789, "GET", "/trade-api/ws/v2"))
    venue_key.public_key().verify(signature, b"1703123456789GET/trade-api/ws/v2", PSS_32, hashes.SHA256())


def test_rest_signature_leaves_the_query_out(venue_key: rsa.RSAPrivateKey) -> None:
    """A REST path is signed without its query string (protocols/kalshi.md §2.3)."""
    signature = base64.b64decode(sign(venue_key, 1, "get", "/trade-api/v2/portfolio/fills?min_ts=5&limit=200"))
    venue_key.public_key().verify(signature, b"1GET/trade-api/v2/portfolio/fills", PSS_32, hashes.SHA256())


def test_signature_does_not_verify_for_another_timestamp(venue_key: rsa.RSAPrivateKey) -> None:
    """The verifier rejects a signature replayed with another timestamp."""
    signature = base64.b64decode(sign(venue_key, 1000, "GET", "/trade-api/ws/v2"))
    with pytest.raises(InvalidSignature):
        venue_key.public_key().verify(signature, b"1001GET/trade-api/ws/v2", PSS_32, hashes.SHA256())


def test_handshake_headers_are_fresh_for_every_attempt(venue: Kalshi) -> None:
    """Each attempt gets its own timestamp and a new (randomised) signature."""
    first, second = venue.handshake_headers(1000), venue.handshake_headers(2000)
    assert first["KALSHI-ACCESS-KEY"] == second["KALSHI-ACCESS-KEY"] == "key-id-1"
    assert (first["KALSHI-ACCESS-TIMESTAMP"], second["KALSHI-ACCESS-TIMESTAMP"]) == ("1000", "2000")
    assert first["KALSHI-ACCESS-SIGNATURE"] != second["KALSHI-ACCESS-SIGNATURE"]
    assert auth_headers("key-id-1", venue._key, 1000).keys() == first.keys()


def test_repr_shows_no_key_material(venue: Kalshi) -> None:
    """The adapter's repr names the key id only."""
    assert repr(venue) == "Kalshi(key_id='key-id-1')"


def test_subscribe_command_asks_for_fill_and_user_orders(venue: Kalshi) -> None:
    """One subscribe command, id 1, both private channels, no market filter."""
    assert [orjson.loads(f) for f in venue.subscribe_frames()] == [
        {"id": 1, "cmd": "subscribe", "params": {"channels": ["fill", "user_orders"]}}
    ]
    assert venue.channels == {"fill", "user_orders"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_frames_give_the_contract_lines(venue: Kalshi, case: dict[str, Any]) -> None:
    """Each sample frame gives exactly the event lines computed by hand."""
    parsed = venue.parse(orjson.dumps(case["frame"]).decode())
    assert [record(p) for p in parsed] == case["lines"]  # type: ignore[arg-type]


def test_subscribed_is_an_ack(venue: Kalshi) -> None:
    """A subscribed response acknowledges its channel."""
    assert venue.parse('{"id":1,"type":"subscribed","msg":{"channel":"fill","sid":13}}') == [Ack("fill")]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (9, Rejected(9, "Authentication required", auth=True)),
        (8, Rejected(8, "Authentication required", auth=False)),
        (10, Resync("Kalshi error 10: Authentication required")),
        (25, Resync("Kalshi error 25: Authentication required")),
    ],
)
def test_error_codes_map_to_their_handling(venue: Kalshi, code: int, expected: object) -> None:
    """Code 9 is an auth rejection, 10/25 a resubscribe, another known code answering our subscribe a refusal."""
    frame = orjson.dumps({"id": 1, "type": "error", "msg": {"code": code, "msg": "Authentication required"}})
    assert venue.parse(frame.decode()) == [expected]


def test_retired_already_subscribed_error_is_harmless(venue: Kalshi) -> None:
    """Code 6 (already subscribed) is not an error since subscribe became idempotent."""
    assert venue.parse('{"id":1,"type":"error","msg":{"code":6,"msg":"Already subscribed"}}') == ()


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("{not json", "not JSON"),
        (b"\x00\x01", "binary frame"),
        ("[1, 2]", "not a JSON object"),
        ('{"type":"fill","msg":{"order_id":"o","market_ticker":"M"}}', "bad fill message (missing trade_id)"),
        ('{"type":"fill","msg":{"trade_id":"","order_id":"o"}}', "bad fill message"),
        (
            '{"type":"fill","msg":{"trade_id":"t","order_id":"o","market_ticker":"M","side":"maybe",'
            '"yes_price_dollars":"0.5","count_fp":"1","ts_ms":1}}',
            "bad fill message (side 'maybe')",
        ),
        (
            '{"type":"fill","msg":{"trade_id":"t","order_id":"o","market_ticker":"M","side":"yes",'
            '"yes_price_dollars":"abc","count_fp":"1","ts_ms":1}}',
            "bad fill message",
        ),
        ('{"type":"user_order","msg":{"status":"canceled","order_id":"o","side":"yes"}}', "bad user_order message"),
        ('{"type":"fill","msg":"nope"}', "bad fill message"),
    ],
)
def test_malformed_frames_are_reported_not_raised(venue: Kalshi, frame: str | bytes, reason: str) -> None:
    """A malformed frame becomes one Malformed item naming what is wrong."""
    [parsed] = venue.parse(frame)
    assert isinstance(parsed, Malformed)
    assert parsed.reason.startswith(reason)
    assert len(parsed.excerpt) <= 121


def test_market_request_is_signed_and_quotes_the_ticker(venue_key: rsa.RSAPrivateKey) -> None:
    """GET {api}/markets/{ticker}: the whole ticker is one quoted path segment, the full path is signed."""
    venue = Kalshi("key-id-1", venue_key, api_url="https://h/trade-api/v2/")
    request = venue.market_request("HIGHNY-22DEC23-B53.5", 1000)
    assert (request.method, request.url) == ("GET", "https://h/trade-api/v2/markets/HIGHNY-22DEC23-B53.5")
    signature = base64.b64decode(request.headers["KALSHI-ACCESS-SIGNATURE"])
    message = b"1000GET/trade-api/v2/markets/HIGHNY-22DEC23-B53.5"
    venue_key.public_key().verify(signature, message, PSS_32, hashes.SHA256())
    hostile = venue.market_request("../portfolio/fills?x=1#", 1000)
    assert hostile.url == "https://h/trade-api/v2/markets/..%2Fportfolio%2Ffills%3Fx%3D1%23"


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ({"market": {"title": "Fed above 4.25%?", "yes_sub_title": ""}}, "Fed above 4.25%?"),
        (
            {"market": {"title": "Highest temperature in NYC?", "yes_sub_title": "53° to 54°"}},
            "Highest temperature in NYC? 53° to 54°",
        ),
        ({"market": {"title": "Rain? 1in+", "yes_sub_title": "1in+"}}, "Rain? 1in+"),
        ({"market": {"title": "  "}}, None),
        ({"market": {"ticker": "X"}}, None),
        ({"market": "x"}, None),
        ({"error": {"code": "not_found"}}, None),
        ([1, 2], None),
    ],
    ids=["title", "with-subtitle", "subtitle-in-title", "blank", "missing", "not-object", "error", "list"],
)
def test_parse_market_title(venue: Kalshi, body: object, title: str | None) -> None:
    """The title (with the YES subtitle when it adds something), or None for anything else."""
    assert venue.parse_market_title(orjson.dumps(body)) == title


def test_parse_market_title_survives_garbage(venue: Kalshi) -> None:
    """A body that is not JSON gives None, not an exception."""
    assert venue.parse_market_title(b"<html>502</html>") is None
