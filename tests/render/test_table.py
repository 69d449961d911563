"""The live table: content, colours, layout and coalesced redraws, against a fixed Console."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC

import pytest

from fillwatch.core.events import Connected, Disconnected, Skipped
from fillwatch.render.session import Session
from fillwatch.render.table import FillBoard, LiveTableSink
from tests.render.helpers import EVIL, cancel, console, fill, output
from tests.warp import run_warped

GREEN, RED, YELLOW_DIM, BOLD = "\x1b[32m", "\x1b[31m", "\x1b[2;33m", "\x1b[1;"


def board_with(*events, titles=None, **session_kw) -> FillBoard:
    session = Session(venue="kalshi", env="prod", **session_kw)
    board = FillBoard(session, titles=titles or {}, tz=UTC, wall_clock=lambda: 1000.0)
    for event in events:
        session.add(event)
        board.add(event)
    return board


def rows_of(text: str) -> list[str]:
    """The plain text of the lines that show events (they start with the time)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [line for line in plain.splitlines() if line.startswith("20:33:25")]


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_columns_and_values() -> None:
    """Every column is there, in order, with the event's values."""
    board = board_with(fill("KXFED", price="0.4000", qty="10.00", fee="0.070000", position="-7.50", taker=True))
    target = console(color_system=None)
    target.print(board)
    text = output(target)
    assert re.search(r"time +venue +market +side +action +qty +price +m/t +fee +position", text)
    assert len(rows_of(text)) == 1
    expected = ["20:33:25", "kalshi", "KXFED", "yes", "buy", "10", "0.4", "taker", "0.07", "-7.5"]
    assert rows_of(text)[0].split() == expected


def test_newest_event_is_on_top() -> None:
    """Rows are in reverse order of arrival."""
    board = board_with(fill("FIRST"), fill("SECOND"), cancel("THIRD"))
    target = console(color_system=None)
    target.print(board)
    assert [row.split()[2] for row in rows_of(output(target))] == ["THIRD", "SECOND", "FIRST"]


def test_buys_green_sells_red_cancels_yellow_and_dim_takers_bold() -> None:
    """Each row carries its colour; a taker fill's maker/taker cell is bold."""
    board = board_with(fill("BUYS", action="buy", taker=True), fill("SELLS", action="sell"), cancel("CANCELS"))
    target = console()
    target.print(board)
    text = output(target)
    assert line_with(text, "BUYS").startswith(GREEN + "20:33:25")
    assert line_with(text, "SELLS").startswith(RED + "20:33:25")
    assert line_with(text, "CANCELS").startswith(YELLOW_DIM + "20:33:25")
    assert "\x1b[1;32mtaker" in line_with(text, "BUYS")
    assert "maker" in line_with(text, "SELLS")
    assert "cancel buy" in line_with(text, "CANCELS")


def test_titles_show_next_to_the_ticker_and_the_id_alone_without_one() -> None:
    """A known title follows its ticker (dimmed); a market without one shows the ticker only."""
    board = board_with(fill("KXFED"), fill("OTHER"), titles={("kalshi", "KXFED"): "Fed funds above 4.25%?"})
    target = console()
    target.print(board)
    text = output(target)
    assert "KXFED  \x1b[0m\x1b[2;32mFed funds above 4.25%?" in text
    assert "Fed funds" not in line_with(text, "OTHER")


def test_as_many_rows_as_the_terminal_holds() -> None:
    """With 200 events and 30 lines, the frame is exactly 30 lines: header, rows and footer."""
    board = board_with(*(fill(f"M{i % 3}", qty=str(i + 1)) for i in range(200)))
    target = console(height=30, color_system=None)
    target.print(board)
    lines = output(target).splitlines()
    assert len(lines) <= 30
    rows = rows_of(output(target))
    assert len(rows) >= 15
    assert rows[0].split()[5] == "200"  # the newest


def test_header_shows_connection_age_and_reconnects() -> None:
    """Venue, env, state, last-frame age and reconnects are in the header line."""
    board = board_with(fill())
    session = board.session
    target = console(color_system=None)
    target.print(board.header())
    assert "kalshi prod" in output(target)
    assert "● connecting" in output(target)
    session.status(Connected("ws://x", 1))
    session.status(Disconnected("connection lost", 2.5))
    session.status(Connected("ws://x", 2))
    session.status(Skipped("not JSON", "{", 3))
    session.frame(997.0)
    target = console(color_system="standard")
    target.print(board.header())
    header = output(target)
    assert "\x1b[1;32m● connected" in header
    assert "last frame 3 s ago" in header
    assert "reconnects 1" in header
    assert "skipped 3" in header
    session.status(Disconnected("connection lost", 2.5))
    target = console(color_system=None)
    target.print(board.header())
    assert "● disconnected, retrying in 2.5 s" in output(target)


