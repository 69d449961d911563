"""The JSON line joined from cached pieces is, byte for byte, ``orjson.dumps`` of the event's record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.render.jsonl import encode, record


def plain(event: Event) -> bytes:
    """The line as the encoder wrote it before its pieces were cached."""
    return orjson.dumps(record(event), option=orjson.OPT_APPEND_NEWLINE)


def outcome(encoder: object, event: Event) -> bytes | str:
    """The line, or the kind of error raised instead."""
    try:
        return encoder(event)  # type: ignore[operator, no-any-return]
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc).__name__


texts = st.one_of(st.sampled_from(["kalshi", "novig", "yes", "no", "buy", "sell", "USD", "M", ""]), st.text())
numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-(2**70), max_value=2**70, places=4),
    st.sampled_from([Decimal("0.3600"), Decimal("1.00"), Decimal("-0"), Decimal("1E+3"), Decimal("2") ** 64]),
)
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.integers(0, 10**12).map(lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
flags = st.sampled_from([True, False, None])
common = {
    "venue": texts, "id": texts, "order_id": texts, "market": texts, "side": texts,
    "action": st.none() | texts, "price": numbers, "qty": numbers, "ts": times,
    "currency": st.none() | texts, "source": st.sampled_from(["live", "backfill", "history"]),
}  # fmt: skip
fills = st.builds(Fill, **common, taker=flags, fee=st.none() | numbers, position=st.none() | numbers, wash=flags)
cancels = st.builds(Cancel, **common, original_qty=st.none() | numbers, reason=st.none() | texts)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(fills, cancels))
def test_every_line_is_the_plain_encoders_bytes(event: Event) -> None:
    """Any fill or cancel (odd text, numbers of any size, NaN and infinities, any UTC time) encodes as before."""
    assert outcome(encode, event) == outcome(plain, event)


def test_repeated_events_keep_giving_the_same_bytes_once_their_pieces_are_cached() -> None:
    """The second and later encodings of the same values, and of values equal to them, are the first's bytes."""
    ts = datetime(2026, 12, 1, 12, 0, 0, 999_000, tzinfo=UTC)
    for price in (Decimal("0.36"), Decimal("0.3600"), Decimal("1") - Decimal("0.64")):
        fill = Fill(venue="kalshi", id="t", order_id="o", market="M", side="no", action="buy", price=price,
                    qty=Decimal("1.00"), ts=ts, taker=True, fee=Decimal("0.05"), currency="USD")  # fmt: skip
        for _ in range(3):
            assert encode(fill) == plain(fill)


def test_a_fill_and_a_cancel_whose_repeated_values_look_alike_keep_their_own_pieces() -> None:
    """A market, side and action equal to a cancel's currency, source and reason do not share its cached piece."""
    ts = datetime(2026, 12, 1, tzinfo=UTC)
    common = {"venue": "kalshi", "id": "t", "order_id": "o", "price": Decimal("0.5"), "qty": Decimal(1), "ts": ts}
    events: list[Event] = [
        Cancel(**common, market="USD", side="live", action=None, currency="USD", source="live"),
        Fill(**common, market="USD", side="live", action=None, currency="USD", source="live"),
        Fill(**common, market="X", side="yes", action="buy", wash=None, currency="USD", source="live"),
        Cancel(**common, market="X", side="yes", action="buy", currency=None, source="live", reason="USD"),
    ]
    for event in events * 2:
        assert encode(event) == plain(event)
