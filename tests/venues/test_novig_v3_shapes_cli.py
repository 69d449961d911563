"""`fillwatch novig` (v3) against every open shape the simulator can switch, end to end through the CLI.

Each shape is a :class:`fillwatch.sim.novig_v3.Script` field whose docstring names the Novig page
that leaves it open (``Semionsr/novig-v3-kit``, ``fixtures/docs/``; ``protocols/novig-v3.md`` §12, §14).
One run per non-default value, plus one run with every default: each run has seq gaps, a TCP drop,
a ``GOLIVE``, a ``CLOSE`` and a server restart, so that gap recovery and reconnects meet the shape.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.sim.novig_v3 import NovigV3Sim, Script
from fillwatch.sim.novig_v3_auth import ApiKey
from fillwatch.sim.thread import SimThread
from tests.conftest import wait_until
from tests.venues.test_novig_v3_cli import _pem, lines

Row = tuple[Any, ...]


@contextmanager
def venue(tmp_path: Path, **script: Any) -> Iterator[tuple[SimThread[NovigV3Sim], list[str]]]:
    """A v3 simulator thread (a gap, a drop, GOLIVEs) and the `fillwatch novig` arguments that reach it."""
    key, key_id = Ed25519PrivateKey.generate(), str(uuid.uuid4())
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(key))
    path.chmod(0o600)
    base = {"seed": 11, "rate": 80, "limit": 60, "golive_every": 12, "heartbeat": 0.2}
    faults = {"drop_seqs": {6, 7, 33}, "drop_after": 18, "drops": 1}
    sim = NovigV3Sim(Script(**{**base, **faults, **script}), keys=[ApiKey(key_id, key.public_key())])
    thread = SimThread(sim)
    with thread as running:
        args = ["novig", "--ws-url", running.url, "--api-url", running.api_url, "--key-id", key_id]
        yield thread, [*args, "--private-key", str(path), "--format", "jsonl"]


def _close_a_market(sim: NovigV3Sim) -> None:
    """``CLOSE`` a market with resting orders (each ``MARKET_CLOSED``, or silent per ``close_cancels``)."""
    held = [m for m in sim.feed.markets if sim.feed.resting(m)]
    if held:
        sim.publish(sim.feed.transition(held[0], "CLOSE"))


def run(tmp_path: Path, **script: Any) -> tuple[NovigV3Sim, list[dict[str, Any]], str]:
    """Run the CLI over a session that closes a market and restarts the server midway; its lines and stderr."""
    with venue(tmp_path, **script) as (thread, args):
        sim = thread.sim
        cli = subprocess.Popen(
            [sys.executable, "-m", "fillwatch", *args, "--duration", "2.5s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        wait_until(lambda: sim.stats.events >= 25, what="25 batches")
        thread.call(_close_a_market, sim)
        wait_until(lambda: sim.stats.events >= 45, what="45 batches")
        thread.call(sim.restart)
        out, err = cli.communicate(timeout=30)
        assert cli.returncode == 0, err
    return sim, lines(out), err


def truth(sim: NovigV3Sim) -> list[Row]:
    """Every fill and cancel of the subaccount as the simulator recorded it, in event-line fields."""
    orders, rows = sim.feed.orders, []
    reasons = {"GO_LIVE": "went_live", "MARKET_CLOSED": "market_closed", None: None}
    for batch in sim.feed.batches:
        for event in batch.events:
            if event["kind"] == "fill":
                order = orders[event["orderId"]]
                fill_id = f"{order.order_id}:{event['remaining']}"
                rows.append(("fill", fill_id, order.market_id, order.outcome_id, order.price, event["qty"]))
    for order_id, reason in sim.feed.cancels:
        order = orders[order_id]
        rows.append(("cancel", order_id, order.market_id, order.outcome_id, order.price, reasons[reason]))
    return sorted(rows, key=repr)


def printed(events: list[dict[str, Any]], sim: NovigV3Sim) -> tuple[list[Row], list[Row]]:
    """The same fields from the printed lines; a cancel read back from REST has the simulator's reason
    blanked (the ``Order`` schema of api-reference_execution_list-orders.md carries none)."""
    rows, blank = [], {e["id"] for e in events if e["kind"] == "cancel" and e["source"] == "history"}
    for e in events:
        last = e["qty"] if e["kind"] == "fill" else e["reason"]
        rows.append((e["kind"], e["id"], e["market"], e["side"], Decimal(str(e["price"])), last))
    expected = [(*row[:5], None) if row[0] == "cancel" and row[1] in blank else row for row in truth(sim)]
    return sorted(rows, key=repr), sorted(expected, key=repr)


SHAPES = [
    pytest.param({}, id="every-default"),
    pytest.param({"error_shape": "nested"}, id="error_shape=nested"),
    pytest.param({"ack_shape": "subscribed"}, id="ack_shape=subscribed"),
    pytest.param({"snapshot_subscribed": False}, id="snapshot_subscribed=False"),
    pytest.param({"cancel_remaining": True}, id="cancel_remaining=True"),
    pytest.param({"share_frames": True}, id="share_frames=True"),
    pytest.param({"frame_ts": "send"}, id="frame_ts=send"),
    pytest.param({"close_cancels": False}, id="close_cancels=False"),
    pytest.param({"heartbeat_at_zero": False}, id="heartbeat_at_zero=False"),
    pytest.param({"orders_newest_first": False}, id="orders_newest_first=False"),
    pytest.param({"short_prices": True}, id="short_prices=True"),
    pytest.param({"restart_keeps_sockets": True}, id="restart_keeps_sockets=True"),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_fill_and_cancel_comes_out_once_under_each_open_shape(tmp_path: Path, shape: dict[str, Any]) -> None:
    """Each Script shape (its docstring names the Novig page leaving it open): every event once, right fields."""
    sim, events, err = run(tmp_path, **shape)
    got, expected = printed(events, sim)
    assert len({row[:2] for row in got}) == len(got), f"duplicates: {err}"
    assert got == expected, err
