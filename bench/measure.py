"""The benchmark's process plumbing: the blaster, the child processes, reading their lines.

:func:`drive` reads a client's lines from a pipe or a pseudo-terminal until
the N-th, recording what the run asks for (latency stamps, memory, CPU share).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")


class Blaster:
    """The blaster process, and the start/done reports of its connections."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PY, str(HERE / "blaster.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env()
        )
        self.events: dict[tuple[str, str], dict] = {}
        self.ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        ports = self.wait("-", "ready", 30)
        self.plain, self.deflate = ports["plain"], ports["deflate"]
        self._next = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            report = orjson.loads(line)
            with self.ready:
                self.events[(report["run"], report["event"])] = report
                self.ready.notify_all()

    def wait(self, run: str, event: str, timeout: float) -> dict:
        with self.ready:
            if not self.ready.wait_for(lambda: (run, event) in self.events, timeout):
                raise TimeoutError(f"blaster: no {event} for run {run}")
            return self.events[(run, event)]

    def get(self, run: str, event: str) -> dict | None:
        with self.ready:
            return self.events.get((run, event))

    def url(self, n: int, *, rate: float = 0, stamp: bool = False, deflate: bool = False) -> tuple[str, str]:
        self._next += 1
        run = str(self._next)
        port = self.deflate if deflate else self.plain
        query = f"run={run}&n={n}&rate={rate:g}&stamp={int(stamp)}"
        return run, f"ws://127.0.0.1:{port}/trade-api/ws/v2?{query}"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "TERM": env.get("TERM", "xterm-256color")}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def fillwatch_cmd() -> list[str]:
    script = Path(PY).parent / "fillwatch"
    return [str(script)] if script.exists() else [PY, "-m", "fillwatch"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Result:
    """What one measured run gave."""

    lines: int = 0
    t_start: int = 0  # ns: first data frame written by the blaster
    t_last: int = 0  # ns: N-th line read (or the bare client's N-th frame)
    t_exit: int = 0
    t_done: int = 0  # ns: last data frame written by the blaster
    first_line: bytes = b""
    latencies: list[float] = field(default_factory=list)  # ms
    cpu: float | None = None  # CPU share of one core between start and exit
    rss: tuple[float, float] | None = None  # MiB at the first line and at the N-th

    def rate(self, n: int) -> float:
        return n * 1e9 / (self.t_last - self.t_start)


class _Reader:
    """Lines read from one pipe or pty, with what each run wants recorded along the way."""

    def __init__(self, procs: Sequence[subprocess.Popen], n: int, *, stamp: bool, memory: bool) -> None:
        self.result = Result()
        self.procs, self.n, self.stamp, self.memory = procs, n, stamp, memory
        self.pending = b""

    def chunk(self, chunk: bytes, now: int) -> bool:
        """Count the lines of `chunk`; True once the n-th line was read."""
        result = self.result
        if not result.first_line:
            result.first_line = chunk.split(b"\n", 1)[0].rstrip(b"\r")
            if self.memory:
                result.rss = (rss_mib(self.procs[0].pid), 0.0)
        before = result.lines
        result.lines += chunk.count(b"\n")
        if self.stamp:
            self._latencies(chunk, now)
        if not before < self.n <= result.lines:
            return False
        result.t_last = now
        return True

    def _latencies(self, chunk: bytes, now: int) -> None:
        self.pending += chunk
        *complete, self.pending = self.pending.split(b"\n")
        for line in complete:
            at = line.find(b'"id":"L')
            if at >= 0:
                sent = int(line[at + 7 : line.index(b'"', at + 7)])
                self.result.latencies.append((now - sent) / 1e6)

    def sample_memory(self) -> None:
        """VmRSS at the n-th line; then the run is ended (SIGTERM)."""
        assert self.result.rss is not None
        self.result.rss = (self.result.rss[0], rss_mib(self.procs[0].pid))
        self.procs[0].send_signal(signal.SIGTERM)


def _read_chunk(fd: int, procs: Sequence[subprocess.Popen]) -> bytes | None:
    """The next chunk from `fd` (b"": the end), or None when nothing came for a moment."""
    ready, _, _ = select.select([fd], [], [], 0.05)
    if not ready:
        if all(proc.poll() is not None for proc in procs) and not select.select([fd], [], [], 0.2)[0]:
            return b""  # every writer ended without closing the pipe's last copy
        return None
    try:
        return os.read(fd, 1 << 20)
    except OSError:  # EIO: the pty's other side is closed
        return b""


def drive(
    blaster: Blaster,
    run: str,
    procs: Sequence[subprocess.Popen],
    fd: int,
    n: int,
    *,
    timeout: float,
    stamp: bool = False,
    memory: bool = False,
    cpu_of: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> Result:
    """Read lines from `fd` until `n` arrived (or EOF), then wait for `procs` to end.

    Args:
        stamp: parse each line's ``id`` (``L<ns>``) and record the latency.
        memory: sample VmRSS of ``procs[0]`` at the first and the n-th line, then SIGTERM it.
        cpu_of: record the CPU share of this pid between the blaster's start and the exit.
        on_done: called once `n` lines were read (to end a pipeline that does not stop by itself).
    """
    reader = _Reader(procs, n, stamp=stamp, memory=memory)
    deadline = time.monotonic() + timeout
    cpu_start: float | None = None
    while time.monotonic() < deadline:
        if cpu_of is not None and cpu_start is None and blaster.get(run, "start"):
            cpu_start = cpu_seconds(cpu_of)
        chunk = _read_chunk(fd, procs)
        if chunk is None:
            continue
        if not chunk or not reader.chunk(chunk, time.monotonic_ns()):
            if not chunk:
                break
            continue
        if on_done is not None:
            on_done()
        if memory:
            reader.sample_memory()
        elif cpu_of is None:
            break
    result = reader.result
    result.t_exit = time.monotonic_ns()
    if cpu_of is not None:
        _cpu_share(blaster, run, cpu_of, cpu_start, result)
        procs[0].returncode = 0
    _wait_all(procs, deadline, memory=memory)
    if result.lines < n:
        raise RuntimeError(f"run {run}: {result.lines} of {n} lines before the time limit")
    result.t_start = blaster.wait(run, "start", 1)["t"]
    result.t_done = blaster.wait(run, "done", 5)["t"]
    return result


def _cpu_share(blaster: Blaster, run: str, pid: int, cpu_start: float | None, result: Result) -> None:
    _, _, usage = os.wait4(pid, 0)
    if cpu_start is not None:
        start = blaster.wait(run, "start", 1)["t"]
        result.cpu = (usage.ru_utime + usage.ru_stime - cpu_start) / ((result.t_exit - start) / 1e9)


def _wait_all(procs: Sequence[subprocess.Popen], deadline: float, *, memory: bool) -> None:
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()) if not memory else 10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
