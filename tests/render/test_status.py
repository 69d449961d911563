"""Diagnostics on stderr: short lines, escaped, skipped frames rate limited."""

from __future__ import annotations

import io

from fillwatch.events import Connected, Disconnected, Skipped
from fillwatch.render.status import StatusSink


def test_connection_lines() -> None:
    """First connect, disconnect with its delay, then a reconnect."""
    out = io.StringIO()
    sink = StatusSink(out, venue="kalshi")
    sink.status(Connected("ws://h/x", 1))
    sink.status(Disconnected("connection lost", 1.25))
    sink.status(Connected("ws://h/x", 1))
    assert out.getvalue().splitlines() == [
        "+ connected to kalshi (ws://h/x)",
        "- disconnected: connection lost; retrying in 1.2 s",
        "+ reconnected to kalshi (ws://h/x)",
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
