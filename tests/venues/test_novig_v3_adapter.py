"""The Novig v3 adapter, frames and pages in, items out (Sans-I/O: no socket, no clock of its own).

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``; ``protocols/novig-v3.md``): api_streaming_private.md
(snapshot, batches, heartbeat, recovery), openapi-v3-target.json (``FillPage``, ``Order``),
api-reference_execution_list-fills.md (newest first, ``next``/``after``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.base import Reconcile, Reply
from fillwatch.venues.novig_v3.adapter import NovigV3
from fillwatch.venues.novig_v3.history import KIND
from fillwatch.venues.novig_v3.signing import KEY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from fillwatch.venues.novig_v3.sniff import EitherNovig

O1, O2, M, X = "o-1", "o-2", "m-1", "x-1"
T0 = 1_757_894_400_000
SINCE = datetime.fromtimestamp(T0 / 1000, UTC)


def frame(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def snapshot(seq: int, *open_: dict[str, Any], nonce: int = 1) -> str:
    return frame(
        {"ts": T0, "nonce": nonce, "subscribed": {"private": ["orders"]}, "orders": {"seq": seq, "open": list(open_)}}
    )


def batch(seq: int, ts: int, *events: dict[str, Any]) -> str:
    return frame({"ts": ts, "delta": {}, "orders": {"seq": seq, "deltas": list(events)}})


def opened(order: str, qty: int) -> dict[str, Any]:
    return {"kind": "open", "orderId": order, "marketId": M, "outcomeId": X, "price": "0.400", "qty": qty, "tif": "GTC"}


def filled(order: str, qty: int, remaining: int) -> dict[str, Any]:
    return {"kind": "fill", "orderId": order, "outcomeId": X, "price": "0.400", "qty": qty, "remaining": remaining}


def rest_fill(order: str, qty: int, ts: int, fill_id: str) -> dict[str, Any]:
    cost = f"{qty * 0.4 / 100:.5f}"
    return {
        "fillId": fill_id,
        "orderId": order,
        "marketId": M,
        "outcomeId": X,
        "qty": qty,
        "cost": cost,
        "taker": False,
        "ts": ts,
    }


def page(*items: dict[str, Any], following: str | None = None) -> bytes:
    return orjson.dumps({"items": list(items), **({"next": following} if following else {})})


def order_body(order: str, qty: int, remaining: int, status: str, created: int) -> bytes:
    return orjson.dumps(
        {"orderId": order, "marketId": M, "outcomeId": X, "price": "0.400", "qty": qty, "remaining": remaining,
         "tif": "GTC", "status": status, "createdTs": created}
    )  # fmt: skip


def ids(items: Any) -> list[str]:
    return [item.id for item in items if isinstance(item, (Fill, Cancel))]


def test_rest_fills_get_the_ids_of_the_stream_fills_they_repeat() -> None:
    """§8.3: a REST fill's id is orderId:remaining, from the order's size and earlier fills (ties: listing reversed)."""
    venue = NovigV3()
    venue.subscribe_frames()
    venue.parse(snapshot(0))
    live = venue.parse(batch(1, T0 + 10, opened(O1, 100)))
    live = [*live, *venue.parse(batch(2, T0 + 20, filled(O1, 30, 70)))]
    assert ids(live) == [f"{O1}:70"]
    listing = page(rest_fill(O1, 5, T0 + 30, "f3"), rest_fill(O1, 25, T0 + 30, "f2"), rest_fill(O1, 30, T0 + 20, "f1"))
    result = venue.parse_history(KIND, listing, SINCE, None)
    assert result.next_page == "c"
    assert sorted(ids(result.events)) == sorted([f"{O1}:70", f"{O1}:45", f"{O1}:40"])
    assert all(event.source == "history" for event in result.events)


def test_an_order_placed_before_the_read_is_looked_up_and_read_back_to_its_placement() -> None:
    """§6.3: an order never seen placed is looked up (qty, createdTs); the listing is read back past its placement."""
    venue = NovigV3()
    window = page(rest_fill(O2, 10, T0 + 50, "g2"), rest_fill(O1, 1, T0 - 100, "h1"), following="cur1")
    first = venue.parse_history(KIND, window, SINCE, None)
    assert first.next_page == "o:o-2"
    looked = venue.parse_history(KIND, order_body(O2, 40, 0, "FILLED", T0 - 5000), SINCE, "o:o-2")
    assert looked.next_page == "f:cur1"
    older = venue.parse_history(KIND, page(rest_fill(O2, 30, T0 - 4000, "g1")), SINCE, "f:cur1")
    assert older.next_page == "c"
    assert ids(older.events) == [f"{O2}:0"]  # 40 − 30 − 10; the older fill is before the read: not shown


def test_a_heartbeat_ahead_is_a_gap_whose_snapshot_starts_a_named_recovery() -> None:
    """api_streaming_private.md: a heartbeat above the last seq is a gap: a snapshot, then REST read at once."""
    venue = NovigV3()
    venue.subscribe_frames()
    venue.parse(snapshot(7, opened(O1, 100)))
    asked = venue.parse(frame({"heartbeat": {"orders": 9, "ts": T0 + 15_000}}))
    assert [type(item) for item in asked] == [Reply]
    assert b'"snapshot"' in asked[0].frame  # type: ignore[union-attr]
    after = venue.parse(snapshot(9, nonce=2))
    assert Reconcile(KIND, label="seq 7→9") in after
    assert venue.report.gaps == [(7, 9)]
    cancelled = venue.parse_history(KIND, page(), SINCE, None)
    assert cancelled.next_page == "o:o-1"  # it left the book during the gap: how did it end?
    ended = venue.parse_history(KIND, order_body(O1, 100, 100, "CANCELED", T0 - 1), SINCE, "o:o-1")
    assert ids(ended.events) == [O1]


def test_a_reconnect_snapshot_leaves_the_reading_to_the_sessions_backfill() -> None:
    """CONTRACT §5: after a reconnect the session backfills; the adapter asks for no second read."""
    venue = NovigV3()
    venue.subscribe_frames()
    venue.parse(snapshot(3, opened(O1, 100)))
    venue.subscribe_frames()
    again = venue.parse(snapshot(5, nonce=1))
    assert not any(isinstance(item, Reconcile) for item in again)


def test_the_upgrade_is_signed_with_the_path_of_the_url() -> None:
    """api_authentication.md: GET /v3/ws is signed with the three Novig-* headers at the given millisecond."""
    venue = NovigV3("k-1", Ed25519PrivateKey.generate(), ws_url="ws://127.0.0.1:9/v3/ws")
    headers = venue.handshake_headers(T0)
    assert headers[KEY_ID_HEADER] == "k-1"
    assert headers[TIMESTAMP_HEADER] == str(T0)
    assert SIGNATURE_HEADER in headers


def test_replay_tells_a_v3_recording_from_an_nbx_one() -> None:
    """A recording says only "novig": its first v3 frame (no `event` field) makes the parser v3's."""
    parser = EitherNovig()
    parser.subscribe_frames()
    parser.parse(snapshot(0))
    assert parser.v3
    assert ids(parser.parse(batch(1, T0 + 1, filled(O1, 5, 0), {**opened(O1, 5), "kind": "open"}))) == [f"{O1}:0"]
    nbx = EitherNovig()
    nbx.parse('{"event":"pong","data":{}}')
    assert not nbx.v3
