"""The lines view: one colour-coded line per event, escaped, written in one go."""

from __future__ import annotations

import os
import re
from datetime import UTC

import pytest

from fillwatch.render.console import make_console
from fillwatch.render.lines import LineFormatter, LinesSink
from tests.render.helpers import EVIL, cancel, console, fill

GREEN, RED, YELLOW_DIM, RESET = "\x1b[32m", "\x1b[31m", "\x1b[2;33m", "\x1b[0m"


def formatter(color_system: str | None = "truecolor", titles=None) -> LineFormatter:
    return LineFormatter(console(color_system=color_system), titles=titles, tz=UTC)


def test_fill_line_content() -> None:
    """Time, venue, action, side, qty @ price, market, maker/taker, fee and position."""
    line = formatter(None)(fill("KXFED", qty="278.00", price="0.7500", fee="0.010000", position="500", taker=True))
    expected = "20:33:25  kalshi BUY         yes       278 @ 0.75   KXFED" + " " * 24 + "taker fee 0.01   pos    +500\n"
    assert line == expected


def test_cancel_line_content() -> None:
    """A cancel says CANCEL, the order's action, what was left of its size."""
    line = formatter(None)(cancel("KXFED", action="sell"))
    assert line == "20:33:25  kalshi CANCEL sell yes         4 @ 0.35   KXFED                        left of 10\n"


def test_colours_buy_green_sell_red_cancel_yellow_dim() -> None:
    """Whole lines are coloured by kind and direction, and reset at the end."""
    fmt = formatter("standard")
    buy, sell, cancelled = fmt(fill(action="buy")), fmt(fill(action="sell")), fmt(cancel())
    assert buy.startswith(GREEN + "20:33:25")
    assert buy.endswith(RESET + "\n")
    assert sell.startswith(RED + "20:33:25")
    assert sell.endswith(RESET + "\n")
    assert cancelled.startswith(YELLOW_DIM + "20:33:25")
    assert cancelled.endswith(RESET + "\n")


def test_taker_is_marked_bold_and_the_title_dimmed() -> None:
    """The taker mark is bold in the line's colour; a known title follows the ticker, dimmed."""
    fmt = formatter("standard", titles={("kalshi", "KXFED"): "Fed funds above 4.25%?"})
    line = fmt(fill("KXFED", taker=True))
    assert "\x1b[1;32mtaker" in line
    assert "pos     +10   \x1b[0m\x1b[2;32mFed funds above 4.25%?\x1b[0m\x1b[32m" in line


def test_escape_sequences_in_venue_strings_are_neutralised() -> None:
    """A hostile ticker, side, title or reason shows its escapes; none reach the terminal."""
    fmt = formatter("standard", titles={("kalshi", EVIL): "t\x1b[5m\x9b"})
    text = fmt(fill(EVIL, side="y\x1b[8m")) + fmt(cancel(EVIL))
    assert "EVIL\\x1b]0;pwned\\x07\\x1b[31m\\x1b[2J[bold]x" in text
    for raw in ("\x1b]0;", "\x07", "\x1b[2J", "\x1b[8m", "\x1b[5m", "\x9b"):
        assert raw not in text


