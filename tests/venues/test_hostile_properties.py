"""Property-based: no frame and no history body, however hostile, makes an adapter raise (CONTRACT §5).

Arbitrary JSON values, and the real frames of tests/data/*/events.json (the
venues' documented examples: protocols/kalshi.md §4.3–§4.4 and §9,
protocols/novig.md §4.3–§4.5 and §6) mutated field by field, go through both
adapters' ``parse`` and ``parse_history``. Every event that comes out must be
one a line can show: price 0–1, quantity above 0, a short line. Example counts
are bounded so that the whole file runs in a few seconds (``HYPOTHESIS_EXAMPLES=3000``
for a deeper run). Values nested a thousand deep are tested in test_hostile.py instead:
hypothesis raises the recursion limit while it runs, which would hide a RecursionError.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fillwatch.core.events import Cancel, Fill
from fillwatch.render.jsonl import encode
from fillwatch.render.lines import LineFormatter
from fillwatch.venues.base import HistoryPage
from fillwatch.venues.kalshi.adapter import Kalshi
from fillwatch.venues.novig.adapter import Novig
from tests.render.helpers import console
from tests.venues.test_hostile import (
    KALSHI_CASES,
    KALSHI_REST_FILL,
    NOVIG_CANCEL,
    NOVIG_CASES,
    NOVIG_FEES_ROW,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SINCE = datetime(2020, 1, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "100"))
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

KALSHI_FRAMES = [case["frame"] for case in KALSHI_CASES]
KALSHI_ORDER_ROWS = [f["msg"] for f in KALSHI_FRAMES if f["type"] == "user_order"]  # REST orders share the fields
NOVIG_FRAMES = [f for case in NOVIG_CASES for f in case["frames"] if "orders/all" not in f] + [NOVIG_CANCEL]
NOVIG_ORDERS = [o for case in NOVIG_CASES for o in case["orders"]] + [
    o for case in NOVIG_CASES for f in case["frames"] if "orders/all" in f for o in f["orders/all"]
]
NOVIG_FILL_ROWS = [f["data"] for f in NOVIG_FRAMES if f.get("event") == "fill"] + [NOVIG_FEES_ROW]


def keys_of(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item)


REAL_KEYS = sorted(set(keys_of([KALSHI_FRAMES, KALSHI_REST_FILL, NOVIG_FRAMES, NOVIG_ORDERS, NOVIG_FEES_ROW])))

NASTY = st.sampled_from(
    [
        "sNaN",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999999",
        "1e100000000",
        "1e-100000000",
        "0E-999999",
        10**18,
        -(10**18),
        2**64,
        2**64 - 1,
        1e308,
        5e-324,
        -1,
        0,
        "0",
        "-1.00",
        "1.5",
        "",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "10000-01-01T00:00:00Z",
        "\x1b[2J\u202e",
        [],
        {},
        ["fill"],
        {"type": "CLOSE"},
        "fill",
        "user_order",
        "canceled",
        "CANCELLED",
        "CLOSE",
        "yes",
        "no",
        "buy",
        "sell",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | NASTY
)
KEYS = st.sampled_from(REAL_KEYS) | st.text(max_size=8)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=24,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from paths(item, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, originals: list[Any]) -> Any:
    """One of `originals`, with one to three fields replaced by hostile values or removed."""
    value = copy.deepcopy(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(value))))
        if not path:
            value = copy.deepcopy(draw(JSON))  # a copy: the strategy's own objects must not be changed
            continue
        holder = value
        for key in path[:-1]:
            holder = holder[key]
        if isinstance(holder, dict) and draw(st.booleans()):
            del holder[path[-1]]
        else:
            holder[path[-1]] = copy.deepcopy(draw(JSON))
    return value


def text(value: Any) -> str:
    return json.dumps(value)  # integers of any size, as a venue could write them


# The zones furthest from UTC: a time at either end of the range must still show in them.
LINES = [LineFormatter(console(), tz=timezone(timedelta(hours=h))) for h in (14, -12)]


def showable(items: Any) -> None:
    """Every event can be shown: in range, and as a JSON line and a terminal line of bounded length."""
    for item in items:
        if isinstance(item, (Fill, Cancel)):
            assert 0 <= item.price <= 1
            assert item.qty > 0
            assert len(encode(item)) < 2048
            assert all(len(line(item)) < 2048 for line in LINES)


@BOUNDED
@given(st.one_of(JSON.map(text), st.text(max_size=60), st.binary(max_size=60)))
def test_kalshi_parse_never_raises_on_any_frame(frame: str | bytes) -> None:
    """Any text, bytes or JSON value is parsed into items or a Malformed, never an exception."""
    showable(Kalshi.for_parsing().parse(frame))


@BOUNDED
@given(mutated(KALSHI_FRAMES))
def test_kalshi_parse_never_raises_on_mutated_real_frames(frame: Any) -> None:
    """Kalshi's documented frames with fields replaced or removed never make ``parse`` raise."""
    showable(Kalshi.for_parsing().parse(text(frame)))


