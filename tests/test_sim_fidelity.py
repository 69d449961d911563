"""The simulated Kalshi against Kalshi's own documents: every frame and REST body it makes validates.

The schemas are derived (tools/kalshi_schemas.py) from the AsyncAPI document "Kalshi Market Data
WebSocket API" 2.0.0 and the OpenAPI document "Kalshi Trade API Manual Endpoints" 3.34.0, both as
shipped in the kalshi-sdk 22.4.0 source archive (``specs/``); tests/data/kalshi/schemas.json names
them. Validation checks required fields, types, enums, consts and bounds, and the ``uuid`` and
``date-time`` formats.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import ClientConnection, connect

from fillwatch.sim.feed import MARKETS
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.venues.kalshi.adapter import WS_PATH, Kalshi, auth_headers

pytestmark = pytest.mark.timeout(60)

SCHEMAS = json.loads((Path(__file__).parent / "data" / "kalshi" / "schemas.json").read_text(encoding="utf-8"))
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
FORMATS = jsonschema.FormatChecker(["uuid"])  # the stdlib-backed uuid check jsonschema ships


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 (jsonschema's own check needs an extra package)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        raise ValueError(f"not RFC 3339: {value!r}")
    datetime.fromisoformat(value)
    return True


def validator(document: str, name: str) -> jsonschema.protocols.Validator:
    schema = SCHEMAS[document][name]
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def problems(document: str, name: str, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(document, name).iter_errors(instance)
    ]


def frame_schema(frame: dict[str, Any]) -> str:
    """The AsyncAPI payload a server frame must match."""
    if frame["type"] == "ok" and isinstance(frame.get("msg"), list):
        return "ok_list"
    return frame["type"]


# Fixed-point strings, as the documents describe them: counts with 2 decimals, dollars with up to 6.
_COUNT = re.compile(r"-?\d+\.\d\d")
_DOLLARS = re.compile(r"\d+\.\d{1,6}")


def number_problems(payload: dict[str, Any]) -> list[str]:
    found = []
    for name, value in payload.items():
        if name.endswith("_fp") and not _COUNT.fullmatch(value):
            found.append(f"{name}={value!r} is not a 2-decimal count")
        if (name.endswith("_dollars") or name == "fee_cost") and not _DOLLARS.fullmatch(value):
            found.append(f"{name}={value!r} is not fixed-point dollars")
    return found


async def open_ws(sim: KalshiSim, key: rsa.RSAPrivateKey) -> ClientConnection:
    headers = auth_headers(sim.key_id, key, int(time.time() * 1000), "GET", WS_PATH)
    return await connect(sim.url, additional_headers=headers)


async def exchange(ws: ClientConnection, command: dict[str, Any] | bytes, replies: int) -> list[dict[str, Any]]:
    """Send `command`; the next `replies` frames that answer it (data frames in between are dropped)."""
    await ws.send(command if isinstance(command, bytes) else orjson.dumps(command).decode())
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(got) < replies:
            frame = orjson.loads(await ws.recv())
            if frame["type"] not in ("fill", "user_order"):
                got.append(frame)
    return got


COMMANDS: list[tuple[dict[str, Any], int]] = [
    ({"id": 1, "cmd": "subscribe", "params": {"channels": ["user_orders"]}}, 1),
    ({"id": 2, "cmd": "subscribe", "params": {"channels": ["fill"]}}, 1),
    ({"id": 3, "cmd": "subscribe", "params": {"channels": ["fill", "user_orders"]}}, 2),  # idempotent
    ({"id": 4, "cmd": "subscribe", "params": {"channels": ["market_positions"], "market_tickers": [MARKETS[0]]}}, 1),
    (
        {
            "id": 5,
            "cmd": "update_subscription",
            "params": {"sid": 3, "market_tickers": [MARKETS[1]], "action": "add_markets"},
        },
        1,
    ),
    ({"id": 6, "cmd": "list_subscriptions"}, 1),
    ({"id": 7, "cmd": "update_subscription", "params": {"sids": [1, 2], "action": "add_markets"}}, 1),  # 12
    ({"id": 8, "cmd": "update_subscription", "params": {"sids": [3]}}, 1),  # 15
    ({"id": 9, "cmd": "update_subscription", "params": {"sids": [3], "action": "get_snapshot"}}, 1),  # 13
    ({"id": 10, "cmd": "update_subscription", "params": {"sids": [3], "action": "add_markets"}}, 1),  # 14
    ({"id": 11, "cmd": "update_subscription", "params": {"sids": [99], "action": "add_markets"}}, 1),  # 7
    ({"id": 12, "cmd": "subscribe", "params": {"channels": ["no_such_channel"]}}, 1),  # 8
    ({"id": 13, "cmd": "subscribe", "params": {"channels": []}}, 1),  # 3
    ({"id": 14, "cmd": "subscribe"}, 1),  # 2
    ({"id": 15, "cmd": "unsubscribe", "params": {}}, 1),  # 4
    ({"id": 16, "cmd": "dance", "params": {}}, 1),  # 5
    ({"cmd": "list_subscriptions"}, 1),  # no id: a reply without one
]


async def session_frames(sim: KalshiSim, key: rsa.RSAPrivateKey, events: int) -> list[dict[str, Any]]:
    """Every frame of one session that uses every command: replies, `events` data frames, unsubscribes."""
    frames: list[dict[str, Any]] = []
    async with await open_ws(sim, key) as ws:
        for command, replies in COMMANDS:
            frames += await exchange(ws, command, replies)
        frames += await exchange(ws, b"{not json", 1)
        data = 0
        async with asyncio.timeout(30):
            while data < events:
                frame = orjson.loads(await ws.recv())
                frames.append(frame)
                data += frame["type"] in ("fill", "user_order")
        frames += await exchange(ws, {"id": 20, "cmd": "unsubscribe", "params": {"sids": [1, 2, 99]}}, 3)
    return frames


async def rest_bodies(sim: KalshiSim, key: rsa.RSAPrivateKey) -> list[tuple[str, int, Any]]:
    """(schema, status, body) of every kind of REST answer the simulator gives."""
    venue = Kalshi(sim.key_id, key, api_url=sim.api_url)
    venue.page_size = 25
    bodies: list[tuple[str, int, Any]] = []
    async with httpx.AsyncClient() as client:

        async def get(request_url: str, params: dict[str, Any] | None = None, signed: bool = True) -> httpx.Response:
            path = httpx.URL(request_url).path
            headers = auth_headers(sim.key_id, key, int(time.time() * 1000), "GET", path) if signed else {}
            return await client.get(request_url, params=params, headers=headers)

        for kind, schema in (("fills", "GetFillsResponse"), ("orders", "GetOrdersResponse")):
            cursor = None
            while True:
                request = venue.history_request(kind, datetime.fromtimestamp(0).astimezone(), cursor, 0)
                response = await get(
                    request.url, {**request.params, "status": None} if kind == "orders" else request.params
                )
                bodies.append((schema, response.status_code, response.json()))
                cursor = response.json()["cursor"]
                if not cursor:
                    break
        for market in MARKETS:
            response = await get(f"{sim.api_url}/markets/{market}")
            bodies.append(("GetMarketResponse", response.status_code, response.json()))
        response = await get(f"{sim.api_url}/portfolio/positions")
        bodies.append(("GetPositionsResponse", response.status_code, response.json()))
        for url, params, signed in (
            (f"{sim.api_url}/markets/NOPE-26", None, True),
            (f"{sim.api_url}/portfolio/fills", None, False),
            (f"{sim.api_url}/portfolio/fills", {"limit": "5000"}, True),
            (f"{sim.api_url}/portfolio/nothing", None, True),
        ):
            response = await get(url, params, signed)
            bodies.append(("ErrorResponse", response.status_code, response.json()))
    return bodies


async def test_every_frame_the_simulator_sends_matches_the_asyncapi(venue_key: rsa.RSAPrivateKey) -> None:
    """A session using every command, 300 data frames and an unsubscribe: each frame validates."""
    async with KalshiSim(Script(rate=0, seed=41), key=venue_key) as sim:
        frames = await session_frames(sim, venue_key, 300)
    found = [f"{frame['type']} {p}" for frame in frames for p in problems("asyncapi", frame_schema(frame), frame)]
    data = [frame for frame in frames if frame["type"] in ("fill", "user_order")]
    found += [f"{frame['type']} {p}" for frame in data for p in number_problems(frame["msg"])]
    assert not found, "\n".join(sorted(Counter(found))[:20])
    kinds = Counter(frame_schema(f) for f in frames)
    assert set(kinds) == {"subscribed", "ok", "ok_list", "error", "fill", "user_order", "unsubscribed"}
    codes = {f["msg"]["code"] for f in frames if f["type"] == "error"}
    assert codes == {1, 2, 3, 4, 5, 7, 8, 12, 13, 14, 15}
    fills = [f["msg"] for f in frames if f["type"] == "fill"]
    orders = [f["msg"] for f in frames if f["type"] == "user_order"]
    assert {f["action"] for f in fills} == {"buy", "sell", "sell_partial", "sell_to_close", ""}
    assert {o["status"] for o in orders} == {"resting", "executed", "canceled"}
    assert {o.get("last_update_reason") for o in orders} >= {None, "Trade", "ExpiryCancel"}


async def test_data_frames_carry_no_field_the_asyncapi_does_not_name(venue_key: rsa.RSAPrivateKey) -> None:
    """Fills and user_orders hold only documented fields: no leftover legacy ``yes_price``/``count``."""
    async with KalshiSim(Script(rate=0, seed=42), key=venue_key) as sim:
        frames = await session_frames(sim, venue_key, 200)
    for frame in frames:
        if frame["type"] in ("fill", "user_order"):
            schema = SCHEMAS["asyncapi"][frame["type"]]
            assert set(frame) <= set(schema["properties"]), frame
            assert set(frame["msg"]) <= set(schema["properties"]["msg"]["properties"]), frame


async def test_every_rest_body_matches_the_openapi(venue_key: rsa.RSAPrivateKey) -> None:
    """Fills and orders pages, markets, positions and each error answer validate against OpenAPI 3.34.0."""
    async with KalshiSim(Script(rate=0, seed=43, limit=150), key=venue_key) as sim:
        async with await open_ws(sim, venue_key) as ws:
            await exchange(ws, {"id": 1, "cmd": "subscribe", "params": {"channels": ["fill"]}}, 1)
            async with asyncio.timeout(20):
                while sim.stats.events < 150:
                    await ws.recv()
        bodies = await rest_bodies(sim, venue_key)
        limited = KalshiSim(Script(rest_rate_limit_every=1, rest_failures=1), key=venue_key)
        async with limited, httpx.AsyncClient() as client:
            for _ in range(2):  # a 503, then a 429
                response = await client.get(f"{limited.api_url}/markets/{MARKETS[0]}")
                bodies.append(("ErrorResponse", response.status_code, response.json()))
    found = [f"{schema} {status}: {p}" for schema, status, body in bodies for p in problems("openapi", schema, body)]
    for _, _, body in bodies:
        for row in body.get("fills", body.get("orders", [])):
            found += number_problems(row)
    assert not found, "\n".join(found[:20])
    errors = [body for schema, _, body in bodies if schema == "ErrorResponse"]
    assert all(set(body) <= {"code", "message", "details"} and {"code", "message"} <= set(body) for body in errors)
    statuses = Counter(status for _, status, _ in bodies)
    assert set(statuses) == {200, 400, 401, 404, 429, 503}
    assert sum(len(b.get("fills", [])) for _, _, b in bodies) == sum(k == "fill" for k, _, _ in sim.emitted)
    assert any(b.get("orders") for _, _, b in bodies)
    assert any(b.get("market_positions") for _, _, b in bodies)  # the positions the feed's fills left


async def test_a_terminal_channel_error_matches_the_asyncapi(venue_key: rsa.RSAPrivateKey) -> None:
    """Error 25 mid-stream names the subscription (``sid``), has no ``id`` and validates."""
    async with (
        KalshiSim(Script(rate=0, seed=44, error_after=(3, 25)), key=venue_key) as sim,
        await open_ws(sim, venue_key) as ws,
    ):
        [ack] = await exchange(ws, {"id": 1, "cmd": "subscribe", "params": {"channels": ["fill"]}}, 1)
        async with asyncio.timeout(10):
            while (frame := orjson.loads(await ws.recv()))["type"] != "error":
                pass
    assert problems("asyncapi", "error", frame) == []
    assert frame == {
        "type": "error",
        "sid": ack["msg"]["sid"],
        "msg": {"code": 25, "msg": "Subscription buffer overflow"},
    }


def test_fillwatchs_own_commands_match_the_asyncapi() -> None:
    """The subscribe command fillwatch sends is one the AsyncAPI accepts."""
    for raw in Kalshi.for_parsing().subscribe_frames():
        assert problems("asyncapi", "subscribe", orjson.loads(raw)) == []


SAMPLE_FILL = {
    "type": "fill",
    "sid": 2,
    "msg": {
        "trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",
        "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "market_ticker": "HIGHNY-22DEC23-B53.5",
        "exchange_index": 0,
        "is_taker": True,
        "side": "yes",
        "action": "buy",
        "purchased_side": "yes",
        "yes_price_dollars": "0.7500",
        "count_fp": "278.00",
        "fee_cost": "0.010000",
        "ts": 1671899397,
        "ts_ms": 1671899397000,
        "post_position_fp": "500.00",
        "outcome_side": "yes",
        "book_side": "bid",
    },
}


def test_the_validator_catches_every_missing_required_field_and_a_bad_uuid() -> None:
    """Dropping any required fill field, or a trade_id that is no uuid, fails validation: the checks bite."""
    assert problems("asyncapi", "fill", SAMPLE_FILL) == []
    for name in SCHEMAS["asyncapi"]["fill"]["properties"]["msg"]["required"]:
        broken = {**SAMPLE_FILL, "msg": {k: v for k, v in SAMPLE_FILL["msg"].items() if k != name}}
        assert problems("asyncapi", "fill", broken) == [f"msg: '{name}' is a required property"]
    not_uuid = {**SAMPLE_FILL, "msg": {**SAMPLE_FILL["msg"], "trade_id": "d91bc706ee49470d82d811418bda6fed"}}
    assert problems("asyncapi", "fill", not_uuid) == [
        "msg/trade_id: 'd91bc706ee49470d82d811418bda6fed' is not a 'uuid'"
    ]
    order = {"type": "user_order", "sid": 1, "msg": {"created_time": "yesterday"}}
    assert "msg/created_time: 'yesterday' is not a 'date-time'" in problems("asyncapi", "user_order", order)
