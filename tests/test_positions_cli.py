"""Starting positions: with Kalshi the position column is true from the first line (GET /portfolio/positions)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from fillwatch.net.http import RestClient
from fillwatch.net.positions import MAX_PAGES, read_positions
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(60)


def fill_frame(market: str, *, qty: str, price: str, outcome: str = "yes") -> str:
    """A `fill` message (AsyncAPI, kalshi-sdk 22.4.0 `fill` payload) without `post_position_fp`."""
    msg = {"trade_id": f"t-{market}", "order_id": "o1", "market_ticker": market, "is_taker": False,
           "side": outcome, "action": "buy", "outcome_side": outcome, "book_side": "bid" if outcome == "yes" else "ask",
           "yes_price_dollars": price, "count_fp": qty, "fee_cost": "0.01", "ts_ms": 1_790_000_000_000}  # fmt: skip
    return orjson.dumps({"type": "fill", "sid": 1, "msg": msg}).decode()


def test_parse_positions_reads_signed_yes_equivalent_counts() -> None:
    """OpenAPI `GetPositionsResponse` (kalshi-sdk 22.4.0): position_fp is + for YES, − for NO; bad rows are left out."""
    body = orjson.dumps(
        {
            "market_positions": [
                {"ticker": "KXA", "position_fp": "40.00"},
                {"ticker": "KXB", "position_fp": "-15.50"},
                {"ticker": "KXC", "position_fp": "lots"},
                {"position_fp": "1.00"},
                {"ticker": "KXD", "position_fp": "NaN"},
            ],
            "event_positions": [],
            "cursor": "",
        }
    )
    assert Kalshi.parse_positions(body) == ([("KXA", Decimal(40)), ("KXB", Decimal("-15.50"))], None)


def test_the_summary_starts_from_the_accounts_positions(kalshi_sim, key_file: Path) -> None:
    """Held +40 KXA and −15 KXB before the run; buying 3 KXA: the summary says +43 and −15, not +3."""
    sim: KalshiSim = kalshi_sim(Script(frames=[fill_frame("KXA", qty="3.00", price="0.4000")], rate=50))
    sim.positions = {"KXA": Decimal(40), "KXB": Decimal(-15)}
    args = ["kalshi", "--ws-url", sim.url, "--api-url", sim.api_url, "--key-id", sim.key_id]
    result = fillwatch([*args, "--private-key", str(key_file), "-f", "lines", "--duration", "2"])
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stderr.splitlines() if line.startswith("KX")}
    assert rows["KXA"][0] == "+43"
    assert rows["KXB"][0] == "-15"
    assert any(path.endswith("/portfolio/positions") for path, _ in sim.stats.rest_requests)
    assert re.search(r"^total +0\.00 +0\.01 +1 +0$", result.stderr, re.MULTILINE)


async def test_positions_that_never_end_are_not_read_at_all(venue_key) -> None:
    """A venue that hands out a next cursor on every page: no starting positions (as a failed read), not a part."""
    requests: list[str | None] = []

    async def endless(request: HttpRequest) -> HttpResponse:
        requests.append(request.query.get("cursor"))
        page = {"market_positions": [{"ticker": f"KX{len(requests)}", "position_fp": "1.00"}], "cursor": "more"}
        return json_response(200, page)

    async with HttpServer(endless) as server, RestClient() as client:
        found = await read_positions(Kalshi("k", venue_key, api_url=server.url), client)
    assert found is None
    assert len(requests) == MAX_PAGES
