"""The simulated Novig v3 subaccount's order flow, checked as pure state, and the simulator run on its own.

Sources (``Semionsr/novig-v3-kit``, ``fixtures/docs/``): api_streaming_private.md ("Events": one
batch, one ``seq``, an order's fills before its ``open``/``cancel``/``reject``; ``remaining: 0``
means ``FILLED``); api_concepts_order-lifecycle.md (statuses, ``IOC``/``FOK``/``PO`` endings);
openapi ``#/components/schemas/Fill`` (``cost`` = qty × price × 1¢) and ``Order``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fillwatch.sim.novig_v3_feed import NovigV3Feed

ENDS = {"cancel", "reject"}


def feed(seed: int = 3) -> NovigV3Feed:
    clock = count(1_757_894_400_000, 7)
    return NovigV3Feed(seed=seed, clock_ms=lambda: next(clock))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_steps_keep_the_documented_invariants(seed: int) -> None:
    """Over 500 random steps: seq contiguous, fills before an order's open/cancel/reject, remaining falling."""
    flow = feed(seed)
    for _ in range(500):
        flow.step(golive_every=25)
    seqs = [b.seq for b in flow.batches if b.seq is not None]
    assert seqs == list(range(1, flow.seq + 1))
    last: dict[str, int] = {}
    for batch in flow.batches:
        done: set[str] = set()
        for event in batch.events:
            order = event["orderId"]
            assert order not in done, "an order's fill after its open/cancel/reject in one batch"
            if event["kind"] == "fill":
                assert event["remaining"] < last.get(order, flow.orders[order].qty)
                last[order] = event["remaining"]
            else:
                done.add(order)
    assert {o.status for o in flow.orders.values()} <= {"OPEN", "FILLED", "CANCELED", "REJECTED"}
    for order in flow.orders.values():
        filled = sum(f["qty"] for f in flow.fills if f["orderId"] == order.order_id)
        assert order.qty - order.remaining == filled
        assert (order.status == "FILLED") is (order.remaining == 0)
    assert any(reason == "GO_LIVE" for _, reason in flow.cancels)


def test_rest_fills_match_the_stream_fills_one_to_one() -> None:
    """Each stream ``fill`` has one REST ``Fill``: same order, qty, price = 100 × cost / qty, batch ts."""
    flow = feed()
    for _ in range(300):
        flow.step()
    stream = [(b.ts, e) for b in flow.batches for e in b.events if e["kind"] == "fill"]
    assert len(stream) == len(flow.fills)
    for (ts, event), item in zip(stream, flow.fills, strict=True):
        assert (item["orderId"], item["outcomeId"], item["qty"], item["ts"]) == (
            event["orderId"],
            event["outcomeId"],
            event["qty"],
            ts,
        )
        assert Decimal(item["cost"]) * 100 / item["qty"] == Decimal(event["price"])


@pytest.mark.parametrize(
    ("tif", "fills", "kinds", "status"),
    [
        ("GTC", (), ["open"], "OPEN"),
        ("GTC", (100,), ["fill"], "FILLED"),
        ("IOC", (30,), ["fill", "cancel"], "CANCELED"),
        ("IOC", (), ["reject"], "REJECTED"),
        ("FOK", (30,), ["reject"], "REJECTED"),
        ("PO", (10,), ["reject"], "REJECTED"),
        ("GTT", (), ["open"], "OPEN"),
    ],
)
def test_an_order_ends_as_the_order_lifecycle_page_says(
    tif: str, fills: tuple[int, ...], kinds: list[str], status: str
) -> None:
    """Partly filled ``IOC``: cancel; unfilled ``IOC``/``FOK``/``PO``: reject (api_concepts_order-lifecycle.md)."""
    flow = feed()
    batch = flow.place(qty=100, tif=tif, fills=fills)
    assert [e["kind"] for e in batch.events] == kinds
    order = flow.orders[batch.events[0]["orderId"]]
    assert order.status == status
    assert ("expiresAt" in batch.events[-1]) is (tif == "GTT")


def test_the_simulator_runs_standalone_and_writes_its_key(tmp_path: Path) -> None:
    """``python -m fillwatch.sim.novig_v3 --key-out K`` prints its URLs and key id and writes a PKCS#8 key."""
    key = tmp_path / "novig.pem"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "fillwatch.sim.novig_v3", "--key-out", str(key), "--rate", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().split() for _ in range(3)]
        finally:
            proc.terminate()
    assert [line[0] for line in lines] == ["ws_url", "api_url", "key_id"]
    assert lines[0][1].endswith("/v3/ws")
    assert key.stat().st_mode & 0o777 == 0o600
    assert serialization.load_pem_private_key(key.read_bytes(), None) is not None
