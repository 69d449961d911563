"""`fillwatch watch` as a trader sees it: three simulated accounts in one live table, in a pseudo-terminal.

The accounts are those of tests/test_watch.py (main and hedge on Kalshi simulators, nv on the Novig v3
simulator); hedge's key file is swapped for one its venue does not know, so that it fails while the others go on.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.sim.kalshi import Script
from tests.conftest import write_key
from tests.test_terminal import screen_lines
from tests.test_watch import desk

pytestmark = [pytest.mark.timeout(90), pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]


def in_terminal_until(args: list[str], ready: Callable[[str], bool], *, size: tuple[int, int], timeout: float = 40):
    """Run ``python -m fillwatch ARGS`` in a pty of `size`; Ctrl-C it once `ready(output)`; (exit code, output)."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        os.execve(sys.executable, [sys.executable, "-m", "fillwatch", *args], environ)
    out = bytearray()
    started = time.monotonic()
    interrupted = False
    while time.monotonic() - started < timeout:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
        if not interrupted and ready(out.decode("utf-8", "replace")):
            os.kill(pid, signal.SIGINT)
            interrupted = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def rows_of(frame: str) -> list[list[str]]:
    return [line.split() for line in screen_lines(frame) if re.match(r"\d\d:\d\d:\d\d", line)]


def accounts_of(frame: str) -> set[str]:
    """The accounts named by the rows of `frame` (the account column follows the venue, if the venue is shown)."""
    return {row[2] if row[1] in ("kalshi", "novig") else row[1] for row in rows_of(frame) if len(row) > 2}


@pytest.mark.parametrize(("cols", "lines"), [(120, 32), (80, 24)])
def test_a_watch_shows_every_account_in_one_live_table(tmp_path: Path, venue_key, cols: int, lines: int) -> None:
    """One table for three accounts: a header line each (hedge's rejected key in it), rows of main and nv with
    their account, totals per account and all; then hedge's error and the merged summary below the last frame."""
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with desk(tmp_path, venue_key, Script(rate=20, seed=1), Script(rate=20, seed=2)) as d:
        write_key(tmp_path / "hedge.pem", wrong)

        def ready(text: str) -> bool:  # hedge has failed, and both healthy accounts have rows on the screen
            if "✖ kalshi rejected" not in text:
                return False
            last = text[text.rfind(" fillwatch ") :]
            return {"main", "nv"} <= accounts_of(last)

        args = ["watch", "--config", str(d.config), "-g", "all"]
        code, text = in_terminal_until(args, ready, size=(cols, lines))
    assert code == 130  # the highest of the accounts' codes: main and nv interrupted (130), hedge rejected (3)
    assert "Traceback" not in text
    assert "\x1b[1A" in text or "\x1b[A" in text  # redrawn in place
    final = text.rindex(" fillwatch ")
    shown = screen_lines(text[final : text.index("fillwatch: hedge: error", final)])  # the final frame
    assert all(len(line) <= cols for line in shown), max(shown, key=len)
    assert shown[0].startswith(" fillwatch  3 accounts")
    assert [line.split()[0] for line in shown[1:4]] == ["main", "hedge", "nv"]
    assert "✖ kalshi rejected the credentials" in shown[2]
    assert "\x1b[1;31m✖" in text[final:]
    assert re.match(r"time +(venue +)?account +market", shown[4])
    assert accounts_of(text[final:]) == {"main", "nv"}
    totals = [line.split()[0] for line in shown if re.match(r"(main|hedge|nv|all) +\d+ +\d+ ", line)]
    assert totals[:4] == ["main", "hedge", "nv", "all"]
    after = text[final:]  # below the final frame: the error, then the merged summary
    error = after.index("fillwatch: hedge: error: kalshi rejected the credentials")
    assert after.index("all ") < error < after.index("fillwatch: watch ")
    summary = screen_lines(after[after.index("fillwatch: watch ") :])
    assert summary[0].startswith("fillwatch: watch ")
    assert " 3 accounts · " in summary[0]
    assert any(line.startswith("  hedge  kalshi custom · 0 events") for line in summary)


def test_watch_lines_name_each_account(tmp_path: Path, venue_key) -> None:
    """-f lines over three accounts in a terminal: each event line names its account after the venue."""
    with desk(tmp_path, venue_key, Script(rate=40, seed=1), Script(rate=40, seed=2)) as d:

        def ready(text: str) -> bool:
            return {"main", "hedge", "nv"} <= accounts_of(text)

        args = ["watch", "--config", str(d.config), "-g", "all", "-f", "lines"]
        code, text = in_terminal_until(args, ready, size=(120, 30))
    assert code == 130
    events = rows_of(text)
    assert events
    assert all((row[1], row[2]) in {("kalshi", "main"), ("kalshi", "hedge"), ("novig", "nv")} for row in events)
    assert all(len(line) <= 120 for line in screen_lines(text))
    assert "fillwatch: watch " in text
