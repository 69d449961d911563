"""The simulated Novig v3's REST routes: signed, paged with opaque cursors, throttled with ``Retry-After``.

Sources (``Semionsr/novig-v3-kit``): api_errors.md (check order, 401/403 messages);
api-reference_execution_list-fills.md (openapi ``get /v3/portfolio/fills``: ``FillPage``,
``Fill``, ``limit`` 1–5000 default 500, ``after``/``next``); api-reference_execution_list-orders.md
(``get /v3/orders``: ``OrderPage``, ``Order``, ``OrderStatus``, default ``OPEN``);
api_throttling.md ("Error response": 429, ``Retry-After`` seconds); api_streaming_private.md
("Recovery": ``GET /v3/account/orders`` with ``ETag``/304); api-reference_authentication_echo.md.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.venues.novig_v3 import signing as client_signing
from tests.test_sim_novig_v3_signer import Key, Trader, headers, new_key, row

KEY_ID = str(uuid.uuid4())
FILL_FIELDS = ["fillId", "orderId", "clientId", "marketId", "outcomeId", "qty", "cost", "taker", "fee", "ts"]
ORDER_FIELDS = ["orderId", "clientId", "marketId", "outcomeId", "price", "qty", "remaining", "tif", "status"]


@pytest.fixture(params=["ed25519", "p256"])
def key(request: pytest.FixtureRequest) -> Key:
    return new_key(request.param)


@asynccontextmanager
async def venue(key: Key, scope: str = "trading::read", **script: Any) -> AsyncIterator[tuple[NovigV3Sim, Trader]]:
    async with NovigV3Sim(Script(**{"rate": None, **script}), keys=[row(KEY_ID, key, scope)]) as sim:
        yield sim, Trader(sim, KEY_ID, key)


def trade(sim: NovigV3Sim, orders: int = 12) -> None:
    """`orders` orders with fills: resting ones filled in parts, takers, one cancelled."""
    for i in range(orders):
        placed = sim.publish(sim.feed.place(qty=100, fills=(10,) if i % 3 == 0 else ()))
        order_id = placed.events[0]["orderId"]
        sim.publish(sim.feed.fill(order_id, 25))
        if i % 4 == 0:
            sim.publish(sim.feed.cancel(order_id))


async def test_a_rest_call_with_one_signature_byte_changed_is_refused(key: Key) -> None:
    """One signature byte changed on a REST call: 401 ``signature verification failed`` (api_errors.md)."""
    async with venue(key) as (sim, _):
        signed = headers(KEY_ID, key, "GET", "/v3/portfolio/fills", "limit=10")
        raw = bytearray(base64.b64decode(signed["Novig-Signature"]))
        raw[-3] ^= 0x80
        signed["Novig-Signature"] = base64.b64encode(bytes(raw)).decode()
        async with httpx.AsyncClient(base_url=sim.api_url, trust_env=False) as client:
            response = await client.get("/v3/portfolio/fills?limit=10", headers=signed)
        assert response.status_code == 401
        assert response.json() == {"code": "SIGNATURE_REJECTED", "message": "signature verification failed"}


async def test_a_rest_call_signed_31_seconds_ago_or_by_an_unknown_key_is_refused(key: Key) -> None:
    """31 s old: ``novig-timestamp is too old``; a wrong key id: ``api key not found`` (api_errors.md)."""
    async with venue(key) as (sim, trader):
        old = await trader.get("/v3/orders", ts=int(time.time() * 1000) - 31_000)
        stranger = await Trader(sim, str(uuid.uuid4()), key).get("/v3/orders")
    assert (old.status_code, old.json()["message"]) == (401, "novig-timestamp is too old")
    assert (stranger.status_code, stranger.json()) == (
        401,
        {"code": "SIGNATURE_REJECTED", "message": "api key not found"},
    )


async def test_a_query_is_verified_as_sent_and_a_changed_query_fails(key: Key) -> None:
    """The signature covers the canonical query: the same call with another ``limit`` fails (api_signing.md line 5)."""
    async with venue(key) as (sim, _):
        signed = headers(KEY_ID, key, "GET", "/v3/orders", "limit=10&status=OPEN")
        async with httpx.AsyncClient(base_url=sim.api_url, trust_env=False) as client:
            good = await client.get("/v3/orders?status=OPEN&limit=10", headers=signed)  # any order: sorted when signed
            bad = await client.get("/v3/orders?status=OPEN&limit=11", headers=signed)
    assert good.status_code == 200
    assert (bad.status_code, bad.json()["message"]) == (401, "signature verification failed")


async def test_fills_page_newest_first_with_opaque_cursors_and_the_documented_fields(key: Key) -> None:
    """``FillPage``: newest first, ``next`` until the last page, each ``Fill`` with its documented fields in order."""
    async with venue(key) as (sim, trader):
        trade(sim)
        sim.publish(sim.feed.place(qty=30, fills=(30,), client_id=False))
        pages = await trader.pages("/v3/portfolio/fills", "limit=7")
    fills = [f for page in pages for f in page]
    assert [len(p) for p in pages] == [7, 7, 3]  # 12 maker fills, 4 takers, 1 more
    assert fills == sim.feed.fills[::-1]
    assert len({f["fillId"] for f in fills}) == len(fills)
    for fill in fills:
        assert [k for k in FILL_FIELDS if k in fill] == list(fill)
        assert fill["cost"] == f"{fill['qty'] * float(sim.feed.orders[fill['orderId']].price) / 100:.5f}"
        assert "fee" not in fill  # no market is live: no fill was charged (api_concepts_fees.md)
    assert "clientId" not in fills[0]
    assert [f["taker"] for f in fills[:1]] == [True]


async def test_fills_filter_by_order_and_market(key: Key) -> None:
    """``order`` and ``market`` filter the fills (``listFills`` parameters)."""
    async with venue(key) as (sim, trader):
        trade(sim)
        order = next(iter(sim.feed.orders.values()))
        by_order = (await trader.get("/v3/portfolio/fills", f"order={order.order_id}")).json()
        by_market = (await trader.get("/v3/portfolio/fills", f"market={order.market_id}")).json()
    assert {f["orderId"] for f in by_order["items"]} == {order.order_id}
    assert [f["qty"] for f in by_order["items"]] == [25, 10]
    assert {f["marketId"] for f in by_market["items"]} == {order.market_id}
    assert "next" not in by_order


async def test_a_fill_taken_while_live_carries_its_fee(key: Key) -> None:
    """A taker fill after ``GOLIVE`` carries ``fee`` = 0.03 × P(1 − P) × N cents (api_concepts_fees.md, game)."""
    async with venue(key) as (sim, trader):
        market = next(iter(sim.feed.markets))
        sim.publish(sim.feed.transition(market, "GOLIVE"))
        sim.publish(sim.feed.place(market_id=market, qty=100, price=Decimal("0.500"), fills=(100,)))
        (fill,) = (await trader.get("/v3/portfolio/fills")).json()["items"]
    assert (fill["cost"], fill["fee"], fill["taker"]) == ("0.50000", "0.00750", True)


async def test_orders_list_by_status_with_cursors(key: Key) -> None:
    """``GET /v3/orders`` lists one ``status`` (default ``OPEN``) with ``Order`` items and cursors."""
    async with venue(key) as (sim, trader):
        trade(sim)
        sim.publish(sim.feed.place(tif="IOC"))
        open_pages = await trader.pages("/v3/orders", "limit=4")
        canceled = await trader.pages("/v3/orders", "status=CANCELED")
        rejected = await trader.pages("/v3/orders", "status=REJECTED")
    open_orders = [o for page in open_pages for o in page]
    assert len(open_orders) == 9
    assert {o["status"] for o in open_orders} == {"OPEN"}
    assert all(o["remaining"] in (75, 65) and o["qty"] == 100 for o in open_orders)
    assert [k for k in ORDER_FIELDS if k in open_orders[0]] == list(open_orders[0])[: len(ORDER_FIELDS)]
    assert len(canceled[0]) == 3
    assert [o["tif"] for o in rejected[0]] == ["IOC"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "PAGE_LIMIT_OUT_OF_RANGE"),
        ("limit=5001", "PAGE_LIMIT_OUT_OF_RANGE"),
        ("offset=10", "OFFSET_NOT_SUPPORTED"),
        ("after=bm9wZQ%3D%3D", "INVALID_QUERY"),
        ("order=x", "INVALID_QUERY"),
    ],
)
async def test_a_bad_listing_query_answers_400(key: Key, query: str, code: str) -> None:
    """A ``limit`` outside 1–5000, ``offset``, a foreign cursor, a bad UUID: 400 with an api_errors.md code."""
    async with venue(key) as (_, trader):
        response = await trader.get("/v3/portfolio/fills", query)
    assert (response.status_code, response.json()["code"]) == (400, code)


async def test_a_scripted_429_has_retry_after_in_seconds(key: Key) -> None:
    """``rest_failures`` answers 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After: <seconds>`` (api_throttling.md)."""
    async with venue(key, rest_failures=1, retry_after=2) as (_, trader):
        throttled = await trader.get("/v3/portfolio/fills")
        then = await trader.get("/v3/portfolio/fills")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    assert throttled.json() == {
        "code": "RATE_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded. Please wait before retrying.",
    }
    assert then.status_code == 200


async def test_the_history_bucket_empties_and_answers_429(key: Key) -> None:
    """Fills cost 8 + 1 per 50 rows of 512 ``history`` tokens: big pages run it dry (list-fills, api_throttling.md)."""
    async with venue(key) as (_, trader):
        answers = [await trader.get("/v3/portfolio/fills", "limit=5000") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]  # 108 tokens each
    assert int(answers[-1].headers["Retry-After"]) >= 1


async def test_account_orders_has_an_etag_and_a_matching_if_none_match_gets_304(key: Key) -> None:
    """``GET /v3/account/orders``: ``{seq, open}`` and an ``ETag``, 304 when unchanged, 403 for ``trading::read``."""
    async with venue(key, scope="trading") as (sim, trader):
        sim.publish(sim.feed.place())
        first = await trader.get("/v3/account/orders")
        same = await trader.get("/v3/account/orders", extra={"If-None-Match": first.headers["ETag"]})
        sim.publish(sim.feed.place())
        changed = await trader.get("/v3/account/orders", extra={"If-None-Match": first.headers["ETag"]})
    assert first.json() == {"seq": 1, "open": sim.feed.open_entries()[:1]}
    assert (same.status_code, same.content) == (304, b"")
    assert (changed.status_code, changed.json()["seq"]) == (200, 2)
    async with venue(key) as (_, reader):
        forbidden = await reader.get("/v3/account/orders")
    assert (forbidden.status_code, forbidden.json()["message"]) == (403, "api key scope is insufficient for this route")


async def test_echo_returns_the_signed_body(key: Key) -> None:
    """``POST /v3/echo`` answers the signed JSON body it was sent (api-reference_authentication_echo.md)."""
    async with venue(key) as (sim, _):
        body = b'{"hello":"novig"}'
        signed = headers(KEY_ID, key, "POST", "/v3/echo", body=body)
        async with httpx.AsyncClient(base_url=sim.api_url, trust_env=False) as client:
            response = await client.post("/v3/echo", content=body, headers=signed)
    assert (response.status_code, response.content) == (200, body)


async def test_the_clients_own_signer_pages_the_fills(key: Key) -> None:
    """The client's ``signed_get`` reads a page the simulator accepts, cursor included (a cross-check)."""
    async with venue(key) as (sim, _):
        trade(sim, 3)
        now = int(time.time() * 1000)
        first = client_signing.signed_get(KEY_ID, key, now, sim.api_url, "/v3/portfolio/fills", [("limit", 2)])
        async with httpx.AsyncClient(trust_env=False) as client:
            page = (await client.get(first.url, headers=dict(first.headers))).json()
            after = [("limit", 2), ("after", page["next"])]
            second = client_signing.signed_get(KEY_ID, key, now, sim.api_url, "/v3/portfolio/fills", after)
            response = await client.get(second.url, headers=dict(second.headers))
    assert response.status_code == 200, response.text
    assert [f["fillId"] for f in page["items"] + response.json()["items"]] == [
        f["fillId"] for f in sim.feed.fills[::-1][:4]
    ]


