"""A watch's views: one board for every account (account column, header and totals per account), the lines'
account column, the merged exit summary, and the desk that wires them."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
from datetime import UTC
from decimal import Decimal

import pytest

from fillwatch.core.events import Connected, Disconnected, Event
from fillwatch.render.board import AccountTotals, DeskBoard, Ending, watch_summary
from fillwatch.render.desk import Account, Desk
from fillwatch.render.lines import LineFormatter, layout
from fillwatch.render.rows import columns_for
from fillwatch.render.session import Session
from fillwatch.render.status import StatusSink
from fillwatch.render.table import FillBoard
from tests.render.helpers import cancel, console, fill, output

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED_BOLD = "\x1b[1;31m"


def mine(event: Event, account: str, **changes: object) -> Event:
    """`event` as `account`'s (the runner stamps the account before the views see it)."""
    return dataclasses.replace(event, account=account, **changes)  # type: ignore[arg-type]


def desk_board(names: tuple[str, ...], *events: Event, endings: dict[str, Ending] | None = None) -> DeskBoard:
    sessions = {name: Session(venue="kalshi", env="prod") for name in names}
    board = DeskBoard(sessions, endings=endings, tz=UTC, wall_clock=lambda: 1000.0)
    for event in events:
        assert event.account is not None
        sessions[event.account].add(event)
        board.add(event)
    return board


def drawn(board: FillBoard, *, width: int = 120, height: int = 30, color: str | None = None) -> str:
    target = console(width=width, height=height, color_system=color)
    target.print(board)
    return output(target)


