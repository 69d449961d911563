"""CPU an event costs ``fillwatch kalshi -f jsonl`` against the blaster, start-up left out.

Usage: ``python bench/cpu.py [--rounds N] [TREE ...]``

Each round runs the CLI twice per tree, for 200,000 and for 20,000 events into a pipe that a thread
drains, and takes user + system time from ``os.wait4``: (CPU(200,000) − CPU(20,000)) ÷ 180,000 is
the cost of an event without the start-up. Trees alternate within each round, so that a noisy
neighbour hurts them alike; CPU time moves less with the machine's load than the rates of
``bench/run.py`` do. Without TREE it measures the installed ``fillwatch``; with them, each TREE (a
directory holding a ``fillwatch`` package, e.g. ``git archive main fillwatch | tar -x -C /tmp/main``)
runs as ``python -m fillwatch`` in TREE with ``PYTHONPATH=TREE``, so the interpreter must not have
fillwatch installed in editable mode (its finder comes before ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling modules

from measure import PY, Blaster, child_env, fillwatch_cmd
from run import write_key

BIG, SMALL = 200_000, 20_000


def cpu_of_run(blaster: Blaster, key: Path, tree: str | None, n: int) -> float:
    """User + system seconds of one CLI run for `n` events (`tree`: its PYTHONPATH; None: installed)."""
    _, url = blaster.url(n)
    env = child_env() | ({"PYTHONPATH": tree} if tree else {})
    cli = [PY, "-m", "fillwatch"] if tree else fillwatch_cmd()
    cmd = [*cli, "kalshi", "--ws-url", url, "--key-id", "bench", "--private-key", str(key), "-f", "jsonl", "-q"]
    proc = subprocess.Popen(  # in the tree: `python -m` puts the working directory before PYTHONPATH
        [*cmd, "--max-events", str(n)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=tree
    )
    assert proc.stdout is not None
    lines = [0]

    def drain() -> None:
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 1 << 20):
            lines[0] += chunk.count(b"\n")

    reader = threading.Thread(target=drain)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    proc.stdout.close()
    if lines[0] != n:
        raise RuntimeError(f"{lines[0]} of {n} lines (exit {proc.returncode})")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU per event of fillwatch jsonl")
    parser.add_argument("trees", nargs="*", help="PYTHONPATH trees to compare (default: the installed fillwatch)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees: list[str | None] = list(args.trees) or [None]
    found: dict[str | None, list[float]] = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bench.pem"
        write_key(key)
        blaster = Blaster()
        try:
            for round_ in range(args.rounds):
                for tree in trees:
                    big, small = cpu_of_run(blaster, key, tree, BIG), cpu_of_run(blaster, key, tree, SMALL)
                    found[tree].append((big - small) / (BIG - SMALL) * 1e6)
                    print(f"round {round_ + 1}: {tree or 'installed'} {found[tree][-1]:.2f} µs", file=sys.stderr)
        finally:
            blaster.close()
    for tree, values in found.items():
        print(
            f"{tree or 'installed'}: {statistics.median(values):.2f} µs an event ({min(values):.2f}–{max(values):.2f})"
        )


if __name__ == "__main__":
    main()
