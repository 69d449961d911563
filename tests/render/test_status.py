"""Diagnostics on stderr: short lines, escaped, skipped frames rate limited."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fillwatch.core.events import Backfilled, BackfillFailed, Connected, Disconnected, Skipped
from fillwatch.render.status import StatusSink


def test_connection_lines() -> None:
    """First connect; a disconnect with its delay; a reconnect, said with what its backfill recovered."""
    out = io.StringIO()
    since = datetime(2026, 11, 21, 20, 0, 5, tzinfo=UTC)
    sink = StatusSink(out, venue="kalshi")
    sink.status(Connected("ws://h/x", 1))
    sink.status(Disconnected("connection lost", 1.25))
    sink.status(Connected("ws://h/x", 1))
    sink.status(Backfilled(since, fills=4, cancels=1, seconds=0.2, downtime=3.24))
    sink.status(Disconnected("connection lost", 0.5))
    sink.status(Connected("ws://h/x", 2))
    sink.status(BackfillFailed(since, "GET /trade-api/v2/portfolio/fills: HTTP 503, 4 attempts", downtime=0.61))
    sink.status(Backfilled(since, fills=12, cancels=0, seconds=1.04, skipped=1))
    assert out.getvalue().splitlines() == [
        "+ connected to kalshi (ws://h/x)",
        "- disconnected: connection lost; retrying in 1.2 s",
        "+ reconnected after 3.2 s, 4 fills and 1 cancel recovered",
        "- disconnected: connection lost; retrying in 0.5 s",
        "+ reconnected after 0.6 s; ! history since 2026-11-21T20:00:05Z not read"
        " (GET /trade-api/v2/portfolio/fills: HTTP 503, 4 attempts); will retry",
        "+ history since 2026-11-21T20:00:05Z: 12 fills and 0 cancels (1 unreadable row skipped) (1.0 s)",
    ]


def test_skipped_frames_are_rate_limited_and_escaped() -> None:
    """After three lines, one per interval; escape sequences are shown, not obeyed."""
    now = [0.0]
    out = io.StringIO()
    sink = StatusSink(out, venue="kalshi", clock=lambda: now[0])
    for count in range(1, 11):
        sink.status(Skipped("not JSON", "\x1b[2Jboom", count))
    now[0] = 6.0
    sink.status(Skipped("not JSON", "x", 11))
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert "\x1b" not in out.getvalue()
    assert "\\x1b[2Jboom" in lines[0]
    assert "11 so far" in lines[-1]


def test_quiet_shows_nothing() -> None:
    """-q silences the diagnostics."""
    out = io.StringIO()
    StatusSink(out, venue="kalshi", quiet=True).status(Disconnected("x", 1))
    assert out.getvalue() == ""
