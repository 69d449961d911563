"""Trustworthy under faults (issue 11): implausible times, the history floor, full disks, kill -9, SIGHUP.

The CLI runs as a user runs it, against the Kalshi simulator on loopback; its
messages follow protocols/kalshi.md §9 (the simulator's feed) and the REST
``GET /portfolio/fills`` rows of openapi.yaml (kalshi-sdk 22.4.0).
"""

from __future__ import annotations

import json
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fillwatch.core.errors import ExitCode
from fillwatch.core.ledger import Ledger
from fillwatch.render.jsonl import encode
from fillwatch.session.state import CheckpointSink, StateFile
from fillwatch.sim.kalshi import KalshiSim, Script
from tests.conftest import fillwatch, kalshi_args, trades_on
from tests.test_ledger import fill

pytestmark = pytest.mark.timeout(90)

YEAR_2100_MS = int(datetime(2100, 6, 1, tzinfo=UTC).timestamp() * 1000)


def keys_of(lines: list[str]) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["id"], e["order_id"]) for e in map(json.loads, lines)]


class Client:
    """``fillwatch`` in its own process, its stdout lines and stderr collected as they come."""

    def __init__(self, args: list[str], *, preexec: Callable[[], None] | None = None, stdout: Any = None) -> None:
        self.lines: list[str] = []
        self._errors: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fillwatch", *args],
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=preexec,
        )
        pipes = [(self.process.stderr, self._errors)]
        if stdout is None:
            pipes.append((self.process.stdout, self.lines))
        self._readers = [threading.Thread(target=_drain, args=pipe, daemon=True) for pipe in pipes]
        for reader in self._readers:
            reader.start()

    @property
    def stderr(self) -> str:
        return "".join(self._errors)

    def wait_for(self, condition: Callable[[], bool], limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            assert self.process.poll() is None, f"exited {self.finish()}: {self.stderr}"
            time.sleep(0.02)  # the poll's period, not a wait for time to pass

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.finish()

    def finish(self, limit: float = 30.0) -> int:
        try:
            code = self.process.wait(limit)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return code


def _drain(pipe: Any, into: list[str]) -> None:
    into.extend(pipe)


def a_fill_dated_2100(sim: KalshiSim, at: int) -> None:
    """Date the first fill of the `at`-th event or later that the simulator makes in 2100, live and in REST."""
    feed, made = sim.feed, [0, False]
    real = feed.next_event

    def next_event() -> list[dict[str, Any]]:
        messages = real()
        made[0] += 1
        fills = [m for m in messages if m["type"] == "fill"]
        if made[0] >= at and fills and not made[1]:
            made[1] = True
            fills[0]["msg"] |= {"ts_ms": YEAR_2100_MS, "ts": YEAR_2100_MS // 1000}
            row = feed.rest_fills[-1]
            assert row["trade_id"] == fills[0]["msg"]["trade_id"]
            row |= {"ts_ms": YEAR_2100_MS, "ts": YEAR_2100_MS // 1000, "created_time": "2100-06-01T00:00:00Z"}
        return messages

    feed.next_event = next_event  # type: ignore[method-assign]


def test_a_fill_dated_2100_moves_neither_the_backfill_nor_the_checkpoint(
    kalshi_sim, key_file: Path, tmp_path: Path
) -> None:
    """A fill dated 2100 is printed and flagged once; the gaps after it are still backfilled and the
    checkpoint keeps the newest plausible time."""
    sim = kalshi_sim(Script(rate=100, seed=41, schema="current", drop_after=12, drops=3))
    a_fill_dated_2100(sim, 4)
    state = tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state), "--max-events", "60")
    result = fillwatch(args)
    assert result.returncode == 0, result.stderr
    printed = keys_of(result.stdout.splitlines())
    assert len(printed) == len(set(printed)) == 60
    assert sim.stats.drops >= 1
    # Backfills run beside the live stream, so a run cut off at 60 lines may end with a gap still being
    # read (the next --state run reads it): what pins the fix is where every backfill asked from.
    starts = [int(q["min_ts"]) for path, q in sim.stats.rest_requests if path.endswith("/fills") and "min_ts" in q]
    assert starts, "no gap was backfilled"
    assert max(starts) <= datetime.now(UTC).timestamp(), "a backfill asked from 2100: its gap was never read"
    assert any(e["ts"].startswith("2100-") for e in map(json.loads, result.stdout.splitlines()))
    assert result.stderr.count("is dated 2100-06-01T00:00:00Z") == 1
    newest = StateFile(state, venue="kalshi", account=sim.key_id).load().newest
    assert newest is not None
    assert newest < datetime.now(UTC) + timedelta(minutes=5)


def test_times_outside_2000_2100_do_not_move_the_cursor() -> None:
    """A time before 2000, from 2100 on, or more than 5 minutes ahead of the clock is admitted but never `newest`."""
    ledger = Ledger(clock=lambda: fill(0, seconds=1000).ts.timestamp())
    assert ledger.admit(fill(1, seconds=0))
    for n, ts in enumerate((datetime(1999, 12, 31, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)), 2):
        assert ledger.admit(_dated(fill(n, seconds=0), ts))
        assert ledger.newest == fill(1, seconds=0).ts
    assert ledger.admit(fill(4, seconds=1301))
    assert ledger.newest == fill(1, seconds=0).ts
    assert ledger.implausible == 2
    assert ledger.admit(fill(5, seconds=1299))
    assert ledger.newest == fill(5, seconds=1299).ts
    assert ledger.checkpoint().newest == fill(5, seconds=1299).ts
    assert not ledger.admit(fill(4, seconds=1301))  # still printed only once


def _dated(event: Any, ts: datetime) -> Any:
    return type(event)(**{**_fields(event), "ts": ts})


def _fields(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__slots__}


def trade_before_the_run(sim: KalshiSim, events: int) -> set[tuple[str, str, str]]:
    """Events the venue made before fillwatch started, in its REST history only, dated two seconds
    ago: the run starts in a later second than they (legacy messages give whole seconds)."""
    before, clock = len(sim.feed.emitted), sim.feed.clock
    sim.feed.clock = lambda: clock() - 2.0  # the feed is idle until the first connection
    try:
        for _ in range(events):
            sim.feed.next_event()
    finally:
        sim.feed.clock = clock
    return set(sim.feed.emitted[before:])


def test_a_run_without_state_prints_nothing_from_before_it_started(kalshi_sim, key_file: Path) -> None:
    """The first reconnect's backfill (last event - 60 s) stops at the run's first subscription."""
    sim = kalshi_sim(Script(rate=100, seed=42, drop_after=10, drops=2))
    earlier = trade_before_the_run(sim, 15)
    started = datetime.now(UTC).replace(microsecond=0)  # legacy messages give whole seconds
    result = fillwatch(kalshi_args(sim, key_file, "--api-url", sim.api_url, "--max-events", "35"))
    assert result.returncode == 0, result.stderr
    assert sim.stats.drops >= 1
    printed = keys_of(result.stdout.splitlines())
    assert len(printed) == 35
    assert not earlier & set(printed), "fills made before the run began were printed as recovered"
    assert all(datetime.fromisoformat(e["ts"]) >= started for e in map(json.loads, result.stdout.splitlines()))


def test_a_state_series_never_prints_events_from_before_its_first_run(
    kalshi_sim, key_file: Path, tmp_path: Path
) -> None:
    """The second run of a --state file reads history from the checkpoint, but never below the first run's start."""
    sim = kalshi_sim(Script(rate=100, seed=43))
    earlier = trade_before_the_run(sim, 15)
    state = tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state))
    first = fillwatch([*args, "--max-events", "5"])
    assert first.returncode == 0, first.stderr
    trades_on(sim, 30)  # the venue trades on between the runs
    second = fillwatch([*args, "--max-events", "40"])
    assert second.returncode == 0, second.stderr
    both = keys_of(first.stdout.splitlines()) + keys_of(second.stdout.splitlines())
    assert len(both) == len(set(both)) == 45
    assert not earlier & set(both), "the second run printed events from before the first run started"


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: files this process writes may not grow past `limit` bytes (EFBIG, short writes)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def errors(stderr: str) -> list[str]:
    """The lines of `stderr` that are not connection diagnostics."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if not line.startswith(("+ ", "- ", "! "))]


def whole_lines(path: Path) -> list[str]:
    data = path.read_text()
    assert data.endswith("\n") or not data, "the file ends in part of a line"
    lines = data.splitlines()
    for line in lines:
        json.loads(line)
    return lines


@pytest.mark.parametrize("limit", [20_000, 20_123])
def test_a_full_output_file_ends_the_run_with_exit_5_and_whole_lines(
    kalshi_sim, key_file: Path, tmp_path: Path, limit: int
) -> None:
    """A failed or short write to --output: one line, exit 5; the file keeps whole lines only and the
    checkpoint covers none of the lines it lacks; the next run prints those lines, each once."""
    sim = kalshi_sim(Script(rate=300, seed=44))
    out, state = tmp_path / "out.jsonl", tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state), "--output", str(out))
    client = Client(args, preexec=file_size_limit(limit))
    code = client.finish(60)
    assert code == 5, client.stderr  # ExitCode.WRITE
    [error] = errors(client.stderr)
    assert error.startswith(f"fillwatch: error: cannot write to output file {out}: File too large (")
    written = whole_lines(out)
    assert written
    assert out.stat().st_size <= limit
    assert keys_of(written) == keys_of(client.lines)[: len(written)]
    checkpoint = StateFile(state, venue="kalshi", account=sim.key_id).load()
    assert checkpoint is not None
    assert checkpoint.newest is not None
    assert checkpoint.newest <= max(datetime.fromisoformat(e["ts"]) for e in map(json.loads, written))
    assert {(i, o) for _, i, o in keys_of(written)} >= set(checkpoint.seen)
    again = fillwatch([*args, "--max-events", str(len(client.lines) - len(written) + 20)])
    assert again.returncode == 0, again.stderr
    everything = keys_of(whole_lines(out))
    assert len(everything) == len(set(everything))
    assert set(keys_of(client.lines)) <= set(everything), "a line the first run could not write was lost"


def test_a_full_recording_ends_the_run_with_exit_5_and_whole_lines(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A failed or short write to --record: one line, exit 5, no traceback; the recording keeps whole lines."""
    sim = kalshi_sim(Script(rate=300, seed=45))
    record = tmp_path / "rec.jsonl"
    client = Client(kalshi_args(sim, key_file, "--record", str(record)), preexec=file_size_limit(30_001))
    code = client.finish(60)
    assert code == 5, client.stderr  # ExitCode.WRITE
    [error] = errors(client.stderr)
    assert error.startswith(f"fillwatch: error: cannot write to recording file {record}: File too large (")
    assert len(whole_lines(record)) > 10


