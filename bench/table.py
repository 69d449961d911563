"""CPU share and throughput of the ``table`` view: ``python bench/table.py [RATE ...]``.

For each rate (events/s; 0 = as fast as the simulator sends), starts the
simulated Kalshi in its own process, then runs ``fillwatch kalshi -f table``
against it for DURATION seconds inside a pseudo-terminal (120×40) whose
output is drained like a terminal would, and reports the client's CPU time
(user + sys, from ``wait4``) as a share of one core, the events it showed (from
its exit summary) and the number of redraws (cursor-up sequences). A run with
``-f jsonl`` into a pipe gives the cost of the stream alone for comparison.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

DURATION = float(os.environ.get("BENCH_DURATION", "10"))
WARMUP = 2.0  # seconds: start-up (imports, key loading, connecting) is not the steady state


def start_sim(rate: float, key: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    sim = subprocess.Popen(
        [sys.executable, "-m", "fillwatch.sim", "--rate", str(rate), "--seed", "1", "--key-out", str(key)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    info = dict(sim.stdout.readline().split(None, 1) for _ in range(3))
    return sim, {k: v.strip() for k, v in info.items()}


def run_client(args: list[str], *, tty: bool) -> tuple[float, bytes, int]:
    """Run the CLI for DURATION s; return (CPU share of one core after warm-up, output, exit code)."""
    argv = [sys.executable, "-m", "fillwatch", *args, "--duration", f"{DURATION}s"]
    if tty:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, argv)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    else:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(write_end, 1)
            os.execv(sys.executable, argv)
        os.close(write_end)
        fd = read_end
    out = bytearray()
    started = time.monotonic()
    deadline = started + DURATION + 10
    window: list[tuple[float, float]] = []  # (monotonic, cpu seconds) at WARMUP and near the end
    while time.monotonic() < deadline:
        elapsed = time.monotonic() - started
        if (not window and elapsed >= WARMUP) or (len(window) == 1 and elapsed >= DURATION - 0.5):
            window.append((time.monotonic(), _cpu(pid)))
        if select.select([fd], [], [], 0.5)[0]:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                break
            if not data:
                break
            out += data
    else:
        os.kill(pid, signal.SIGINT)
    _, status, _usage = os.wait4(pid, 0)
    os.close(fd)
    (t0, cpu0), (t1, cpu1) = window
    return (cpu1 - cpu0) / (t1 - t0), bytes(out), os.waitstatus_to_exitcode(status)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    rates = [float(r) for r in sys.argv[1:]] or [1000.0, 10000.0]
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "sim.pem"
        for rate in rates:
            for fmt, tty in (("table", True), ("jsonl", False)):
                sim, info = start_sim(rate, key)
                try:
                    args = ["kalshi", "--ws-url", info["ws_url"], "--api-url", info["api_url"]]
                    args += ["--key-id", info["key_id"], "--private-key", str(key), "-f", fmt, "-q"]
                    share, out, code = run_client(args, tty=tty)
                finally:
                    sim.send_signal(signal.SIGINT)
                    sim.wait()
                text = out.decode(errors="replace")
                if fmt == "table":
                    fills, cancels = re.findall(r"(\d+) fills · (\d+) cancels", text)[-1]
                    events = int(fills) + int(cancels)
                    extra = f"  redraws {text.count(' fillwatch ')} ({text.count(' fillwatch ') / DURATION:.1f}/s)"
                else:
                    events, extra = text.count("\n"), ""
                label = "max" if rate == 0 else f"{rate:g}/s"
                print(
                    f"sim {label:>8}  {fmt:5}  exit {code}  CPU {100 * share:5.1f}% of a core"
                    f"  events {events} ({events / DURATION:,.0f}/s){extra}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
