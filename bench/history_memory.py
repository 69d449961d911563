"""How much memory a long REST history costs: the CLI's peak RSS, N history rows against none.

Usage: ``python bench/history_memory.py [--rows 1000000]``

A loopback Kalshi REST server (``GET /portfolio/fills``, newest first, row
fields as kalshi-sdk 22.4.0 openapi.yaml ``Fill``) serves `rows` fills; the
real CLI reads them with ``--since 24h --no-follow -f jsonl`` into /dev/null,
once with no rows and once with all of them. The difference between the two
peak resident sizes is what the history cost (CONTRACT §5 via issue 11: at
most 100 MB for a million rows).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.thread import SimThread


def fills_server(rows: int, now_ms: int) -> HttpServer:
    """`rows` fills, 40 ms apart back from `now_ms`, paged newest first by offset cursors."""

    async def answer(request: HttpRequest) -> HttpResponse:
        if not request.path.endswith("/portfolio/fills"):
            return json_response(200, {"orders": [], "cursor": ""})
        start = int(request.query.get("cursor") or 0)
        limit = min(int(request.query.get("limit", "100")), 1000)
        page = [_fill(n, now_ms - n * 40) for n in range(start, min(start + limit, rows))]
        cursor = str(start + limit) if start + limit < rows else ""
        return json_response(200, {"fills": page, "cursor": cursor})

    return HttpServer(answer)


def _fill(n: int, ts_ms: int) -> dict[str, object]:
    created = datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "fill_id": f"f-{n:09d}",
        "trade_id": f"t-{n:09d}",
        "order_id": f"o-{n // 3:09d}",
        "ticker": "KXBENCH-26DEC01-B50",
        "side": "yes",
        "action": "buy",
        "count_fp": "1.00",
        "yes_price_dollars": "0.5100",
        "no_price_dollars": "0.4900",
        "is_taker": n % 2 == 0,
        "fee_cost": "0.010000",
        "created_time": created,
        "ts": ts_ms // 1000,
    }


def peak_rss_mb(rows: int, key: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, lines printed) of one CLI run over `rows` history rows."""
    with SimThread(fills_server(rows, int(time.time() * 1000))) as server:
        args = [sys.executable, "-m", "fillwatch", "kalshi", "--ws-url", "ws://127.0.0.1:9/ws"]
        args += ["--api-url", server.url + "/trade-api/v2", "--key-id", "bench", "--private-key", str(key)]
        args += ["--since", "24h", "--no-follow", "-f", "jsonl"]
        began = time.monotonic()
        with tempfile.TemporaryFile() as out:
            child = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.monotonic() - began
            out.seek(0)
            lines = sum(1 for _ in out)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"the CLI failed: {child.stderr.read().decode() if child.stderr else ''}")
    return usage.ru_maxrss / 1024, seconds, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bench.pem"
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        key.write_bytes(pem)
        key.chmod(0o600)
        base, _, _ = peak_rss_mb(0, key)
        peak, seconds, lines = peak_rss_mb(options.rows, key)
    print(f"history of {options.rows} rows: {lines} lines in {seconds:.1f} s")
    print(f"peak RSS: {base:.1f} MB with no history, {peak:.1f} MB with it: growth {peak - base:.1f} MB")


if __name__ == "__main__":
    main()