def test_footer_has_one_row_per_market_with_position_and_pnl() -> None:
    """YES and NO fills of a market share one footer row: position, average entry, FIFO P&L, fees, counts, totals."""
    board = board_with(
        fill("M", action="buy", price="0.40", qty="10", fee="0.07", position=None),
        fill("M", action="buy", price="0.46", qty="5", fee="0.03", position=None),
        fill("M", side="no", price="0.45", qty="4", fee="0.02", position=None),
        cancel("M"),
    )
    target = console(color_system=None)
    target.print(board)
    text = output(target)
    assert re.search(r"market +position +avg +realized +fees +fills +cancels", text)
    totals = [line.split() for line in text.splitlines() if line.startswith(("M ", "total"))]
    # NO 4 @0.45 sells 4 YES @0.55 out of the 0.40 lot: 4 × 0.15 = 0.60; left 6 @0.40 + 5 @0.46 = 4.70 / 11
    assert totals == [["M", "+11", "0.4273", "+0.60", "0.12", "3", "1"], ["total", "+0.60", "0.12", "3", "1"]]
    assert "P&L session" in text.splitlines()[0]


def test_escape_sequences_and_markup_in_venue_strings_are_neutralised() -> None:
    """A hostile ticker, side or title cannot reach the terminal as control codes or markup."""
    board = board_with(fill(EVIL, side="y\x1b[8m"), titles={("kalshi", EVIL): "t\x9b31m [red]x"})
    target = console(width=200)
    target.print(board)
    text = output(target)
    assert "EVIL\\x1b]0;pwned\\x07" in text
    for raw in ("\x1b]0;", "\x07", "\x1b[2J", "\x1b[8m", "\x9b"):
        assert raw not in text
    assert "[bold]x" in text
    assert "[red]x" in text


def test_narrow_terminal_drops_columns_but_keeps_the_essentials() -> None:
    """At 70 columns the row still has time, market, side, action, qty and price."""
    board = board_with(fill("KXFED", taker=True))
    target = console(width=70, color_system=None)
    target.print(board)
    text = output(target)
    assert all(len(line) <= 70 for line in text.splitlines())
    assert rows_of(text)[0].split()[:6] == ["20:33:25", "KXFED", "yes", "buy", "10", "0.4"]


# The redraw tests run on a loop with a clock of its own (tests/warp.py): their sleeps cost no real time.


def test_redraws_are_coalesced_and_never_per_event() -> None:
    """1,000 events over 0.5 s of the loop's clock give a handful of redraws (≤ 10/s), none synchronous."""
    target = console()

    async def main() -> tuple[float, int, LiveTableSink]:
        sink = LiveTableSink(target, board_with(), max_fps=10)
        sink.event(fill())
        assert sink.redraws == 0  # an event only asks for a redraw
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(1000):
            sink.event(fill(qty=str(i + 1)))
            if i % 10 == 0:
                await asyncio.sleep(0.0035)
        await asyncio.sleep(0.15)
        elapsed, redraws = loop.time() - started, sink.redraws
        sink.close()  # draws the final frame once more
        return elapsed, redraws, sink

    elapsed, redraws, sink = run_warped(main())
    assert elapsed == pytest.approx(0.5)
    assert 5 <= redraws <= elapsed * 10 + 1
    assert sink.redraws == redraws + 1
    assert "1000" in output(target)  # the final frame shows the last event


def test_idle_table_still_redraws_to_age_the_last_frame() -> None:
    """With no events, a redraw still comes every idle interval."""
    target = console()

    async def main() -> LiveTableSink:
        sink = LiveTableSink(target, board_with(), idle_refresh=0.05)
        sink.status(Connected("ws://x", 1))
        await asyncio.sleep(0.3)
        sink.close()
        return sink

    assert run_warped(main()).redraws >= 6


def test_bell_rings_once_per_redraw_with_new_fills() -> None:
    """--bell: fills ring the bell (BEL), at most once per redraw; cancels do not."""
    target = console()

    async def main() -> None:
        sink = LiveTableSink(target, board_with(), bell=True)
        sink.event(cancel())
        await asyncio.sleep(0.15)
        assert "\x07" not in output(target)
        for _ in range(5):
            sink.event(fill())
        await asyncio.sleep(0.15)
        sink.close()

    run_warped(main())
    assert output(target).count("\x07") == 1


SUFFIXES = ("-T4.25", "-T2.9", "-B53.5", "-BOS", "-T98499.99")


@pytest.mark.parametrize(("width", "height"), [(60, 24), (80, 24), (120, 40), (200, 50)])
def test_the_table_fits_and_keeps_each_tickers_end(width: int, height: int) -> None:
    """At 60–200 columns: no line overflows, each market row keeps its ticker's end, the header is whole."""
    from tools.snapshot import render

    text = render(width=width, height=height, text=True)
    lines = text.splitlines()
    assert len(lines) <= height
    assert all(len(line) <= width for line in lines)
    assert "…" not in lines[0]  # parts are dropped whole, never cut
    assert lines[0].startswith(" fillwatch  kalshi demo  ● connected")
    footer = lines[lines.index("─" * width) + 1 :]
    assert footer[0].split()[:2] == ["market", "position"]
    markets = footer[1:-1]
    assert len(markets) == len(SUFFIXES)
    for suffix in SUFFIXES:  # the strike (the distinguishing end) is on screen, once per market
        assert sum(suffix + " " in line + " " for line in markets) == 1
    assert footer[-1].startswith("total")


