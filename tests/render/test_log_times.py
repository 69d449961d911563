"""When diagnostics carry their time: on anything but a terminal, except the systemd journal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fillwatch.render.status import is_log, stamp

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture(autouse=True)
def auto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default a user has (the suite's conftest turns times off for the other tests)."""
    monkeypatch.setenv("FILLWATCH_LOG_TIMES", "auto")
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)


def _error_line(stderr: object) -> None:
    """Make the real CLI write the one line of a usage error to `stderr`."""
    subprocess.run(
        [sys.executable, "-m", "fillwatch", "kalshi", "--key-id", "k", "--private-key", "/nonexistent.pem"],
        stderr=stderr,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


def test_a_log_file_gets_the_time(tmp_path: Path) -> None:
    """`2>>main.log`: each diagnostic starts with an ISO 8601 UTC time to the millisecond."""
    log = tmp_path / "main.log"
    with log.open("a") as err:
        _error_line(err)
    line = log.read_text()
    assert STAMP.match(line), line
    assert line[STAMP.match(line).end() :].startswith("fillwatch: error: private key file not found")


def test_a_pipe_gets_the_time() -> None:
    """`2>&1 | logger` or cron's mail: a pipe is not a terminal, so its lines carry their time too."""
    result = subprocess.run(
        [sys.executable, "-m", "fillwatch", "kalshi", "--key-id", "k", "--private-key", "/nonexistent.pem"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert STAMP.match(result.stderr), result.stderr


def test_a_terminal_gets_bare_lines() -> None:
    """On a terminal the line is read as it comes: no time in front."""
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as tty:
            assert not is_log(tty)
            assert stamp("fillwatch: warning: x\n", stream=tty) == "fillwatch: warning: x\n"
    finally:
        os.close(leader)
        os.close(follower)


def test_the_journal_stamps_lines_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd, stderr that is the stream named by JOURNAL_STREAM gets no second time."""
    with (tmp_path / "journal").open("w") as journal:
        st = os.fstat(journal.fileno())
        assert is_log(journal)
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert not is_log(journal)
        with (tmp_path / "other").open("w") as other:
            assert is_log(other)  # another file, not the journal


@pytest.mark.parametrize(("choice", "expected"), [("always", True), ("never", False), ("NEVER", False)])
def test_the_choice_can_be_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, choice: str, expected: bool) -> None:
    """FILLWATCH_LOG_TIMES=always|never decides for every stream, a terminal included."""
    monkeypatch.setenv("FILLWATCH_LOG_TIMES", choice)
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as tty, (tmp_path / "log").open("w") as log:
            assert is_log(tty) is expected
            assert is_log(log) is expected
    finally:
        os.close(leader)
        os.close(follower)
