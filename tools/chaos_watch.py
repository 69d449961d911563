"""The chaos run over several accounts at once (``python -m tools.chaos --accounts N``): see ``tools/chaos.py``.

One ``fillwatch watch`` process watches N simulated accounts, in the order Kalshi, Kalshi,
Novig v3, Kalshi, Kalshi, Novig v3, … (profiles ``kalshi-1``, ``kalshi-2``, ``novig-1``, …
of a throwaway config file, group ``chaos``), always with ``--state DIR`` (one checkpoint
per account) and ``--output FILE`` (one file for every account), which is what is checked.
Every venue trades at ``--rate`` on its own clock and drops the connection after a random
3–25 events on every connection; the Novig v3 venues also drop ``orders`` batches on live
connections, to be found by their ``seq``. The Kalshi accounts share a seed: they make the
same trade and order ids, so a de-duplication that forgot the account would lose events.
``--restarts`` and ``--kill9`` stop and start the one watch process, as for one account.

Each account's lines in ``--output`` (those with its ``"account"``) are compared with its
own venue's events: 0 missing, 0 duplicates, 0 unknown, 0 wrong quantities per account,
every account dropped at least once and ``--min-drops`` drops in all; a per-account table
is printed, and the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fillwatch.sim.thread import SimThread
from tools import chaos
from tools.chaos_v3 import NovigV3

__all__ = ["ROWS", "Account", "accounts", "main"]

ROWS = ("venue", "events", "drops", "conns", "seq gaps", "lines", "history", "missing", "dups", "unknown", "wrong qty")
"""The columns of the per-account table (``seq gaps``: Novig v3 batches dropped / gaps the client reported)."""


@dataclass
class Account:
    """One simulated account of the run: its profile name and its venue."""

    name: str
    venue: chaos.Venue

    @property
    def venue_name(self) -> str:
        return "novig-v3" if isinstance(self.venue, NovigV3) else "kalshi"


def accounts(args: argparse.Namespace) -> list[Account]:
    """``--accounts`` accounts: Kalshi, Kalshi, Novig v3, and again; the Kalshi ones on one seed."""
    found: list[Account] = []
    counts: Counter[str] = Counter()
    for number in range(args.accounts):
        kind = "novig" if number % 3 == 2 else "kalshi"
        counts[kind] += 1
        if kind == "kalshi":
            venue: chaos.Venue = chaos.Kalshi(args)
        else:
            venue = NovigV3(argparse.Namespace(**{**vars(args), "seed": args.seed + 100 * counts[kind]}))
        found.append(Account(f"{kind}-{counts[kind]}", venue))
    return found


def main(args: argparse.Namespace) -> int:
    """Run, judge and print; 0 when every account passed."""
    members = accounts(args)
    outcome = _run(args, members)
    rows = {member.name: _row(member, outcome) for member in members}
    print(_table(rows))
    drops = sum(member.venue.sim.stats.drops for member in members)
    print(f"\nseconds {outcome.elapsed:.1f}, restarts {args.restarts}, kill -9 {args.kill9}, drops in all {drops}")
    print(f"stdout lines {len(outcome.lines)}, watch exits {' '.join(map(str, outcome.codes))}")
    for member in members:
        _tell_missing(member, outcome)
    faults = _faults(args, members, rows, outcome.codes)
    print("PASS" if not faults else "FAIL: " + "; ".join(faults))
    return 1 if faults else 0


def _faults(
    args: argparse.Namespace, members: list[Account], rows: dict[str, dict[str, object]], codes: list[int]
) -> list[str]:
    """Why the run failed (nothing: it passed)."""
    faults = [
        f"{name}: {row[column]} {column}"
        for name, row in rows.items()
        for column in ("missing", "dups", "unknown", "wrong qty")
        if row[column] != 0
    ]
    faults += [f"{m.name}: no drop" for m in members if m.venue.sim.stats.drops == 0]
    drops = sum(member.venue.sim.stats.drops for member in members)
    if drops < args.min_drops:
        faults.append(f"{drops} drops in all, fewer than --min-drops {args.min_drops}")
    if not set(codes) <= {143, -signal.SIGKILL} or codes[-1] != 143:  # stopped by us, none failed
        faults.append(f"watch exits {codes}: not only ours (143 for SIGTERM, -9 for kill -9)")
    return faults


def _run(args: argparse.Namespace, members: list[Account]) -> chaos.Outcome:
    """Trade for ``--seconds`` with the watch running (stopped and started as asked), then let it catch up."""
    rng = random.Random(args.seed)
    outcome = chaos.Outcome()
    lines, diagnostics = outcome.lines, outcome.diagnostics
    with ExitStack() as stack:
        for member in members:
            stack.enter_context(SimThread(member.venue.sim))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        config = stack.enter_context(_config(scratch, members))
        output = scratch / "chaos.jsonl"
        command = [sys.executable, "-m", "fillwatch", "watch", "--config", str(config), "-g", "chaos", "-f", "jsonl"]
        command += ["--state", str(scratch / "state"), "--output", str(output)]
        client, readers = chaos._start(command, dict(os.environ), lines, diagnostics)
        started = time.monotonic()
        signals = [signal.SIGTERM] * args.restarts + [signal.SIGKILL] * args.kill9
        rng.shuffle(signals)
        said = 0
        for at, signum in zip(sorted(rng.uniform(0.1, 0.9) * args.seconds for _ in signals), signals, strict=True):
            time.sleep(max(0.0, started + at - time.monotonic()))
            chaos._wait_for_a_word(diagnostics, said)
            outcome.codes.append(chaos._stop(client, readers, signum))
            time.sleep(rng.uniform(*chaos.PAUSE_BETWEEN))  # the venues trade on: only REST history has it
            said = len(diagnostics)
            client, readers = chaos._start(command, dict(os.environ), lines, diagnostics)
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        for member in members:
            member.venue.sim.script.limit = member.venue.sim.stats.events  # every venue stops trading
        _catch_up(members, output)
        time.sleep(1.0)  # room for a late duplicate to show
        outcome.codes.append(chaos._stop(client, readers))
        outcome.elapsed = time.monotonic() - started
        outcome.written = chaos._lines_of(output)
    return outcome


@contextmanager
def _config(scratch: Path, members: list[Account]) -> Iterator[Path]:
    """A config file with one profile per account (from its venue's command line) and the group ``chaos``."""
    with ExitStack() as stack:
        text = []
        for member in members:
            arguments, env = stack.enter_context(member.venue.client())
            assert not env, "a profile names its own credentials"
            text.append(_profile(member.name, arguments))
        names = ", ".join(f'"{member.name}"' for member in members)
        path = scratch / "chaos.toml"
        path.write_text("".join(text) + f"[groups]\nchaos = [{names}]\n")
        path.chmod(0o600)
        yield path


def _profile(name: str, arguments: list[str]) -> str:
    """``[profiles.NAME]`` from a venue command line (``kalshi --ws-url U --key-id K …``)."""
    venue, *options = arguments
    pairs = [f"{flag.removeprefix('--').replace('-', '_')} = {json.dumps(value)}" for flag, value in _pairs(options)]
    return f'[profiles.{name}]\nvenue = "{venue}"\n' + "".join(f"{pair}\n" for pair in pairs)


def _pairs(options: list[str]) -> Iterator[tuple[str, str]]:
    flags, values = options[::2], options[1::2]
    assert all(flag.startswith("--") for flag in flags), options
    return zip(flags, values, strict=True)


def _mine(member: Account, written: list[str]) -> list[dict[str, Any]]:
    """The account's lines (by their ``account`` key)."""
    events = [json.loads(line) for line in written]
    return [event for event in events if event.get("account") == member.name]


def _catch_up(members: list[Account], output: Path, limit: float = 30.0) -> None:
    """Wait (up to `limit` seconds) until every account's events are in ``--output``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        written = chaos._lines_of(output)
        if all(set(m.venue.required()) <= {chaos._key(e) for e in _mine(m, written)} for m in members):
            return
        time.sleep(0.2)


def _row(member: Account, outcome: chaos.Outcome) -> dict[str, object]:
    """One account's figures."""
    venue, events = member.venue, _mine(member, outcome.written)
    got = Counter(chaos._key(e) for e in events)
    sent, allowed, quantities = set(venue.required()), venue.allowed(), venue.quantities()
    gaps = [line for line in outcome.diagnostics if member.name in line and "+ seq " in line]
    seq_gaps = f"{len(venue.sim.stats.dropped_seqs)}/{len(gaps)}" if isinstance(venue, NovigV3) else "–"
    return {
        "venue": member.venue_name,
        "events": len(sent),
        "drops": venue.sim.stats.drops,
        "conns": venue.sim.stats.connections,
        "seq gaps": seq_gaps,
        "lines": len(events),
        "history": sum(e["source"] == "history" for e in events),
        "missing": len(sent - set(got)),
        "dups": sum(n - 1 for n in got.values() if n > 1),
        "unknown": len(set(got) - sent - allowed),
        "wrong qty": sum(quantities.get(chaos._key(e), e["qty"]) != e["qty"] for e in events),
    }


def _table(rows: dict[str, dict[str, object]]) -> str:
    """The per-account figures as a markdown table."""
    header = ["account", *ROWS]
    body = [[name, *(str(row[column]) for column in ROWS)] for name, row in rows.items()]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in body])


def _tell_missing(member: Account, outcome: chaos.Outcome) -> None:
    """The first missing events of an account, with what its venue knows of them, on stderr."""
    printed = {chaos._key(e) for e in _mine(member, outcome.written)}
    for kind, id_, order_id in sorted(set(member.venue.required()) - printed)[:10]:
        print(
            f"{member.name}: missing {kind} {id_} (order {order_id}): {member.venue.describe(order_id)}",
            file=sys.stderr,
        )
