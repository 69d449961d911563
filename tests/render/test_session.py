"""Session totals and the exit summary: exact decimals, hand-computed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from fillwatch.core.events import Backfilled, BackfillFailed, Connected, Disconnected, Skipped
from fillwatch.render.session import Session
from fillwatch.render.summary import SessionSink, format_duration, summary
from tests.render.helpers import EVIL, cancel, console, fill, output

EVENTS = [
    fill("M", action="buy", price="0.40", qty="10", fee="0.07", position=None),
    fill("M", action="buy", price="0.46", qty="5", fee="0.03", position=None),
    fill("M", action="sell", price="0.55", qty="4", fee="0.02", position=None),
    cancel("M"),
    fill("M", side="no", action="buy", price="0.25", qty="3", fee=None, position=None),
    fill("N", action="sell", price="0.1234", qty="2.5", fee="0.000123", position=None),
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def session_with_events() -> tuple[Session, Clock]:
    clock = Clock()
    session = Session(venue="kalshi", env="prod", clock=clock)
    for event in EVENTS:
        session.add(event)
    clock.now += 65
    return session, clock


def test_positions_per_market_are_exact() -> None:
    """One position per market (YES and NO together), FIFO P&L, fees and counts match the hand computation."""
    session, _ = session_with_events()
    m = session.book.positions[("kalshi", "M", None)]
    # +10 @0.40, +5 @0.46, −4 @0.55 (4 × 0.15 = 0.60), NO 3 @0.25 = −3 @0.75 (3 × 0.35 = 1.05)
    assert (m.net, m.position, m.realized) == (Decimal(8), Decimal(8), Decimal("1.65"))
    assert m.average == Decimal("0.4375")  # 3 @0.40 and 5 @0.46 left: 3.50 / 8
    assert (m.fees, m.fills, m.cancels) == (Decimal("0.12"), 4, 1)
    n = session.book.positions[("kalshi", "N", None)]
    assert (n.net, n.average, n.fees, n.realized) == (Decimal("-2.5"), Decimal("0.1234"), Decimal("0.000123"), 0)
    assert (session.events, session.fills, session.cancels) == (6, 5, 1)


def test_no_float_rounding_creeps_into_sums() -> None:
    """A thousand fills of 0.1 at 0.0001 fee sum to exactly 100 and 0.1000."""
    session = Session(venue="kalshi", env="prod")
    for _ in range(1000):
        session.add(fill("M", qty="0.1", price="0.33", fee="0.0001", position=None))
    position = session.book.positions[("kalshi", "M", None)]
    assert (position.net, position.fees, position.average) == (Decimal("100.0"), Decimal("0.1000"), Decimal("0.33"))


def test_connection_state_reconnects_and_skips() -> None:
    """Connected, lost, reconnected: one reconnect, one drop; Skipped keeps the running count."""
    session = Session(venue="kalshi", env="prod")
    assert session.state == "connecting"
    session.status(Connected("ws://x", 1))
    session.status(Disconnected("connection lost", 1.5))
    assert (session.state, session.retry_in) == ("disconnected", 1.5)
    session.status(Disconnected("connection refused", 3.0))
    session.status(Connected("ws://x", 3))
    session.status(Skipped("not JSON", "{", 1))
    session.status(Skipped("not JSON", "{", 2))
    assert (session.state, session.reconnects, session.drops, session.skipped) == ("connected", 1, 1, 2)


def test_summary_shows_the_hand_computed_numbers() -> None:
    """Duration, counts, reconnects, skipped frames, then one row per market and side."""
    session, _ = session_with_events()
    session.status(Connected("ws://x", 1))
    session.status(Connected("ws://x", 1))
    session.status(Skipped("not JSON", "{", 2))
    target = console(color_system=None)
    target.print(summary(session))
    text = output(target)
    assert text.splitlines()[0] == (
        "fillwatch: session 0:01:05 · 6 events (5 fills, 1 cancel) · reconnects 1 · skipped 2 malformed frames"
    )
    assert text.splitlines()[1] == "P&L (session, FIFO): realized +1.65, fees 0.1201, net +1.5299"
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[3:]}
    #                 position avg      realized fees     fills cancels
    assert rows["M"] == ["+8", "0.4375", "+1.65", "0.12", "4", "1"]
    assert rows["N"] == ["-2.5", "0.1234", "0.00", "0.0001", "1", "0"]
    assert rows["total"] == ["+1.65", "0.1201", "5", "1"]


def test_backfills_are_counted_in_the_summary() -> None:
    """Events recovered from history, backfills and failed backfills are counted and shown."""
    session, _ = session_with_events()
    since = datetime(2026, 11, 21, tzinfo=UTC)
    session.status(Connected("ws://x", 1))
    session.status(Connected("ws://x", 1))
    session.status(BackfillFailed(since, "HTTP 503", downtime=0.5))
    session.status(Backfilled(since, fills=4, cancels=1, seconds=0.2, downtime=0.5))
    session.status(Backfilled(since, fills=2, cancels=0, seconds=0.1))
    assert (session.backfills, session.backfills_failed, session.recovered) == (2, 1, 7)
    target = console(color_system=None, width=200)
    target.print(summary(session))
    assert output(target).splitlines()[0] == (
        "fillwatch: session 0:01:05 · 6 events (5 fills, 1 cancel) · reconnects 1"
        " · 7 recovered from history in 2 backfills (1 attempt failed and retried) · skipped 0 malformed frames"
    )


def test_summary_colours_positions() -> None:
    """A long position is green, a short one red."""
    session, _ = session_with_events()
    target = console(color_system="standard")
    target.print(summary(session))
    text = output(target)
    assert re.search(r"\x1b\[32m *\+8\x1b\[0m", text)
    assert re.search(r"\x1b\[31m *-2\.5\x1b\[0m", text)


def test_summary_neutralises_escape_sequences_in_tickers_and_titles() -> None:
    """A hostile ticker or title shows as visible escapes, and markup stays literal."""
    session = Session(venue="kalshi", env="prod")
    session.add(fill(EVIL))
    target = console(color_system="standard")
    sink = SessionSink(session, target, titles={("kalshi", EVIL): "title \x1b[5m[red]blink"})
    sink.close()
    text = output(target)
    assert "\\x1b]0;pwned\\x07" in text
    assert "\x1b]0;" not in text
    assert "\x07" not in text
    assert "\x1b[2J" not in text
    assert "\x1b[5m" not in text
    assert "[bold]x" in text


def test_quiet_session_sink_prints_nothing() -> None:
    """show=False (-q): the session is kept, nothing is printed."""
    session = Session(venue="kalshi", env="prod")
    target = console()
    sink = SessionSink(session, target, show=False)
    sink.event(fill())
    sink.close()
    assert (session.events, output(target)) == (1, "")


def test_duration_format() -> None:
    """Hours, minutes and seconds."""
    assert [format_duration(s) for s in (0, 65.9, 3600 * 26 + 61)] == ["0:00:00", "0:01:05", "26:01:01"]
