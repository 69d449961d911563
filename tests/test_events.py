"""The events' value semantics: keywords, equality, hashing and copying, as when they were frozen dataclasses."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fillwatch.core.events import Cancel, Fill

TS = datetime(2026, 11, 21, 20, 33, 25, 762000, tzinfo=UTC)

COMMON = ["venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts"]
FILL_FIELDS = [*COMMON, "taker", "fee", "position", "wash", "currency", "source", "account", "raw"]
CANCEL_FIELDS = [*COMMON, "original_qty", "currency", "source", "reason", "account", "raw"]


def fill(**changes: object) -> Fill:
    """A Kalshi fill with every optional field set."""
    event = Fill(
        venue="kalshi",
        id="t1",
        order_id="o1",
        market="KXFED-26DEC-T4.25",
        side="yes",
        action="buy",
        price=Decimal("0.75"),
        qty=Decimal("278.00"),
        ts=TS,
        taker=True,
        fee=Decimal("0.010000"),
        position=Decimal("500.00"),
        currency="USD",
    )
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


def cancel() -> Cancel:
    """A Kalshi cancel with every optional field set."""
    return Cancel(
        venue="kalshi",
        id="o1",
        order_id="o1",
        market="KXFED",
        side="no",
        action="sell",
        price=Decimal("0.35"),
        qty=Decimal("4"),
        ts=TS,
        original_qty=Decimal("10"),
        currency="USD",
        source="history",
        reason="expired",
    )


def test_fields_keywords_and_defaults_are_the_frozen_dataclass_ones() -> None:
    """Both events keep their field names and order, keyword-only construction and defaults."""
    assert [f.name for f in dataclasses.fields(Fill)] == FILL_FIELDS
    assert [f.name for f in dataclasses.fields(Cancel)] == CANCEL_FIELDS
    one = Decimal(1)
    bare = Fill(venue="v", id="i", order_id="o", market="m", side="s", action=None, price=one, qty=one, ts=TS)
    assert (bare.taker, bare.fee, bare.position, bare.wash, bare.currency, bare.source, bare.raw) == (
        None, None, None, None, None, "live", None,
    )  # fmt: skip
    assert (Fill.kind, Cancel.kind) == ("fill", "cancel")
    with pytest.raises(TypeError):
        Fill("v", "i", "o", "m", "s", None, Decimal(1), Decimal(1), TS)  # type: ignore[misc]


def test_equality_and_hash_ignore_only_the_raw_message() -> None:
    """Equal events hash alike, the raw frame is left out of both, and any other field tells them apart."""
    assert fill() == fill(raw='{"type":"fill"}')
    assert hash(fill()) == hash(fill(raw=b"{}"))
    assert len({fill(), fill(raw="x"), fill(qty=Decimal("1"))}) == 2
    assert fill() != fill(source="history")
    assert fill() != fill(fee=None)
    assert cancel() == dataclasses.replace(cancel())
    assert hash(cancel()) == hash(dataclasses.replace(cancel()))
    assert fill() != cancel()


def test_replace_copies_and_leaves_the_original_alone() -> None:
    """`dataclasses.replace` makes a new event with the changes; the one it was made from is unchanged."""
    original = fill()
    copy = dataclasses.replace(original, raw="frame", source="history")
    assert copy is not original
    assert (copy.raw, copy.source) == ("frame", "history")
    assert (original.raw, original.source) == (None, "live")
    assert dataclasses.asdict(copy) == {**dataclasses.asdict(original), "raw": "frame", "source": "history"}


def test_events_have_slots_repr_without_raw_and_pickle() -> None:
    """Events keep no instance dict, their repr leaves the raw frame out, and they survive a pickle round trip."""
    event = fill(raw="secret frame")
    assert not hasattr(event, "__dict__")
    assert "secret frame" not in repr(event)
    assert "KXFED-26DEC-T4.25" in repr(event)
    assert pickle.loads(pickle.dumps(event)) == event
    assert pickle.loads(pickle.dumps(cancel())) == cancel()
