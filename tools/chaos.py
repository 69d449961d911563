"""A chaos run: a minute of fills while the connection drops at random points.

    python -m tools.chaos [--venue kalshi|novig|novig-v3] [--seconds 60] [--rate 40] [--seed 1]
                                  [--restarts N] [--kill9 N [--stdout-only]]

The simulated venue trades at `rate` events per second on its own clock and
drops the client's TCP connection after a random 3–25 events on every
connection, while its REST history stays complete. ``fillwatch kalshi`` (or
``fillwatch novig``, with the client id and secret in its environment) runs
as a separate process, as a user runs it. When the time is up the venue stops
trading, the client gets a few seconds to catch up, and its output is compared
with the events the venue made, on (kind, id, order_id): each must appear
exactly once. On Novig the cancels a market's CLOSE causes count like any
other event; the CLOSE cancels of orders the client could not know (placed
after its last ``orders/all`` read) may appear, once, when a later read of
``orders/all`` shows them, and are counted apart. Novig lines are checked for
the quantity too (a cancel's is what was left of the order). Prints the
figures; exits 1 if anything is missing, repeated, unknown or of the wrong
quantity, or if fewer than `--min-drops` drops happened.

``--venue novig-v3`` runs Novig's v3 API (``fillwatch novig`` with a throwaway Ed25519 key):
besides the connection drops, the venue drops ``orders`` batches on a live connection
(``Script.drop_chance``), which the client must find by their ``seq`` and recover from a
snapshot and REST; the figures say how many batches were dropped and how many gaps the
client reported (``+ seq A→B: …``). The venue's throttles are off: at this rate of
reconnects the documented ``stream`` bucket (32 per upgrade, 4/s) would refuse most of them.

With ``--restarts N`` the client runs with ``--state`` and is stopped
(SIGTERM) N times at random points, each time started again after a pause of
0.5–3 s, as cron would: what happened while no client ran must come out of
the next one, and nothing twice.

With ``--kill9 N`` the client runs with ``--state`` and ``--output`` and is
killed (SIGKILL: no cleanup at all) N times at random points, each time
started again after such a pause. The ``--output`` file is what is checked:
every event once, none missing (CONTRACT §5); the lines stdout repeated (at
most the last write burst before each kill) are counted apart. With
``--stdout-only`` there is no ``--output``: stdout is checked for missing
events, and its repeats are the figure (the guarantee: at most the burst
being written when each kill came). ``--accounts N``: one ``fillwatch watch`` over N simulated
accounts, each checked on its own (``tools/chaos_watch.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from fillwatch.sim import kalshi, novig
from fillwatch.sim.thread import SimThread

Key = tuple[str, str, str]

DROP_BETWEEN = (3, 25)
PAUSE_BETWEEN = (0.5, 3.0)  # seconds without a client, between a stop and the next start


class Venue:
    """One simulated venue for the run, and how to point ``fillwatch`` at it."""

    sim: Any
    """The simulated venue (its ``stats`` and ``script`` are read by the run)."""

    @contextmanager
    def client(self) -> Iterator[tuple[list[str], dict[str, str]]]:
        """The command line and the extra environment of the client."""
        raise NotImplementedError

    def required(self) -> list[Key]:
        """What the client must print, each once."""
        emitted = getattr(self.sim, "emitted", [])  # Kalshi's and NBX's simulators keep what they made
        return [(kind, id_, order_id) for kind, id_, order_id, *_ in emitted]

    def allowed(self) -> set[Key]:
        """What the client may print besides, each once."""
        return set()

    def quantities(self) -> dict[Key, float]:
        """The quantity each line must show, where the venue's records say it."""
        return {}

    def describe(self, order_id: str) -> str:
        """What the venue knows of an order, for a missing event."""
        return ""

    def figures(self, printed: set[Key]) -> dict[str, object]:
        """The venue's own figures, given the keys the client printed."""
        return {}

    def sound(self, args: argparse.Namespace, diagnostics: list[str]) -> bool:
        """Whether the venue's own faults happened often enough for the run to count."""
        return True