def test_stdout_on_a_full_device_exits_5(kalshi_sim, key_file: Path) -> None:
    """stdout redirected to a full device (/dev/full: ENOSPC) ends the run with one line and exit 5."""
    sim = kalshi_sim(Script(rate=100, seed=46))
    with open("/dev/full", "w") as full:
        client = Client(kalshi_args(sim, key_file), stdout=full)
        code = client.finish(30)
    assert code == 5, client.stderr  # ExitCode.WRITE
    assert errors(client.stderr) == [
        "fillwatch: error: cannot write to stdout: No space left on device (1 line not written)"
    ]


def test_every_flush_is_journaled_so_a_kill_repeats_at_most_the_last_burst(tmp_path: Path) -> None:
    """Without any close (as after kill -9), the state file and its journal cover every burst flushed,
    and nothing that was not."""
    path = tmp_path / "kalshi.state"
    state = StateFile(path, venue="kalshi", account="a")
    state.lock()
    ledger = Ledger()
    sink = CheckpointSink(state, ledger, interval=3600, clock=lambda: 0.0)
    for n in range(30):
        event = fill(n, seconds=n)
        assert ledger.admit(event)
        sink.event(event)
        if n % 7 == 6:
            sink.flush()
    checkpoint = StateFile(path, venue="kalshi", account="a").load()
    assert checkpoint is not None
    assert set(checkpoint.seen) == {(f"t{n}", "o") for n in range(28)}
    assert checkpoint.newest == fill(27, seconds=27).ts
    with path.with_name("kalshi.state.journal").open("ab") as journal:
        journal.write(b'["2026-11-21T12:00:40+00:00","torn')  # a write cut by kill -9
    assert StateFile(path, venue="kalshi", account="a").load() == checkpoint


