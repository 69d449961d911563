"""Throughput of the ``lines`` view into a pseudo-terminal: ``python bench/lines.py [N]``.

Formats N simulated events (from the simulator's own feed, parsed by the Kalshi
adapter beforehand, so only the view is timed) into a :class:`LinesSink`
writing to the slave side of a pty, while a thread drains the master side
like a terminal would. Flushes every 64 events, as the runner does when
frames arrive in bursts. For comparison it times a naive rich
``Console.print`` per line on the same pty.
"""

from __future__ import annotations

import os
import pty
import sys
import threading
import time

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from rich.text import Text

from fillwatch.core.events import Cancel, Fill
from fillwatch.render.console import make_console, row_style
from fillwatch.render.lines import LineFormatter, LinesSink
from fillwatch.sim.feed import TITLES, KalshiFeed
from fillwatch.venues.kalshi.adapter import Kalshi


def events(n: int) -> list[Fill | Cancel]:
    feed = KalshiFeed(seed=1)
    venue = Kalshi("k", rsa.generate_private_key(public_exponent=65537, key_size=1024))
    out: list[Fill | Cancel] = []
    while len(out) < n:
        for message in feed.next_event():
            out += [e for e in venue.parse(orjson.dumps(message).decode()) if isinstance(e, (Fill, Cancel))]
    return out[:n]


def drain(fd: int) -> None:
    try:
        while os.read(fd, 1 << 16):
            pass
    except OSError:
        pass


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    sample = events(n)
    master, slave = pty.openpty()
    threading.Thread(target=drain, args=(master,), daemon=True).start()
    with open(slave, "w", closefd=False) as tty:
        console = make_console("always", file=tty)
        titles = {("kalshi", m): t for m, t in TITLES.items()}
        sink = LinesSink(slave, LineFormatter(console, titles=titles))
        started = time.perf_counter()
        for i, event in enumerate(sample, 1):
            sink.event(event)
            if i % 64 == 0:
                sink.flush()
        sink.close()
        fast = n / (time.perf_counter() - started)

        naive_n = min(n, 20_000)
        started = time.perf_counter()
        for event in sample[:naive_n]:
            console.print(Text(f"{event.ts:%H:%M:%S} {event.venue} {event.market} {event.qty}", row_style(event)))
        naive = naive_n / (time.perf_counter() - started)
    print(f"lines view: {fast:,.0f} events/s ({n:,} events); naive Console.print: {naive:,.0f} lines/s")


if __name__ == "__main__":
    main()