async def test_a_catalog_market_names_its_event_and_outcomes(key: Key) -> None:
    """``GET /v3/catalog/markets/{id}``: the ``Market`` schema with names for the UUIDs; 404 ``MARKET_NOT_FOUND``."""
    async with venue(key) as (sim, trader):
        market = next(iter(sim.feed.markets.values()))
        found = (await trader.get(f"/v3/catalog/markets/{market.market_id}")).json()
        missing = await trader.get(f"/v3/catalog/markets/{uuid.uuid4()}")
    assert list(found) == [
        "marketId", "eventId", "marketType", "status", "voids", "description", "startsTs", "fee", "outcomes"
    ]  # fmt: skip
    assert (found["marketId"], found["eventId"], found["status"]) == (market.market_id, market.event_id, "OPEN")
    assert found["description"] == "Celtics @ Lakers"
    assert found["outcomes"] == [
        {"outcomeId": market.outcomes[0], "name": "Lakers", "status": "TBD"},
        {"outcomeId": market.outcomes[1], "name": "Celtics", "status": "TBD"},
    ]
    assert found["fee"] == {"coefficient": "0.03", "makerCredit": "0.5", "charged": "WHEN_LIVE"}
    assert (missing.status_code, missing.json()) == (404, {"code": "MARKET_NOT_FOUND", "message": "market not found"})