def test_the_output_tail_is_read_as_hostile_input(tmp_path: Path) -> None:
    """Garbage, other venues' lines and a torn last line are skipped; whole event lines are kept."""
    from fillwatch.render.views import printed_to  # new in this change: imported here, so the rest runs without it

    out = tmp_path / "out.jsonl"
    good = [encode(fill(n, seconds=n)) for n in range(3)]
    other = encode(fill(9, seconds=9)).replace(b'"kalshi"', b'"novig"')
    out.write_bytes(b"\x00\xff garbage\n[1,2]\n" + good[0] + b'{"kind":"fill"}\n' + good[1] + other + good[2][:-9])
    assert [e.id for e in printed_to(out, "kalshi", "kalshi")] == ["t0", "t1"]


def test_kill_9_restarts_print_nothing_twice_to_the_output_file(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """Killed with SIGKILL four times while events stream, then restarted with --state and --output:
    the output file holds every event once, nothing missing."""
    sim = kalshi_sim(Script(rate=400, seed=47))
    out, state = tmp_path / "out.jsonl", tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state), "--output", str(out))
    stdout: list[str] = []
    for _ in range(4):
        client = Client(args)
        target = len(stdout) + 100
        client.wait_for(lambda: len(stdout) + len(client.lines) >= target)  # noqa: B023
        client.process.kill()
        client.finish()
        stdout += client.lines
    client = Client(args)
    client.wait_for(lambda: len(client.lines) >= 50)
    sim.script.limit = sim.stats.events  # the venue stops trading
    emitted = set(sim.emitted)
    client.wait_for(lambda: emitted <= set(keys_of(whole_lines(out))), 20)
    assert client.stop(signal.SIGTERM) == ExitCode.TERMINATED, client.stderr
    written = Counter(keys_of(whole_lines(out)))
    assert [key for key, n in written.items() if n > 1] == []
    assert set(written) == set(sim.emitted)