def plain(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


def heading(text: str) -> str:
    return next(line for line in plain(text) if line.startswith("time"))


def test_two_accounts_get_an_account_column_one_does_not() -> None:
    """With two accounts each row names its account after the venue; with one there is no account column."""
    two = drawn(desk_board(("main", "hedge"), mine(fill("KXFED"), "main"), mine(fill("KXCPI"), "hedge")))
    assert re.match(r"time +venue +account +market", heading(two))
    rows = [line.split() for line in plain(two) if line.startswith("20:33:25")]
    assert [(row[1], row[2], row[3]) for row in rows] == [("kalshi", "hedge", "KXCPI"), ("kalshi", "main", "KXFED")]
    one = drawn(desk_board(("main",), mine(fill("KXFED"), "main")))
    assert "account" not in heading(one)
    assert [line.split()[:3] for line in plain(one) if line.startswith("20:33:25")] == [["20:33:25", "kalshi", "KXFED"]]


def test_the_account_column_goes_last_but_one_and_only_before_a_ticker_would_be_cut_short() -> None:
    """Narrowing: venue, m/t, fee go first; the account column outlives them until the market would have < 12."""
    names = [c.name for c in columns_for(80, 28, account=5)[0]]
    assert {"account", "position"} <= set(names)
    assert not {"venue", "fee"} & set(names)
    for width in range(40, 140):
        names = [c.name for c in columns_for(width, 28, account=5)[0]]
        if "account" not in names:
            assert not {"venue", "m/t", "fee", "position"} & set(names), width
    assert "account" not in [c.name for c in columns_for(62, 28, account=5)[0]]
    assert columns_for(80, 28) == columns_for(80, 28, account=0)  # one account: the table as it was


def test_the_header_has_a_line_per_account_in_the_order_named() -> None:
    """Under the title, one line per account: its name, venue and exchange, connection, counts, reconnects."""
    board = desk_board(("main", "hedge", "nv"), mine(fill(), "main"), mine(cancel(), "hedge"))
    board.sessions["main"].status(Connected("wss://x", 1))
    board.sessions["hedge"].status(Disconnected("connection closed", 2.5))
    board.sessions["nv"].status(Connected("wss://x", 1))
    board.sessions["nv"].status(Connected("wss://x", 2))
    lines = plain(drawn(board))
    assert lines[0].startswith(" fillwatch  3 accounts")
    assert lines[1] == " main  kalshi prod  ● connected  1 fill · 0 cancels  reconnects 0"
    assert lines[2] == " hedge kalshi prod  ● disconnected, retrying in 2.5 s  0 fills · 1 cancel  reconnects 0"
    assert lines[3] == " nv    kalshi prod  ● connected  0 fills · 0 cancels  reconnects 1"
    assert lines[4].startswith("time")


def test_an_ended_account_shows_why_in_red_and_a_normal_end_dim() -> None:
    """A failed account's line says why and with which code, in red; one that ended normally says so, dimmed."""
    endings = {"hedge": Ending(3, "credentials rejected"), "nv": Ending(0)}
    board = desk_board(("main", "hedge", "nv"), mine(fill(), "main"), endings=endings)
    text = drawn(board, color="truecolor")
    lines = plain(text)
    assert lines[2] == " hedge kalshi prod  ✖ credentials rejected (exit 3)  0 fills · 0 cancels  reconnects 0"
    assert f"{RED_BOLD}✖ credentials rejected (exit 3)" in text
    assert lines[3].startswith(" nv    kalshi prod  ended  ")
    assert "\x1b[2mended" in text
    assert Ending(130).text()[0] == "stopped (interrupted)"


def test_a_failure_too_long_for_the_terminal_keeps_the_name_and_is_cut_at_its_end() -> None:
    """At 60 columns the account's name and the start of its failure stay; counts go, the reason is elided."""
    endings = {"hedge": Ending(3, "kalshi rejected the credentials (HTTP 401 on the upgrade), twice in a row")}
    lines = plain(drawn(desk_board(("main", "hedge"), endings=endings), width=60))
    assert lines[2].startswith(" hedge ✖ kalshi rejected the credentials")
    assert lines[2].endswith("…")
    assert all(len(line) <= 60 for line in lines)


def test_the_footer_totals_each_account_and_all_in_exact_decimals() -> None:
    """Per account: fills, cancels, FIFO realized P&L, fees and net; the all row is their exact sum."""
    events = [
        mine(fill("KXA", price="0.40", qty="10", fee="0.07"), "main"),
        mine(fill("KXA", side="no", price="0.45", qty="10", fee="0.05"), "main"),  # sells 10 YES at 0.55: +1.50
        mine(fill("KXB", price="0.3333", qty="3", fee="0.0101"), "hedge"),
        mine(fill("KXB", side="no", price="0.6", qty="3", fee="0.02"), "hedge"),  # sells 3 YES at 0.40: +0.2001
        mine(cancel("KXB"), "hedge"),
    ]
    board = desk_board(("main", "hedge"), *events)
    footer = plain(drawn(board))
    at = footer.index(next(line for line in footer if line.startswith("account")))
    assert footer[at].split() == ["account", "fills", "cancels", "realized", "fees", "net"]
    assert footer[at + 1].split() == ["main", "2", "0", "+1.50", "0.12", "+1.38"]
    assert footer[at + 2].split() == ["hedge", "2", "1", "+0.2001", "0.0301", "+0.17"]
    assert footer[at + 3].split() == ["all", "4", "1", "+1.7001", "0.1501", "+1.55"]
    realized = sum((s.book.realized() for s in board.sessions.values()), Decimal(0))
    fees = sum((s.book.fees() for s in board.sessions.values()), Decimal(0))
    assert (realized, fees) == (Decimal("1.7001"), Decimal("0.1501"))


def test_currencies_that_do_not_add_up_get_an_all_row_each() -> None:
    """An account with dollars and Novig's COIN gets a row per currency, and so does the overall total."""
    sessions = {"main": Session(venue="kalshi", env="prod"), "nv": Session(venue="novig", env="prod")}
    sessions["main"].add(mine(fill("KXA"), "main"))
    sessions["nv"].add(mine(fill("m1", side="o1"), "nv", venue="novig", currency="CASH"))
    sessions["nv"].add(mine(fill("m2", side="o2"), "nv", venue="novig", currency="COIN"))
    rows, overall = AccountTotals(sessions).rows()
    assert sorted(label for label, _ in rows) == ["main", "nv CASH", "nv COIN"]
    assert sorted(label for label, _ in overall) == ["all CASH", "all COIN", "all USD"]


def test_an_account_without_events_has_a_row_of_zeros_and_adds_nothing() -> None:
    """An account that never filled shows zeros; the overall row is the other accounts' alone."""
    sessions = {"main": Session(venue="kalshi", env="prod"), "hedge": Session(venue="kalshi", env="prod")}
    sessions["main"].add(mine(fill("KXA", fee="0.07"), "main"))
    rows, overall = AccountTotals(sessions).rows()
    assert [(label, [text for text, _ in cells]) for label, cells in rows + overall] == [
        ("main", ["1", "0", "0.00", "0.07", "-0.07"]),
        ("hedge", ["0", "0", "0.00", "0.00", "0.00"]),
        ("all", ["1", "0", "0.00", "0.07", "-0.07"]),
    ]


def test_a_filter_warning_of_one_account_shows_under_the_header() -> None:
    """A notice set on one account's session (a filter that hides everything) shows, named, under the header."""
    board = desk_board(("main", "hedge"))
    board.sessions["hedge"].notice = "warning: --market 'KXNOPE*' has matched nothing"
    lines = plain(drawn(board))
    assert lines[3] == "hedge: warning: --market 'KXNOPE*' has matched nothing"


def test_lines_name_the_account_after_the_venue() -> None:
    """With an account column each line carries the account's name, padded, after the venue."""
    formatter = LineFormatter(console(color_system=None), tz=UTC, account=5)
    line = formatter(mine(fill("KXFED", qty="278", price="0.75", fee="0.01", position="500", taker=True), "main"))
    assert line.startswith("20:33:25  kalshi main  BUY         yes       278 @ 0.75   KXFED ")
    again = formatter(mine(fill("KXFED", qty="3", price="0.75", fee="0.01", position="500", taker=True), "hedge"))
    assert again.startswith("20:33:25  kalshi hedge BUY         yes         3 @ 0.75   KXFED ")  # the fast path too
    novig = formatter(mine(fill("m1", side="o1"), "nv", venue="novig", currency="USD"))
    assert novig.startswith("20:33:25  novig  nv    BUY ")
    single = LineFormatter(console(color_system=None), tz=UTC)(mine(fill("KXFED"), "main"))
    assert "main" not in single


@pytest.mark.parametrize("width", [80, 100, 120])
def test_lines_with_an_account_fit_the_terminal_and_drop_it_late(width: int) -> None:
    """The account column outlives venue, maker/taker and fee; every line still fits the width."""
    shape = layout(width, 5)
    assert shape.fixed <= width
    formatter = LineFormatter(console(width=width, color_system=None), tz=UTC, width=width, account=5)
    line = formatter(mine(fill("KXBTCD-26NOV2117-T98499.99", taker=True), "hedge")).rstrip("\n")
    assert len(line) <= width
    assert " hedge " in line
    assert layout(60, 5).account == 0
    assert layout(width) == layout(width, 0)


def sessions_for_summary() -> dict[str, Session]:
    now = [100.0]
    sessions = {name: Session(venue=venue, env="prod", clock=lambda: now[0]) for name, venue in
                (("main", "kalshi"), ("hedge", "kalshi"), ("nv", "novig"))}  # fmt: skip
    sessions["main"].add(mine(fill("KXA", price="0.40", qty="10", fee="0.07"), "main"))
    sessions["main"].add(mine(fill("KXA", side="no", price="0.45", qty="10", fee="0.05"), "main"))
    sessions["main"].add(mine(cancel("KXA"), "main"))
    sessions["main"].status(Connected("wss://x", 1))
    sessions["main"].status(Connected("wss://x", 2))
    sessions["nv"].add(mine(fill("m1", side="o1", fee=None), "nv", venue="novig", currency="USD"))
    now[0] = 232.0
    return sessions


def test_the_merged_summary_has_a_line_per_account_and_the_totals() -> None:
    """The watch's summary: overall counts, each account's counts and how it ended, then P&L per account and all."""
    endings = {"main": Ending(130), "hedge": Ending(3, "credentials rejected"), "nv": Ending(130)}
    target = console(width=120, color_system=None)
    target.print(watch_summary(sessions_for_summary(), endings))
    assert plain(output(target)) == [
        "fillwatch: watch 0:02:12 · 3 accounts · 4 events (3 fills, 1 cancel)",
        "  main   kalshi prod · 3 events · reconnects 1 · skipped 0 · stopped (interrupted)",
        "  hedge  kalshi prod · 0 events · reconnects 0 · skipped 0 · ✖ credentials rejected (exit 3)",
        "  nv     novig prod · 1 event · reconnects 0 · skipped 0 · stopped (interrupted)",
        "P&L (session, FIFO), per account:",
        "account  fills  cancels  realized  fees    net",
        "main         2        1     +1.50  0.12  +1.38",
        "hedge        0        0      0.00  0.00   0.00",
        "nv           1        0      0.00  0.00   0.00",
        "all          3        1     +1.50  0.12  +1.38",
    ]


def accounts() -> list[Account]:
    return [Account("main", "kalshi", "prod"), Account("hedge", "kalshi", "prod")]


def feed(desk: Desk, account: str, *events: Event) -> None:
    sinks = desk.views(account, extra=[]).sinks
    for event in events:
        for sink in sinks:
            sink.event(event)
    for sink in sinks:
        sink.flush()


def test_a_desk_of_lines_names_each_account_and_prints_the_merged_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """-f lines over two accounts: every line has its account; on close the merged summary goes to stderr."""
    read, write = os.pipe()
    desk = Desk("lines", accounts(), color="never", stdout_fd=write)
    feed(desk, "main", mine(fill("KXFED"), "main"))
    feed(desk, "hedge", mine(cancel("KXCPI"), "hedge"))
    desk.ended("hedge", 3, "credentials rejected")
    assert "fillwatch: hedge: error: credentials rejected" in capsys.readouterr().err  # at once, not held back
    desk.close()
    os.close(write)
    with os.fdopen(read) as lines:
        shown = lines.read().splitlines()
    assert [line.split()[1:3] for line in shown] == [["kalshi", "main"], ["kalshi", "hedge"]]
    err = capsys.readouterr().err
    assert "fillwatch: watch " in err
    assert "  hedge  kalshi prod · 1 event · reconnects 0 · skipped 0 · ✖ credentials rejected (exit 3)" in err


def test_a_quiet_desk_or_jsonl_into_a_log_prints_no_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """-q prints nothing on stderr; JSON lines with stderr not a terminal get no summary either."""
    for fmt, quiet in (("lines", True), ("jsonl", False)):
        read, write = os.pipe()
        desk = Desk(fmt, accounts(), color="never", quiet=quiet, stdout_fd=write)
        feed(desk, "main", mine(fill("KXFED"), "main"))
        desk.close()
        os.close(write)
        os.close(read)
        assert "fillwatch: watch" not in capsys.readouterr().err


def test_a_desk_of_table_shows_failures_in_the_table_and_on_stderr_after_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """-f table: one live table for both accounts; each account's views feed it, none writes status on stderr;
    a failure goes into its header line at once and onto stderr only once the table has closed."""

    async def run() -> Desk:
        desk = Desk("table", accounts(), color="never")
        assert desk.table is not None
        views = {name: desk.views(name, extra=[]) for name in ("main", "hedge")}
        for name, seat in views.items():
            assert seat.table is desk.table
            assert seat.on_frame == desk.sessions[name].frame
            assert seat.redraw is not None
            assert not any(isinstance(sink, StatusSink) for sink in seat.sinks)
        for sink in views["main"].sinks:
            sink.status(Disconnected("connection closed", 1.0))
            sink.event(mine(fill("KXFED"), "main"))
        desk.table.draw()
        desk.ended("hedge", 3, "credentials rejected")
        assert "credentials rejected" not in capsys.readouterr().err
        await asyncio.sleep(0.2)  # the redraw the ending asked for
        desk.close()
        return desk

    desk = asyncio.run(run())
    captured = capsys.readouterr()
    assert "✖ credentials rejected (exit 3)" in captured.out  # in the table's header
    assert "main   kalshi prod" not in captured.out
    err = captured.err
    assert err.index("fillwatch: hedge: error: credentials rejected") < err.index("fillwatch: watch ")
    assert "disconnected" not in err
    assert desk.endings == {"hedge": Ending(3, "credentials rejected")}