@BOUNDED
@given(st.sampled_from(["fills", "orders"]), st.lists(mutated([KALSHI_REST_FILL, *KALSHI_ORDER_ROWS]), max_size=4))
def test_kalshi_history_never_raises_on_mutated_rows(kind: str, rows: list[Any]) -> None:
    """A page of mutated REST rows keeps what it can read and counts the rest: never an exception."""
    page = Kalshi.for_parsing().parse_history(kind, text({kind: rows, "cursor": ""}), EPOCH, None)
    assert len(page.events) + page.skipped <= len(rows)
    showable(page.events)


@BOUNDED
@given(st.sampled_from(["fills", "orders"]), JSON)
def test_kalshi_history_body_of_any_shape_is_a_page_or_a_value_error(kind: str, body: Any) -> None:
    """Any JSON body is a page or a ValueError (reported, retried): nothing else escapes."""
    try:
        page = Kalshi.for_parsing().parse_history(kind, text(body).encode(), EPOCH, None)
    except ValueError:
        return
    assert isinstance(page, HistoryPage)
    showable(page.events)


def primed_novig() -> Novig:
    """A Novig adapter that has read the sample orders (some open), as after its warm-up."""
    venue = Novig(clock=lambda: 1767225600.5)
    venue.parse_history("orders", text(NOVIG_ORDERS[:12]).encode(), EPOCH, None)
    venue.parse_history("orders", b"[]", EPOCH, "COIN:0")
    return venue


@BOUNDED
@given(st.one_of(JSON.map(text), st.text(max_size=60), st.binary(max_size=60)))
def test_novig_parse_never_raises_on_any_frame(frame: str | bytes) -> None:
    """Any text, bytes or JSON value is parsed into items or a Malformed, never an exception."""
    showable(primed_novig().parse(frame))


@BOUNDED
@given(st.lists(mutated(NOVIG_FRAMES), min_size=1, max_size=3))
def test_novig_parse_never_raises_on_mutated_real_frames(frames: list[Any]) -> None:
    """Novig's documented events and ticks, mutated, never make ``parse`` raise, one after another."""
    venue = primed_novig()
    for frame in frames:
        showable(venue.parse(text(frame)))


@BOUNDED
@given(
    st.sampled_from([("fills", NOVIG_FILL_ROWS), ("orders", NOVIG_ORDERS)]).flatmap(
        lambda kind_rows: st.tuples(st.just(kind_rows[0]), st.lists(mutated(kind_rows[1]), max_size=4))
    ),
    st.sampled_from([None, "COIN:0"]),
)
def test_novig_history_never_raises_on_mutated_rows(kind_rows: tuple[str, list[Any]], page: str | None) -> None:
    """A page of mutated ``fills/all`` or ``orders/all`` rows keeps what it can read and counts the rest."""
    kind, rows = kind_rows
    result = primed_novig().parse_history(kind, text(rows).encode(), SINCE, page)
    assert len(result.events) <= len(rows) - result.skipped
    showable(result.events)


@BOUNDED
@given(st.sampled_from(["fills", "orders"]), JSON)
def test_novig_history_body_of_any_shape_is_a_page_or_a_value_error(kind: str, body: Any) -> None:
    """Any JSON body is a page or a ValueError (reported, retried): nothing else escapes."""
    try:
        result = primed_novig().parse_history(kind, text(body).encode(), SINCE, None)
    except ValueError:
        return
    showable(result.events)


@pytest.mark.parametrize("venue", [Kalshi.for_parsing(), Novig()], ids=["kalshi", "novig"])
def test_the_real_frames_still_give_events(venue: Kalshi | Novig) -> None:
    """The unmutated samples parse into events: the properties above run over real code paths."""
    frames = KALSHI_FRAMES if isinstance(venue, Kalshi) else NOVIG_FRAMES
    assert sum(isinstance(p, (Fill, Cancel)) for f in frames for p in venue.parse(text(f))) >= 5