def test_sighup_ends_the_run_like_sigterm_with_exit_129(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """SIGHUP (a closed terminal): every line flushed, the checkpoint covers every printed line, exit 129."""
    sim = kalshi_sim(Script(rate=200, seed=48))
    state = tmp_path / "kalshi.state"
    client = Client(kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state)))
    client.wait_for(lambda: len(client.lines) >= 38)
    assert client.stop(signal.SIGHUP) == 129, client.stderr  # ExitCode.HANGUP
    assert client.stderr.count("Traceback") == 0
    printed = keys_of(client.lines)
    checkpoint = StateFile(state, venue="kalshi", account=sim.key_id).load()
    assert checkpoint is not None
    assert (tmp_path / "kalshi.state.journal").stat().st_size == 0  # the final save covers everything
    assert checkpoint.newest == max(datetime.fromisoformat(e["ts"]) for e in map(json.loads, client.lines))
    assert {(i, o) for _, i, o in printed} <= set(checkpoint.seen)


def test_a_torn_last_line_left_by_kill_9_is_cut(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """An --output file that ends in part of a line (a write cut by kill -9) is cut back to whole lines."""
    sim = kalshi_sim(Script(rate=100, seed=49))
    out = tmp_path / "out.jsonl"
    out.write_bytes(encode(fill(1, seconds=0)) + b'{"kind":"fill","venue":"kal')
    result = fillwatch(kalshi_args(sim, key_file, "--output", str(out), "--max-events", "5"))
    assert result.returncode == 0, result.stderr
    assert f"cut a torn last line (27 bytes) from {out}" in result.stderr
    assert len(whole_lines(out)) == 6


def test_the_torn_line_warning_carries_its_time_in_a_log(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """The warning of a cut torn line is stamped with its time on a non-terminal, like every other diagnostic."""
    sim = kalshi_sim(Script(rate=100, seed=49))
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"kind":"fill","venue":"kal')
    args = kalshi_args(sim, key_file, "--output", str(out), "--max-events", "1")
    result = fillwatch(args, env={"FILLWATCH_LOG_TIMES": "always"})
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "cut a torn last line" in line)
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z fillwatch: warning: cut a .* from {re.escape(str(out))}", warning
    )