class Kalshi(Venue):
    def __init__(self, args: argparse.Namespace) -> None:
        self.sim = kalshi.KalshiSim(kalshi.Script(rate=args.rate, seed=args.seed, drop_between=DROP_BETWEEN))

    @contextmanager
    def client(self) -> Iterator[tuple[list[str], dict[str, str]]]:
        sim = self.sim
        assert isinstance(sim, kalshi.KalshiSim)
        with tempfile.TemporaryDirectory() as scratch:
            key = Path(scratch) / "chaos.pem"
            key.write_bytes(
                sim.key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            key.chmod(0o600)
            command = ["kalshi", "--ws-url", sim.url, "--api-url", sim.api_url]
            yield [*command, "--key-id", sim.key_id, "--private-key", str(key)], {}


class Novig(Venue):
    def __init__(self, args: argparse.Namespace) -> None:
        self.sim = novig.NovigSim(novig.Script(rate=args.rate, seed=args.seed, drop_between=DROP_BETWEEN))

    @contextmanager
    def client(self) -> Iterator[tuple[list[str], dict[str, str]]]:
        sim = self.sim
        assert isinstance(sim, novig.NovigSim)
        command = ["novig", "--ws-url", sim.url, "--api-url", sim.api_url, "--token-url", sim.token_url]
        yield command, {"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret}

    def required(self) -> list[Key]:
        return [(e.kind, e.id, e.order_id) for e in self.sim.emitted]

    def allowed(self) -> set[Key]:
        sim = self.sim
        assert isinstance(sim, novig.NovigSim)
        return {(e.kind, e.id, e.order_id) for e in sim.feed.unseen_closes}

    def quantities(self) -> dict[Key, float]:
        sim = self.sim
        assert isinstance(sim, novig.NovigSim)
        return {(e.kind, e.id, e.order_id): e.qty for e in [*sim.emitted, *sim.feed.unseen_closes]}

    def figures(self, printed: set[Key]) -> dict[str, object]:
        sim = self.sim
        assert isinstance(sim, novig.NovigSim)
        return {
            "of which market closed": sum(e.reason == "market_closed" for e in sim.emitted),
            "unseen closes printed": len(printed & self.allowed()),
        }

    def describe(self, order_id: str) -> str:
        sim = self.sim
        assert isinstance(sim, novig.NovigSim)
        order = sim.feed.orders[order_id]
        lines = [e for e in sim.emitted if e.order_id == order_id]
        delivered = [k for k in sim.stats.delivered_keys if k[2] == order_id]
        return (
            f"{order.status} {order.currency} placed {order.placed} visible={order.visible} "
            f"remaining={order.remaining}/{order.original}; lines {lines}; delivered {delivered}"
        )


def _venues() -> dict[str, Callable[[argparse.Namespace], Venue]]:
    from tools.chaos_v3 import NovigV3  # it builds on Venue, so it is imported once this module is

    return {"kalshi": Kalshi, "novig": Novig, "novig-v3": NovigV3}


VENUE_NAMES = ("kalshi", "novig", "novig-v3")


@dataclass
class Outcome:
    """What one run left: the client's stdout and stderr lines, its exit codes, what is checked."""

    lines: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    """The lines checked: the ``--output`` file's with it, stdout's otherwise."""
    elapsed: float = 0.0


def main() -> int:
    args = _arguments()
    if args.accounts:
        from tools.chaos_watch import main as watch  # it builds on this module

        return watch(args)
    venue = _venues()[args.venue](args)
    outcome = _run(args, venue)
    figures, ok = _judge(args, venue, outcome)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    for event in _wrong(venue, outcome)[:10]:
        print(f"wrong quantity: {event}", file=sys.stderr)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--venue", choices=VENUE_NAMES, default="kalshi")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the venue trades")
    parser.add_argument("--rate", type=float, default=40.0, help="events per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-drops", type=int, default=50)
    parser.add_argument("--restarts", type=int, default=0, help="stop and start the client this many times")
    parser.add_argument("--kill9", type=int, default=0, help="kill -9 and start the client this many times")
    parser.add_argument("--stdout-only", action="store_true", help="with --kill9: no --output; count stdout repeats")
    parser.add_argument("--accounts", type=int, default=0, help="watch this many accounts in one process")
    return parser.parse_args()


def _with_output(args: argparse.Namespace) -> bool:  # the --output file is checked: --kill9, not --stdout-only
    return bool(args.kill9 and not args.stdout_only)


def _command(args: argparse.Namespace, arguments: list[str], output: Path) -> list[str]:
    """The client's command line: ``--state`` when it is stopped and started, ``--output`` when checked."""
    command = [sys.executable, "-m", "fillwatch", *arguments, "-f", "jsonl"]
    if args.restarts or args.kill9:
        command += ["--state", str(output.with_name("chaos.state"))]
    if _with_output(args):
        command += ["--output", str(output)]
    return command


def _run(args: argparse.Namespace, venue: Venue) -> Outcome:
    """Trade for ``--seconds`` with the client running (stopped and started as asked), then let it catch up."""
    rng = random.Random(args.seed)
    outcome = Outcome()
    lines, diagnostics = outcome.lines, outcome.diagnostics
    with SimThread(venue.sim) as sim, venue.client() as (arguments, env), tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "chaos.jsonl"
        command, environment = _command(args, arguments, output), {**os.environ, **env}
        client, readers = _start(command, environment, lines, diagnostics)
        started = time.monotonic()
        signals = [signal.SIGTERM] * args.restarts + [signal.SIGKILL] * args.kill9
        rng.shuffle(signals)
        stops = sorted(rng.uniform(0.1, 0.9) * args.seconds for _ in signals)
        said = 0  # stderr lines before the running client started
        for at, signum in zip(stops, signals, strict=True):
            time.sleep(max(0.0, started + at - time.monotonic()))
            _wait_for_a_word(diagnostics, said)
            outcome.codes.append(_stop(client, readers, signum))
            time.sleep(rng.uniform(*PAUSE_BETWEEN))  # the venue trades on: only REST history has it
            said = len(diagnostics)
            client, readers = _start(command, environment, lines, diagnostics)
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        sim.script.limit = sim.stats.events  # the venue stops trading
        checked: Callable[[], list[str]] = partial(_lines_of, output) if _with_output(args) else lines.copy
        _catch_up(venue, checked)
        time.sleep(1.0)  # room for a late duplicate to show
        outcome.codes.append(_stop(client, readers))
        outcome.elapsed = time.monotonic() - started
        outcome.written = checked()
    return outcome


def _catch_up(venue: Venue, checked: Callable[[], list[str]], limit: float = 30.0) -> None:
    """Wait (up to `limit` seconds) until the client printed everything the venue made."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if set(venue.required()) <= {_key(json.loads(line)) for line in checked()}:
            return
        time.sleep(0.2)


def _wrong(venue: Venue, outcome: Outcome) -> list[dict[str, Any]]:
    """The lines whose quantity is not the venue's."""
    quantities = venue.quantities()
    events = [json.loads(line) for line in outcome.written]
    return [e for e in events if quantities.get(_key(e), e["qty"]) != e["qty"]]


def _judge(args: argparse.Namespace, venue: Venue, outcome: Outcome) -> tuple[dict[str, object], bool]:
    """The figures of the run, and whether it passed; the missing events go to stderr."""
    stats = venue.sim.stats
    events = [json.loads(line) for line in outcome.written]
    got = Counter(_key(e) for e in events)
    sent, allowed = set(venue.required()), venue.allowed()
    missing = len(sent - set(got))
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    unknown = len(set(got) - sent - allowed)
    wrong = _wrong(venue, outcome)
    figures: dict[str, object] = {
        "venue": args.venue,
        "seconds": round(outcome.elapsed, 1),
        "drops": stats.drops,
        "connections": stats.connections,
        "restarts": args.restarts,
        "kill -9": args.kill9,
        "events sent": len(sent),
        "fills": sum(kind == "fill" for kind, _, _ in sent),
        "cancels": sum(kind == "cancel" for kind, _, _ in sent),
    }
    figures |= venue.figures(set(got))
    gaps = [line for line in outcome.diagnostics if line.split(" ", 1)[-1].startswith("+ seq ")]
    if gaps:
        figures["gaps detected by seq and recovered"] = len(gaps)
    figures |= {
        "lines in --output" if _with_output(args) else "lines printed": len(events),
        "from history": sum(e["source"] == "history" for e in events),
        "missing": missing,
        "duplicates": duplicates,
        "unknown": unknown,
        "wrong quantity": len(wrong),
        "failed backfills": sum("not read" in line for line in outcome.diagnostics),
        "client exits": " ".join(map(str, sorted(set(outcome.codes)))),
    }
    figures |= _repeats(args, outcome)
    if args.stdout_only:
        figures["duplicates"] = f"{duplicates} (allowed: the bursts being written when killed)"
        duplicates = 0
    for kind, id_, order_id in sorted(sent - set(got))[:10]:
        print(f"missing {kind} {id_} (order {order_id}): {venue.describe(order_id)}", file=sys.stderr)
    ok = missing == duplicates == unknown == len(wrong) == 0 and stats.drops >= args.min_drops
    ok = ok and venue.sound(args, outcome.diagnostics)
    codes = outcome.codes
    ok = ok and set(codes) <= {143, -signal.SIGKILL} and codes[-1] == 143  # stopped by us, none failed
    return figures, ok


def _repeats(args: argparse.Namespace, outcome: Outcome) -> dict[str, object]:
    """With ``--output``: the stdout lines, and how many of them stdout repeated."""
    if not _with_output(args):
        return {}
    stdout_keys = Counter(_key(json.loads(line)) for line in outcome.lines)
    return {
        "stdout lines": len(outcome.lines),
        "stdout repeats": sum(n - 1 for n in stdout_keys.values() if n > 1),
    }


def _start(
    command: list[str], env: dict[str, str], lines: list[str], diagnostics: list[str]
) -> tuple[subprocess.Popen[str], list[threading.Thread]]:
    """Start the client; its stdout lines and stderr lines are added to `lines` and `diagnostics`."""
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stdout, stderr = client.stdout, client.stderr
    assert stdout is not None
    assert stderr is not None
    readers = [
        # A line cut by kill -9 in the middle of a write was never whole on stdout: not counted.
        threading.Thread(target=lambda: lines.extend(line for line in stdout if line.endswith("\n")), daemon=True),
        threading.Thread(target=lambda: diagnostics.extend(stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    return client, readers


def _wait_for_a_word(diagnostics: list[str], said: int, limit: float = 10.0) -> None:
    """Wait until a client just started has written to stderr (connected, or read history): a stop
    before that would find the interpreter still starting, with Python's default SIGTERM action."""
    deadline = time.monotonic() + limit
    while len(diagnostics) <= said and time.monotonic() < deadline:
        time.sleep(0.05)


def _stop(client: subprocess.Popen[str], readers: list[threading.Thread], signum: int = signal.SIGTERM) -> int:
    """Stop the client as a service manager does (SIGTERM; or SIGKILL); its exit code once its output is read."""
    client.send_signal(signum)
    code = client.wait(30)
    for reader in readers:
        reader.join(5)
    return code


def _lines_of(path: Path) -> list[str]:
    """The whole lines of the file at `path` (none yet if there is no file)."""
    try:
        data = path.read_text()
    except FileNotFoundError:
        return []
    return data.splitlines()[: data.count("\n")]


def _key(event: dict[str, str]) -> Key:
    return (event["kind"], event["id"], event["order_id"])


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(main())
