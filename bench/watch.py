"""Several accounts in one process (CONTRACT §6): ``fillwatch watch`` over 3 accounts against one account.

Usage: ``python bench/watch.py [--runs N] [--events N]``, or as the ``watch``
measure of ``python bench/run.py --only watch``.

Every round measures, in turns, against the one loopback blaster (``bench/blaster.py``, which
speaks only Kalshi: the accounts are three Kalshi accounts, each its own connection, its own
profile and its own stream of N ÷ 3 frames; their trade ids are the same, as the ledger is
per account):

* ``kalshi``: ``fillwatch kalshi -f jsonl`` over one connection of N frames, as ``jsonl`` in
  ``bench/run.py`` (the single-account rate);
* ``watch-1``: ``fillwatch watch -p a -f jsonl``, one account of N frames (what the watch
  machinery costs by itself);
* ``watch-3``: ``fillwatch watch -p a -p b -p c -f jsonl``, three accounts of N ÷ 3 frames each,
  merged into one pipe (the same total of lines).

A throughput is the lines read ÷ (last line read − first frame written on any of the run's
connections), on ``CLOCK_MONOTONIC`` (as ``bench/measure.py``). The ratio of a round is
``watch-3``'s merged events/s ÷ ``kalshi``'s events/s; the target is a median ≥ 0.8. All three
accounts share one process, hence one core: the blaster has the machine's other core.

Each client's CPU seconds over its whole run (start-up included, about 0.45 s) are given too: on
a shared machine a client that gets less of a core is slower, not costlier, and the CPU ratio
(``kalshi``'s CPU ÷ ``watch-3``'s, for the same number of lines) is the ratio the throughputs
approach when the client has its core to itself.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling modules

from measure import Blaster, Result, drive, fillwatch_cmd

__all__ = ["Round", "watch_round", "watch_rows"]

ACCOUNTS = 3
TARGET = 0.8


class _Bench(Protocol):
    """What of ``bench/run.py``'s ``Bench`` this measure uses."""

    blaster: Blaster
    key: Path
    timeout: float
    env: dict[str, str]

    def jsonl(self, n: int) -> Result: ...


class _Table(Protocol):
    """``bench/run.py``'s ``Table``."""

    def add(
        self,
        what: str,
        values: Sequence[float],
        fmt: Callable[[float], str],
        target: str = "",
        check: Callable[[float], bool] | None = None,
    ) -> None: ...


@dataclass
class Round:
    """One round's rates, events/s, and the CPU seconds each client process used over its whole run."""

    kalshi: float
    watch_1: float
    watch_3: float
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """kalshi, watch-1, watch-3: user + system seconds from start to exit (start-up included, ~0.45 s)."""

    @property
    def ratio(self) -> float:
        """Three accounts merged ÷ one account (``fillwatch kalshi``)."""
        return self.watch_3 / self.kalshi


def watch_round(bench: _Bench, n: int, accounts: int = ACCOUNTS) -> Round:
    """One round: ``fillwatch kalshi`` over N frames; ``watch`` over 1 account of N, over `accounts` of N ÷ each."""
    before = _children_cpu()
    single = bench.jsonl(n).rate(n)
    after_single = _children_cpu()
    one = _watch(bench, [n])
    after_one = _children_cpu()
    merged = _watch(bench, [n // accounts] * accounts)
    cpu = (after_single - before, after_one - after_single, _children_cpu() - after_one)
    return Round(single, one, merged, cpu)


def _children_cpu() -> float:
    """User + system seconds of the child processes reaped so far (each client is reaped when its run ends;
    the blaster, only when the benchmark closes it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _watch(bench: _Bench, counts: list[int]) -> float:
    """``fillwatch watch -f jsonl`` over one blaster connection per count; the merged events/s."""
    runs = [bench.blaster.url(count) for count in counts]
    total = sum(counts)
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "watch.toml"
        config.write_text(_config(bench.key, [url for _, url in runs]))
        config.chmod(0o600)
        command = [*fillwatch_cmd(), "watch", "--config", str(config), "-f", "jsonl", "-q"]
        for number in range(len(counts)):
            command += ["-p", f"a{number}"]
        command += ["--max-events", str(total)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=bench.env)
        assert proc.stdout is not None
        try:
            result = drive(bench.blaster, runs[0][0], [proc], proc.stdout.fileno(), total, timeout=bench.timeout)
        finally:
            proc.stdout.close()
    first = min(bench.blaster.wait(run, "start", 5)["t"] for run, _ in runs)
    return float(total * 1e9 / (result.t_last - first))


def _config(key: Path, urls: list[str]) -> str:
    """One Kalshi profile per blaster connection (``a0``, ``a1``, …); the blaster takes any signature."""
    return "".join(
        f'[profiles.a{number}]\nvenue = "kalshi"\nkey_id = "bench"\nprivate_key = "{key}"\nws_url = "{url}"\n'
        for number, url in enumerate(urls)
    )


def watch_rows(table: _Table, rounds: list[Round]) -> None:
    """The watch measure's rows of ``bench/run.py``'s table."""

    def rate(x: float) -> str:
        return f"{x:,.0f}"

    def ratio(x: float) -> str:
        return f"{x:.2f}"

    table.add("fillwatch kalshi jsonl, 1 account → pipe, events/s", [r.kalshi for r in rounds], rate)
    table.add("fillwatch watch jsonl, 1 account → pipe, events/s", [r.watch_1 for r in rounds], rate)
    table.add(
        f"**fillwatch watch jsonl, {ACCOUNTS} accounts merged** → pipe, events/s", [r.watch_3 for r in rounds], rate
    )
    table.add("watch, 1 account ÷ fillwatch kalshi", [r.watch_1 / r.kalshi for r in rounds], ratio)
    table.add("CPU s per run: fillwatch kalshi, 1 account", [r.cpu[0] for r in rounds], ratio)
    table.add("CPU s per run: watch, 1 account", [r.cpu[1] for r in rounds], ratio)
    table.add(f"CPU s per run: watch, {ACCOUNTS} accounts", [r.cpu[2] for r in rounds], ratio)
    table.add(f"CPU: fillwatch kalshi ÷ watch, {ACCOUNTS} accounts", [r.cpu[0] / r.cpu[2] for r in rounds], ratio)
    target, check = f"≥ {TARGET}", lambda x: x >= TARGET
    table.add(f"watch, {ACCOUNTS} accounts merged ÷ fillwatch kalshi", [r.ratio for r in rounds], ratio, target, check)


def main() -> None:
    from run import Bench, Table, write_key  # run.py imports this module: its names are taken when run alone

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (each: kalshi, watch-1, watch-3)")
    parser.add_argument("--events", type=int, default=120_000, help="events per run (watch-3: ÷ 3 per account)")
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bench.pem"
        write_key(key)
        blaster = Blaster()
        try:
            bench = Bench(blaster, key, timeout=120)
            for number in range(args.runs):
                print(f"round {number + 1}/{args.runs}: watch", file=sys.stderr, flush=True)
                rounds.append(watch_round(bench, args.events))
        finally:
            blaster.close()
    table = Table()
    watch_rows(table, rounds)
    print(f"fillwatch watch benchmark: {args.runs} rounds, {args.events:,} events per run\n")
    print("\n".join(table.rows))


if __name__ == "__main__":
    main()