async def test_a_long_burst_is_written_in_parts_of_at_most_256_lines() -> None:
    """A backfill of 1,000 events handed over at once is flushed every 256 events, so a kill -9
    in the middle of it can make stdout repeat 256 lines at most."""
    from fillwatch.session.runner import MAX_BURST, run

    flushed: list[int] = []

    class Counting:
        pending = 0

        def event(self, event: object) -> None:
            self.pending += 1

        def status(self, status: object) -> None:
            pass

        def flush(self) -> None:
            if self.pending:
                flushed.append(self.pending)
            self.pending = 0

        def close(self) -> None:
            self.flush()

    async def burst() -> Any:
        for n in range(1000):
            yield fill(n, seconds=n, source="history")

    assert await run(burst(), [Counting()]) == ExitCode.OK
    assert sum(flushed) == 1000
    assert max(flushed) == MAX_BURST == 256


def test_a_state_file_that_cannot_be_written_ends_the_run_with_exit_5(
    kalshi_sim, key_file: Path, tmp_path: Path
) -> None:
    """A failed write of the --state file or its journal: one line, exit 5, and what is on disk covers
    only lines that were printed."""
    sim = kalshi_sim(Script(rate=300, seed=50))
    state = tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state))
    client = Client(args, preexec=file_size_limit(6_000))
    code = client.finish(60)
    assert code == 5, client.stderr  # ExitCode.WRITE
    [error] = errors(client.stderr)
    assert error.startswith(("fillwatch: error: cannot write the state", "fillwatch: error: cannot write to state"))
    assert "File too large" in error
    checkpoint = StateFile(state, venue="kalshi", account=sim.key_id).load()
    assert checkpoint is not None
    assert set(checkpoint.seen) <= {(i, o) for _, i, o in keys_of(client.lines)}


def test_a_stop_inside_a_history_batch_leaves_its_rest_to_the_next_run(
    kalshi_sim, key_file: Path, tmp_path: Path
) -> None:
    """--max-events 3 inside a 12-event --since batch: the checkpoint covers the 3 shown, so the next run prints
    the other 9 (before the fix the ledger had admitted all 12 and the next run printed none: 9 fills lost)."""
    sim = kalshi_sim(Script(rate=1, seed=47))
    earlier = trade_before_the_run(sim, 12)
    state = tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state), "--since", "1h")
    first = fillwatch([*args, "--max-events", "3"])
    assert first.returncode == 0, first.stderr
    second = fillwatch([*args, "--no-follow"])
    assert second.returncode == 0, second.stderr
    shown, rest = keys_of(first.stdout.splitlines()), keys_of(second.stdout.splitlines())
    assert (len(shown), len(rest)) == (3, 9)
    assert set(shown) | set(rest) == earlier
