"""A chaos run: a minute of fills while the connection drops at random points.

    python -m fillwatch.sim.chaos [--seconds 60] [--rate 40] [--seed 1]

The simulated Kalshi trades at `rate` events per second on its own clock and
drops the client's TCP connection after a random 3–25 events on every
connection, while its REST history stays complete. ``fillwatch kalshi`` runs
as a separate process, as a user runs it. When the time is up the venue stops
trading, the client gets a few seconds to catch up, and its output is compared
with the events the venue made: each must appear exactly once. Prints the
figures; exits 1 if anything is missing, repeated or unknown, or if fewer than
`--min-drops` drops happened.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.thread import SimThread


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fillwatch.sim.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the venue trades")
    parser.add_argument("--rate", type=float, default=40.0, help="events per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-drops", type=int, default=50)
    args = parser.parse_args()

    script = Script(rate=args.rate, seed=args.seed, drop_between=(3, 25))
    with tempfile.TemporaryDirectory() as scratch, SimThread(KalshiSim(script)) as sim:
        key = Path(scratch) / "chaos.pem"
        key.write_bytes(
            sim.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key.chmod(0o600)
        command = [sys.executable, "-m", "fillwatch", "kalshi", "--ws-url", sim.url, "--api-url", sim.api_url]
        command += ["--key-id", sim.key_id, "--private-key", str(key), "-f", "jsonl"]
        client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert client.stdout is not None
        assert client.stderr is not None
        lines: list[str] = []
        diagnostics: list[str] = []
        readers = [
            threading.Thread(target=lambda: lines.extend(client.stdout), daemon=True),  # type: ignore[arg-type]
            threading.Thread(target=lambda: diagnostics.extend(client.stderr), daemon=True),  # type: ignore[arg-type]
        ]
        for reader in readers:
            reader.start()
        started = time.monotonic()
        time.sleep(args.seconds)
        sim.script.limit = sim.stats.events  # the venue stops trading
        deadline = time.monotonic() + 30
        while len(lines) < len(sim.emitted) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # room for a late duplicate to show
        client.send_signal(signal.SIGTERM)
        code = client.wait(30)
        for reader in readers:
            reader.join(5)
        elapsed = time.monotonic() - started

    events = [json.loads(line) for line in lines]
    got = Counter((e["kind"], e["id"], e["order_id"]) for e in events)
    sent = set(sim.emitted)
    missing = len(sent - set(got))
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    unknown = len(set(got) - sent)
    from_history = sum(e["source"] == "history" for e in events)
    failed_backfills = sum("not read" in line for line in diagnostics)
    figures = {
        "seconds": round(elapsed, 1),
        "drops": sim.stats.drops,
        "connections": sim.stats.connections,
        "events sent": len(sent),
        "fills": sum(kind == "fill" for kind, _, _ in sent),
        "cancels": sum(kind == "cancel" for kind, _, _ in sent),
        "lines printed": len(events),
        "from history": from_history,
        "missing": missing,
        "duplicates": duplicates,
        "unknown": unknown,
        "failed backfills": failed_backfills,
        "client exit": code,
    }
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    ok = missing == duplicates == unknown == 0 and sim.stats.drops >= args.min_drops and code == 143
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(main())