@pytest.mark.parametrize(
    ("mode", "environ", "colour", "any_escape"),
    [
        ("never", {}, False, False),
        ("always", {"NO_COLOR": "1"}, True, True),
        ("auto", {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False, True),
        ("auto", {"FORCE_COLOR": "1"}, True, True),
    ],
)
def test_color_option(
    monkeypatch: pytest.MonkeyPatch, mode: str, environ: dict[str, str], colour: bool, any_escape: bool
) -> None:
    """never: no escapes at all; always beats NO_COLOR; auto under NO_COLOR keeps only attributes (dim)."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    fmt = LineFormatter(make_console(mode), tz=UTC)  # type: ignore[arg-type]
    text = fmt(fill(action="buy")) + fmt(cancel())
    assert (GREEN in text) is colour
    assert ("\x1b" in text) is any_escape


def test_auto_without_a_terminal_has_no_colour() -> None:
    """--color auto writing into a pipe: plain text."""
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as pipe:
        fmt = LineFormatter(make_console("auto", file=pipe), tz=UTC)
        assert "\x1b" not in fmt(fill())
    os.close(read_end)


def test_sink_writes_everything_buffered_in_one_write_and_rings_once() -> None:
    """Lines wait for flush; one flush is one write; --bell adds one BEL per batch with fills."""
    read_end, write_end = os.pipe()
    sink = LinesSink(write_end, formatter(None), bell=True)
    sink.event(fill("A"))
    sink.event(fill("B"))
    sink.event(cancel("C"))
    sink.flush()
    data = os.read(read_end, 1 << 16).decode()
    assert re.findall(r"@ \S+ +(\w)\b", data) == ["A", "B", "C"]
    assert data.count("\a") == 1
    sink.event(cancel("D"))
    sink.close()
    assert "\a" not in os.read(read_end, 1 << 16).decode()
    os.close(read_end)
    os.close(write_end)


TITLE = "Bitcoin above $98,500 on Nov 21, 2026 at 5pm EST?"
TICKER = "KXBTCD-26NOV2117-T98499.99"


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_a_line_never_exceeds_the_terminal_and_keeps_the_tickers_end(width: int) -> None:
    """At 60–200 columns a titled fill and a cancel fit on one line, and the ticker's strike shows."""
    fmt = LineFormatter(console(color_system=None), titles={("kalshi", TICKER): TITLE}, tz=UTC, width=width)
    for line in (fmt(fill(TICKER, fee="0.0175", position="-1250.5", taker=True)), fmt(cancel(TICKER))):
        assert line.endswith("\n")
        assert len(line) - 1 <= width
        assert "-T98499.99" in line
    wide = fmt(fill(TICKER))
    assert (TITLE in wide) is (width == 200)  # the title gives way first: whole only when there is room


def test_columns_stay_put_when_the_title_arrives() -> None:
    """The same market's fields are at the same offsets before and after its title is known."""
    titles: dict[tuple[str, str], str] = {}
    fmt = LineFormatter(console(color_system=None), titles=titles, tz=UTC, width=120)
    before = fmt(fill("KXFED-26DEC-T4.25", fee="0.07", position="+10"))
    titles[("kalshi", "KXFED-26DEC-T4.25")] = "Fed funds upper bound above 4.25% after the December meeting?"
    after = fmt(fill("KXFED-26DEC-T4.25", fee="0.07", position="+10"))
    assert after.startswith(before.rstrip("\n"))
    assert len(after) - 1 == 120


def test_a_pipe_gets_full_lines() -> None:
    """Without a width (a pipe, a file) nothing is cut: the whole ticker and title."""
    long = TICKER + "-AND-SOME-MORE"
    fmt = LineFormatter(console(color_system=None), titles={("kalshi", long): TITLE}, tz=UTC)
    line = fmt(fill(long, fee="0.0175"))
    assert long in line
    assert line.rstrip("\n").endswith(TITLE)


def test_history_events_carry_a_mark() -> None:
    """A backfilled or --since event has an h after its time; a live one a blank."""
    from dataclasses import replace

    fmt = formatter(None)
    assert fmt(replace(fill(), source="history")).startswith("20:33:25h kalshi")
    assert fmt(fill()).startswith("20:33:25  kalshi")


def test_lines_follow_a_resized_terminal() -> None:
    """After a flush the sink reads the terminal's width again: lines made after a resize fit the new width."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 200, 0, 0))
    fmt = LineFormatter(console(color_system=None), titles={("kalshi", TICKER): TITLE}, tz=UTC, width=200)
    sink = LinesSink(slave, fmt)
    sink.event(fill(TICKER))
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 80, 0, 0))
    sink.flush()
    assert fmt.width == 80
    sink.event(fill(TICKER))
    sink.close()
    import select

    data = b""
    while data.count(b"\n") < 2 and select.select([master], [], [], 5)[0]:
        data += os.read(master, 1 << 16)  # a pty may hand over one write at a time
    written = data.decode().splitlines()
    assert len(written[0]) > 80
    assert len(written[1]) <= 80
    os.close(master)
    os.close(slave)
