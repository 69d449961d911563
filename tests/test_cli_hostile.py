"""Poison frames and poison history rows among good ones, run as a user runs fillwatch (CONTRACT §5).

The good messages are the venues' documented examples with fresh ids and times:
Kalshi's ``fill`` and ``user_order`` (protocols/kalshi.md §4.3–§4.4, the cases of
tests/data/kalshi/events.json) and its REST fill captured live (protocols/kalshi.md
§9); Novig's ``fills/all`` rows (protocols/novig.md §6.1: the fees page's row,
which has no ``orderId``, and the WebSocket fill's fields).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from fillwatch.core.errors import ExitCode
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.kalshi import Script
from fillwatch.sim.novig import NovigSim
from fillwatch.sim.novig import Script as NovigScript
from fillwatch.sim.thread import SimThread
from tests.conftest import fillwatch, kalshi_args
from tests.venues.test_hostile import KALSHI_CASES, KALSHI_FILL, KALSHI_REST_FILL, NOVIG_FEES_ROW, NOVIG_FILL

pytestmark = pytest.mark.timeout(60)


def now_ms(ago_s: float = 0) -> int:
    return int((time.time() - ago_s) * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def live_fill(trade_id: str, **changes: Any) -> str:
    frame = copy.deepcopy(KALSHI_FILL)
    frame["msg"].update({"trade_id": trade_id, "ts": now_ms() // 1000, "ts_ms": now_ms(), **changes})
    return json.dumps(frame)


def live_cancel(order_id: str) -> str:
    frame = copy.deepcopy(next(c["frame"] for c in KALSHI_CASES if c["name"].startswith("canceled order")))
    frame["msg"].update(order_id=order_id, last_updated_ts_ms=now_ms())
    return json.dumps(frame)


def rest_fill(trade_id: str, ago_s: float, **changes: Any) -> dict[str, Any]:
    """A REST fill row, with the ``ts_ms`` the simulator pages on (it is not sent)."""
    ms = now_ms(ago_s)
    return {**KALSHI_REST_FILL, "trade_id": trade_id, "fill_id": trade_id, "created_time": iso(ms), **changes} | {
        "ts": ms // 1000,
        "ts_ms": ms,
    }


def ids_of(stdout: str) -> list[tuple[str, str]]:
    return [(e["id"], e["source"]) for e in map(json.loads, stdout.splitlines())]


def test_kalshi_poison_frames_and_rows_are_skipped_the_good_ones_printed(kalshi_sim, key_file: Path) -> None:
    """History with poison rows, then a stream with poison frames: every good event printed, exit 0,
    each poison one counted and reported on stderr."""
    frames = [
        live_fill("live-1"),
        live_fill("poison-time", ts_ms=10**18),
        live_fill("poison-snan", yes_price_dollars="sNaN"),
        json.dumps({**KALSHI_FILL, "type": ["fill"]}),
        live_fill("live-2"),
        live_fill("poison-huge", count_fp="1e100000000"),
        live_fill("poison-price", yes_price_dollars="1.5"),
        live_cancel("live-cancel"),
    ]
    sim = kalshi_sim(Script(rate=50, frames=frames))
    sim.feed.rest_fills.extend(
        [
            rest_fill("hist-1", 120),
            rest_fill("poison-row-time", 110, created_time="9999-12-31T23:59:59-01:00"),
            rest_fill("poison-row-nan", 100, count_fp="NaN"),
            rest_fill("hist-2", 90),
        ]
    )
    result = fillwatch(kalshi_args(sim, key_file, "--api-url", sim.api_url, "--since", "1h", "--max-events", "5"))
    assert result.returncode == 0, result.stderr
    printed = ids_of(result.stdout)
    assert [i for i, source in printed if source == "history"] == ["hist-1", "hist-2"]
    assert [i for i, source in printed if source == "live"] == ["live-1", "live-2", "live-cancel"]
    assert "2 unreadable rows skipped" in result.stderr
    skips = [line for line in result.stderr.splitlines() if line.startswith("! skipped a frame")]
    assert len(skips) >= 3  # the first three are always shown, later ones rate limited
    assert "(type is not a string; 3 so far)" in skips[2]
    assert "Traceback" not in result.stderr


def test_kalshi_state_no_follow_runs_survive_a_poison_row(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """``--state --no-follow`` over a page with an unrepresentable time: each run prints the good rows
    (the second none again), reports the row it skipped, and exits 0."""
    sim = kalshi_sim(Script(limit=0))
    sim.feed.rest_fills.extend(
        [
            rest_fill("hist-1", 60),
            rest_fill("poison", 50, created_time="9999-12-31T23:59:59-01:00"),
            rest_fill("hist-2", 40),
        ]
    )
    state = tmp_path / "kalshi.state"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state), "--no-follow")
    first = fillwatch([*args, "--since", "1h"])
    assert first.returncode == 0, first.stderr
    assert ids_of(first.stdout) == [("hist-1", "history"), ("hist-2", "history")]
    assert "1 unreadable row skipped" in first.stderr
    second = fillwatch(args)
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""
    assert "1 unreadable row skipped" in second.stderr
    assert sim.stats.upgrades == 0


class Rest:
    """A loopback REST venue that answers each history path with a fixed body."""

    def __init__(self, bodies: dict[str, Any]) -> None:
        self.bodies = bodies
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = HttpServer(self._answer)

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        self.requests.append((request.path, request.query))
        body = self.bodies.get(request.path)
        if body is None:
            return json_response(404, {"message": "Not Found"})
        body = body(request.query) if callable(body) else body
        return HttpResponse(200, orjson.dumps(body), {"Content-Type": "application/json"})

    async def __aenter__(self) -> Rest:
        await self.server.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.server.__aexit__(*exc_info)


@pytest.fixture
def rest() -> Iterator[Any]:
    running: list[SimThread[Rest]] = []

    def start(bodies: dict[str, Any]) -> Rest:
        thread = SimThread(Rest(bodies))
        running.append(thread)
        return thread.__enter__()

    yield start
    for thread in running:
        thread.__exit__(None, None, None)


@pytest.mark.parametrize("body", [[], {"fills": 5}], ids=["array", "number"])
def test_kalshi_history_body_of_the_wrong_shape_is_reported_not_exit_1(rest, key_file: Path, body: Any) -> None:
    """With ``--no-follow``, a fills page that is ``[]`` or ``{"fills": 5}`` is a history that could not
    be read: one line and the connection exit code (4), never exit 1."""
    venue = rest({"/trade-api/v2/portfolio/fills": body, "/trade-api/v2/portfolio/orders": {"orders": []}})
    api = venue.server.url + "/trade-api/v2"
    result = fillwatch(
        ["kalshi", "--api-url", api, "--key-id", "k", "--private-key", str(key_file), "--since", "1h", "--no-follow"]
    )
    assert result.returncode == ExitCode.CONNECTION, result.stderr
    assert result.stdout == ""
    assert "could not read the history" in result.stderr
    assert "not a page of fills" in result.stderr
    assert "Traceback" not in result.stderr


def test_novig_fills_row_without_order_id_is_skipped_the_others_printed(rest) -> None:
    """``fills/all`` with the fees page's row (no ``orderId``) among good rows: the good fills printed,
    the row counted on stderr, exit 0 (issue 12 item 8: it was exit 1, "unexpected KeyError")."""
    ms = now_ms(30)
    good = [
        {**NOVIG_FILL["data"], "id": f"fill-{i}", "createdAt": iso(ms + i * 1000), "fee": "1.4274"} for i in range(2)
    ]
    cash = [good[1], dict(NOVIG_FEES_ROW), good[0]]  # newest first
    venue = rest(
        {
            "/nbx/v2/emm/fills/all": lambda query: cash if query.get("currency") == "CASH" else [],
            "/nbx/v2/emm/orders/all": [],
        }
    )
    api = venue.server.url + "/nbx/v2"
    result = fillwatch(["novig", "--api-url", api, "--token", "t0k", "--since", "1h", "--no-follow", "-f", "jsonl"])
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["id"], e["currency"], e["fee"]) for e in lines] == [(f"fill-{i}", "CASH", 0.014274) for i in (0, 1)]
    assert "1 unreadable row skipped" in result.stderr
    assert "Traceback" not in result.stderr


def test_kalshi_history_body_of_the_wrong_shape_is_retried_while_the_stream_goes_on(
    kalshi_sim, rest, key_file: Path
) -> None:
    """Following live, a fills page that is not a page is reported as a backfill to retry, and the
    live events are printed: exit 0."""
    sim = kalshi_sim(Script(rate=4, frames=[live_fill("live-1"), live_fill("live-2")]))  # the failure comes first
    venue = rest({"/trade-api/v2/portfolio/fills": {"fills": 5}, "/trade-api/v2/portfolio/orders": {"orders": []}})
    api = venue.server.url + "/trade-api/v2"
    result = fillwatch(kalshi_args(sim, key_file, "--api-url", api, "--since", "1h", "--max-events", "2"))
    assert result.returncode == 0, result.stderr
    assert ids_of(result.stdout) == [("live-1", "live"), ("live-2", "live")]
    assert "not read (kalshi fills history: not a page of fills); will retry" in result.stderr


def novig_fill(fill_id: str, **changes: Any) -> str:
    data = {**NOVIG_FILL["data"], "id": fill_id, "createdAt": iso(now_ms()), **changes}
    return json.dumps({"event": "fill", "data": data})


def test_novig_poison_frames_are_skipped_the_good_ones_printed() -> None:
    """Novig fills with a NaN price, a quantity of 2**64 or an unrepresentable time among good ones:
    the good ones printed, each poison one reported on stderr, exit 0."""
    frames = [
        novig_fill("good-1"),
        novig_fill("poison-nan", price="NaN"),
        novig_fill("poison-big", qty=2**64),
        novig_fill("poison-time", createdAt="9999-12-31T23:59:59-01:00"),
        novig_fill("good-2"),
    ]
    with SimThread(NovigSim(NovigScript(rate=50, frames=frames))) as sim:
        urls = ["--ws-url", sim.url, "--api-url", sim.api_url, "--token-url", sim.token_url]
        env = {"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret}
        result = fillwatch(["novig", *urls, "-f", "jsonl", "--max-events", "2"], env=env)
    assert result.returncode == 0, result.stderr
    assert ids_of(result.stdout) == [("good-1", "live"), ("good-2", "live")]
    skips = [line for line in result.stderr.splitlines() if line.startswith("! skipped a frame")]
    assert [re.match(r"! skipped a frame \((.*); \d+ so far\)", line)[1] for line in skips] == [
        "bad fill event (number out of range: 'NaN')",
        "bad fill event (number out of range: 1.8446744073709552e+19)",
        "bad fill event (not a timestamp: '9999-12-31T23:59:59-01:00')",
    ]