def test_spare_width_goes_to_titles_and_the_footer_grows_with_the_height() -> None:
    """At 200×50 titles show whole; a taller terminal shows more markets in the footer (a third of its height)."""
    board = board_with(*(fill(f"KXM-{i}", position=None) for i in range(20)))
    target = console(width=200, height=50, color_system=None)
    board.titles = {("kalshi", "KXM-19"): "A title of sixty characters, give or take, shown in full ok"}  # type: ignore[misc]
    target.print(board)
    text = output(target)
    assert "A title of sixty characters, give or take, shown in full ok" in text
    tall = sum(line.startswith("KXM-") for line in text.splitlines())
    target = console(width=200, height=24, color_system=None)
    target.print(board)
    short = sum(line.startswith("KXM-") for line in output(target).splitlines())
    assert (short, tall) == (6, 14)


def test_history_rows_carry_a_mark_and_the_header_explains_it() -> None:
    """A row read from history shows h after its time; the header says what h means."""
    from dataclasses import replace

    board = board_with(replace(fill("OLD"), source="history"), fill("NEW"))
    target = console(color_system=None)
    target.print(board)
    text = output(target)
    assert line_with(text, "OLD").startswith("20:33:25 h ")
    assert line_with(text, "NEW").startswith("20:33:25   ")
    assert "h = from history" in text.splitlines()[0]


def test_a_connection_silent_past_kalshis_ping_interval_turns_amber() -> None:
    """Kalshi pings every 10 s: at 11 s the state is still green, at 13 s amber (state and age)."""
    now = [1000.0]
    session = Session(venue="kalshi", env="prod")
    board = FillBoard(session, tz=UTC, wall_clock=lambda: now[0])
    session.status(Connected("ws://x", 1))
    session.frame(989.0)
    target = console(color_system="standard")
    target.print(board.header())
    assert "\x1b[1;32m● connected" in output(target)
    now[0] = 1002.0
    target = console(color_system="standard")
    target.print(board.header())
    header = output(target)
    assert "\x1b[1;33m● connected" in header
    assert "\x1b[1;33m  last frame 13 s ago" in header


def test_the_header_says_custom_for_an_overridden_endpoint_and_gives_units() -> None:
    """--ws-url: `kalshi custom`, not `kalshi prod`; what backfills recovered is said with its unit."""
    from datetime import datetime

    from fillwatch.core.events import Backfilled

    session = Session(venue="kalshi", env="custom")
    board = FillBoard(session, tz=UTC, wall_clock=lambda: 1000.0)
    session.status(Backfilled(datetime(2026, 11, 21, tzinfo=UTC), fills=40, cancels=6, seconds=0.1, downtime=1.0))
    target = console(color_system=None, width=200)
    target.print(board.header())
    header = output(target)
    assert "kalshi custom" in header
    assert "46 recovered from history" in header


def test_the_header_is_never_cut_parts_are_dropped_whole() -> None:
    """At 60 columns the header keeps the venue, state and counts and drops the rest, without an ellipsis."""
    board = board_with(fill())
    board.session.status(Connected("ws://x", 1))
    board.session.frame(999.0)
    header = board.header(60).plain
    assert header == " fillwatch  kalshi prod  ● connected  1 fill · 0 cancels"


def test_a_filter_warning_shows_in_the_live_table_not_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """While the table is on screen the 'hid all' warning goes under its header (stderr would tear the table)."""
    from dataclasses import replace

    from fillwatch.core.filters import selector
    from fillwatch.render.views import Views

    class Table:
        live = True
        requests = 0

        def request(self) -> None:
            self.requests += 1

    now = [0.0]
    views = Views(sinks=[], session=Session(venue="kalshi", env="prod"))
    views.table = Table()  # type: ignore[assignment]
    select = views.filter(selector(["KXFED"]), globs=["KXFED"], patience=30, clock=lambda: now[0])
    assert select is not None
    for second in (0.0, 31.0):
        now[0] = second
        assert not select(replace(fill("KXFED-26DEC-T4.25")))
    assert capsys.readouterr().err == ""
    board = FillBoard(views.session, tz=UTC, wall_clock=lambda: 1000.0)
    target = console(color_system=None, width=200)
    target.print(board)
    second_line = output(target).splitlines()[1]
    assert second_line.startswith("warning: --market KXFED hid all 2 events in 31 s")
    assert views.session.filtered == 2
