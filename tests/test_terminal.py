"""The terminal views as a user sees them: the real CLI in a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import orjson
import pytest

from fillwatch.sim.kalshi import KalshiSim, Script

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

GREEN, RED = "\x1b[32m", "\x1b[31m"
EVIL = "EVIL\x1b]0;pwned\x07\x1b[2J"


def in_terminal(
    args: list[str],
    *,
    interrupt_after: float | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    size: tuple[int, int] = (120, 30),
) -> tuple[int, str]:
    """Run ``python -m fillwatch ARGS`` in a pty (`size` columns × rows); optionally Ctrl-C it; (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal; size it before anything reads it
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        # An explicit environment: the terminal's own size, not a COLUMNS that a library may have set.
        environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")} | (env or {})
        os.execve(sys.executable, [sys.executable, "-m", "fillwatch", *args], environ)
    out = bytearray()
    started = time.monotonic()
    interrupted = False
    while time.monotonic() - started < timeout:
        if interrupt_after is not None and not interrupted and time.monotonic() - started >= interrupt_after:
            os.kill(pid, signal.SIGINT)
            interrupted = True
        if select.select([fd], [], [], 0.05)[0]:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_demo_shows_a_live_table_that_refreshes_and_a_summary_on_ctrl_c() -> None:
    """`fillwatch demo` on a terminal: a coloured table redrawn in place, then Ctrl-C: summary, exit 130."""
    code, text = in_terminal(["demo", "--rate", "40", "--seed", "3"], interrupt_after=2.5)
    assert code == 130
    frames = text.count("kalshi simulated")  # the header, once per redraw
    assert frames >= 3
    assert "\x1b[1A" in text or "\x1b[A" in text  # the cursor goes back up: redrawn in place, not scrolled
    assert GREEN in text
    # No red asserted: the demo speaks the current schema, where every Kalshi fill buys exposure to its
    # outcome_side (CONTRACT §3), so a sell row comes only from a client that misreads the legacy fields.
    assert "\x1b[2;33m" in text  # a cancel, yellow and dim
    assert "connected" in text
    assert "Fed funds" in text or "temperature" in text or "Bitcoin" in text or "CPI" in text or "Boston" in text
    summary = text.rindex("fillwatch: session")
    assert summary > text.rindex("kalshi simulated")  # below the final frame
    assert "reconnects 0" in text[summary:]
    assert "Traceback" not in text


def test_demo_lines_scroll_in_colour_with_a_summary() -> None:
    """`-f lines --max-events 15`: fifteen coloured event lines, the summary, exit 0."""
    code, text = in_terminal(["demo", "-f", "lines", "--rate", "100", "--seed", "4", "--max-events", "15"])
    assert code == 0
    events = [line for line in text.splitlines() if re.match(r"(\x1b\[[\d;]*m)?\d\d:\d\d:\d\d[ h] kalshi ", line)]
    assert len(events) == 15
    assert any(line.startswith(GREEN) for line in events)
    assert "fillwatch: session" in text
    assert "15 events" in text


def test_no_color_and_color_never() -> None:
    """NO_COLOR drops the colours under auto; --color never drops every escape from the lines."""
    args = ["demo", "-f", "lines", "--rate", "100", "--seed", "4", "--max-events", "10", "-q"]
    _, text = in_terminal(args, env={"NO_COLOR": "1"})
    assert GREEN not in text
    assert RED not in text
    _, text = in_terminal([*args, "--color", "never"])
    assert "\x1b" not in text


def evil_frames() -> list[str]:
    msg = {"trade_id": "t1", "order_id": "o1", "market_ticker": EVIL, "is_taker": True, "side": "yes",
           "action": "buy", "yes_price_dollars": "0.5000", "count_fp": "3.00", "fee_cost": "0.01",
           "ts_ms": 1_790_000_000_000, "post_position_fp": "3.00"}  # fmt: skip
    return [orjson.dumps({"type": "fill", "sid": 1, "msg": msg}).decode()]


@pytest.mark.parametrize("fmt", ["table", "lines"])
def test_escape_sequences_in_a_ticker_are_neutralised(kalshi_sim, key_file: Path, fmt: str) -> None:
    """A ticker carrying OSC/CSI sequences shows them escaped in the view and the summary."""
    sim: KalshiSim = kalshi_sim(Script(frames=evil_frames(), rate=50))
    args = ["kalshi", "--ws-url", sim.url, "--api-url", sim.api_url, "--key-id", sim.key_id]
    code, text = in_terminal([*args, "--private-key", str(key_file), "-f", fmt, "--max-events", "1"])
    assert code == 0
    assert text.count("EVIL\\x1b]0;pwned\\x07\\x1b[2J") >= 2  # the view and the summary
    assert "\x1b]0;" not in text
    assert "\x07" not in text
    assert "\x1b[2J" not in text


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def screen_lines(text: str) -> list[str]:
    """The visible lines written to the terminal: escapes removed, split at newlines and carriage returns."""
    return [line for line in re.split(r"[\r\n]+", ANSI.sub("", text)) if line]


@pytest.mark.parametrize(("cols", "rows"), [(80, 24), (200, 50)])
def test_the_live_table_fits_the_terminal(cols: int, rows: int) -> None:
    """At 80×24 and 200×50 no line of the table or summary is wider than the terminal; the footer has P&L."""
    code, text = in_terminal(["demo", "--rate", "40", "--seed", "3"], interrupt_after=2.5, size=(cols, rows))
    assert code == 130
    lines = [line for line in screen_lines(text) if not line.startswith("fillwatch: demo:")]
    assert all(len(line) <= cols for line in lines), max(lines, key=len)
    assert any(re.match(r"market +position", line) for line in lines)
    assert any(line.startswith("total") for line in lines)


@pytest.mark.parametrize("cols", [80, 120])
def test_lines_never_wrap(cols: int) -> None:
    """-f lines at 80 and 120 columns: every event line fits the terminal's width."""
    args = ["demo", "-f", "lines", "--rate", "100", "--seed", "4", "--max-events", "30", "-q"]
    code, text = in_terminal(args, size=(cols, 30))
    assert code == 0
    events = [line for line in screen_lines(text) if re.match(r"\d\d:\d\d:\d\d", line)]
    assert len(events) == 30
    assert all(len(line) <= cols for line in events), max(events, key=len)


def test_the_header_names_an_overridden_endpoint_custom(kalshi_sim, key_file: Path) -> None:
    """`fillwatch kalshi --ws-url ws://127.0.0.1…`: the table's header says `kalshi custom`, never `kalshi prod`."""
    sim: KalshiSim = kalshi_sim(Script(rate=50, seed=7))
    args = ["kalshi", "--ws-url", sim.url, "--api-url", sim.api_url, "--key-id", sim.key_id]
    code, text = in_terminal([*args, "--private-key", str(key_file), "--max-events", "3"])
    assert code == 0
    assert "kalshi custom" in text
    assert "kalshi prod" not in text


def record_demo(path: Path, events: int = 20) -> None:
    """Record a short demo session to `path` (the recording replay reads)."""
    import subprocess

    args = [sys.executable, "-m", "fillwatch", "demo", "--seed", "8", "--rate", "50", "--max-events", str(events)]
    subprocess.run(
        [*args, "-q", "-f", "jsonl", "--record", str(path)], stdout=subprocess.DEVNULL, timeout=30, check=True
    )


@pytest.mark.parametrize("speed", [[], ["--speed", "20"]])
def test_replay_on_a_terminal_shows_the_events_and_names_the_file(tmp_path: Path, speed: list[str]) -> None:
    """`fillwatch replay today.rec` in a terminal: the table with every event, headed by the file, then the summary."""
    recording = tmp_path / "today.rec"
    record_demo(recording, events=12)
    code, text = in_terminal(["replay", str(recording), *speed])
    assert code == 0
    lines = screen_lines(text)
    assert any(line.startswith(" fillwatch  replay today.rec  ") for line in lines)
    assert not any("● connecting" in line or "replay replay" in line for line in lines)
    final = text.rindex("replay today.rec")
    rows = [line for line in screen_lines(text[final:]) if re.match(r"\d\d:\d\d:\d\d", line)]
    assert len(rows) == 12
    assert "12 events" in text[final:]
