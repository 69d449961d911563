"""Kalshi WebSocket frames through the adapter: fills, cancels, legacy direction, error frames, diagnostics.

Shapes: asyncapi.yaml (kalshi-sdk 22.4.0) ``fill``, ``user_order`` and ``error`` messages, and the
legacy fields of protocols/kalshi.md §4.3/§4.4 that §9 keeps readable.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from fillwatch.core.events import Cancel, Fill
from fillwatch.venues.base import Malformed, Rejected
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.venues.kalshi_shapes import live_fill, user_order


@pytest.fixture
def venue() -> Kalshi:
    return Kalshi.for_parsing()


def one(venue: Kalshi, frame: str) -> object:
    [parsed] = venue.parse(frame)
    return parsed


def legacy_fill(**direction: str) -> str:
    """A fill from before outcome_side/book_side (protocols/kalshi.md §4.3 legacy example), with `direction`."""
    absent = dict.fromkeys(("outcome_side", "book_side", "side", "action", "purchased_side"), ...)
    return live_fill(**(absent | direction))


# Direction of messages without outcome_side or book_side.


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ({"purchased_side": "no"}, ("no", "buy")),
        ({"side": "yes"}, ("yes", None)),
        ({"side": "yes", "purchased_side": "yes"}, ("yes", "buy")),
        ({"side": "yes", "purchased_side": "no"}, ("yes", "sell")),
        ({"side": "no", "action": "sell_position"}, ("no", "sell")),
        ({"side": "no", "action": "buy"}, ("no", "buy")),
    ],
    ids=["purchased-only", "side-only", "side-bought", "side-sold", "sell-action", "buy-action"],
)
def test_legacy_direction_comes_from_side_action_and_purchased_side(
    venue: Kalshi, direction: dict[str, str], expected: tuple[str, str | None]
) -> None:
    """§4.3: side as sent; action as sent, else buy when purchased_side is that side, sell when not, else null."""
    fill = one(venue, legacy_fill(**direction))
    assert isinstance(fill, Fill)
    assert (fill.side, fill.action) == expected


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (legacy_fill(), "bad fill message (no side)"),
        (legacy_fill(side="maybe"), "bad fill message (side 'maybe')"),
        (live_fill(outcome_side=..., book_side="middle"), "bad fill message (book_side 'middle')"),
        (live_fill(trade_id=123), "bad fill message (expected a non-empty string, got 123)"),
        (live_fill(market_ticker=""), "bad fill message (expected a non-empty string, got '')"),
        (live_fill(order_id=...), "bad fill message (missing order_id)"),
        (user_order(fill_count_fp="12.00"), "bad user_order message (fill_count_fp exceeds initial_count_fp)"),
    ],
    ids=["no-side", "bad-side", "bad-book-side", "numeric-id", "empty-market", "no-order-id", "overfilled"],
)
def test_a_malformed_message_is_reported_with_what_was_wrong(venue: Kalshi, frame: str, reason: str) -> None:
    """A message that cannot be a line is a Malformed item whose reason names the field at fault, never a raise."""
    parsed = one(venue, frame)
    assert isinstance(parsed, Malformed)
    assert parsed.reason == reason


def test_a_live_fill_with_a_non_boolean_is_taker_says_taker_unknown(venue: Kalshi) -> None:
    """asyncapi.yaml fillPayload is_taker is a boolean; anything else ("true", 1) is not guessed at: null."""
    takers = [one(venue, live_fill(is_taker=value)).taker for value in ("true", 1, False)]  # type: ignore[attr-defined]
    assert takers == [None, None, False]


# Cancels.


def cancel(venue: Kalshi, frame: str) -> Cancel:
    parsed = one(venue, frame)
    assert isinstance(parsed, Cancel), parsed
    return parsed


def test_the_cancelled_quantity_may_be_a_fraction_and_nothing_left_is_no_cancel(venue: Kalshi) -> None:
    """qty = initial − filled on a zeroed cancel (protocols/kalshi.md §9): 0.50 of 10 left is a cancel of 0.50;
    a "cancel" of a wholly filled order cancels nothing, a quantity not above 0: skipped and counted (CONTRACT §5)."""
    assert cancel(venue, user_order(fill_count_fp="9.50")).qty == Decimal("0.50")
    nothing = one(venue, user_order(fill_count_fp="10.00"))
    assert isinstance(nothing, Malformed)
    assert "not above 0" in nothing.reason


def test_a_cancel_without_its_initial_count_has_no_original_quantity(venue: Kalshi) -> None:
    """An older cancel (§4.4) with a non-zero remaining count and no initial_count_fp: qty read, original null."""
    line = cancel(venue, user_order(remaining_count_fp="3.00", initial_count_fp=...))
    assert (line.qty, line.original_qty) == (Decimal("3.00"), None)


@pytest.mark.parametrize("value", [5, True, ["ExpiryCancel"], ""])
def test_a_reason_that_is_not_a_name_gives_no_reason(venue: Kalshi, value: object) -> None:
    """asyncapi.yaml lastUpdateReason is a string; a number, list or empty string is no reason (null), not 'other'."""
    assert cancel(venue, user_order(last_update_reason=value)).reason is None


def test_a_cancel_dated_by_the_clock_is_dated_to_the_millisecond(venue: Kalshi) -> None:
    """With no time in the message, the reading time dates it, rounded to whole milliseconds (CONTRACT §3 ts)."""
    venue.clock = lambda: 1733047260.1237
    frame = user_order(created_ts_ms=None, created_time=None, last_update_time=..., last_updated_ts_ms=...)
    assert cancel(venue, frame).ts == datetime(2024, 12, 1, 10, 1, 0, 124000, tzinfo=UTC)


def test_the_default_clock_is_the_wall_clock() -> None:
    """A fresh adapter dates a time-less cancel by the wall clock, not a fixed or missing one."""
    frame = user_order(created_ts_ms=None, created_time=None, last_update_time=..., last_updated_ts_ms=...)
    before = time.time()
    ts = cancel(Kalshi.for_parsing(), frame).ts.timestamp()
    assert before - 0.001 <= ts <= time.time() + 0.001  # rounded to the millisecond


def test_a_user_order_that_is_not_cancelled_is_no_event(venue: Kalshi) -> None:
    """asyncapi.yaml user_order status resting/executed: only canceled makes a line."""
    assert [venue.parse(user_order(status=s)) for s in ("resting", "executed")] == [(), ()]


# Error frames.


def error(body: object, **envelope: object) -> str:
    return orjson.dumps({"type": "error", "msg": body, **envelope}).decode()


@pytest.mark.parametrize("body", ["Authentication required", None, [9]])
def test_an_error_whose_body_is_not_an_object_is_reported_as_having_no_code(venue: Kalshi, body: object) -> None:
    """asyncapi.yaml errorPayload is an object {code, msg}; any other body is an error without a numeric code."""
    parsed = one(venue, error(body, id=1))
    assert isinstance(parsed, Malformed)
    assert parsed.reason == "Kalshi error without a numeric code, answering no command of ours"


def test_an_error_without_text_still_says_what_it_is(venue: Kalshi) -> None:
    """asyncapi.yaml errorPayload: an authentication error (code 9) that carries no msg says 'no message'."""
    assert one(venue, error({"code": 9}, id=1)) == Rejected(9, "no message", auth=True)


def test_an_error_naming_another_command_says_its_code(venue: Kalshi) -> None:
    """An error answering a command id that is not our subscribe is reported with its code, never fatal."""
    parsed = one(venue, error({"code": 8, "msg": "Unknown channel name"}, id=7))
    assert isinstance(parsed, Malformed)
    assert parsed.reason == "Kalshi error 8, answering no command of ours"


# Memory across runs.


def test_kalshi_keeps_no_memory_across_runs(venue: Kalshi) -> None:
    """REST dates every cancel, so there is nothing to remember; a checkpoint holding memory for Kalshi is refused."""
    assert venue.memory(lambda event: True) is None
    venue.recall(None)
    with pytest.raises(ValueError, match=r"^Kalshi keeps no memory across runs$"):
        venue.recall({"seen": []})
