"""A run owns one REST client: a Novig run's tokens, warm-up and history all go over it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from fillwatch.cli.app import app
from fillwatch.net.http import RestClient
from fillwatch.sim.novig import NovigSim, Script
from fillwatch.sim.thread import SimThread
from fillwatch.venues.base import Request

pytestmark = pytest.mark.timeout(30)


def test_a_novig_run_makes_all_its_rest_calls_over_one_client(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """`fillwatch novig --since` against the simulator builds one RestClient, and sends every request through it."""
    made: list[RestClient] = []
    senders: set[int] = set()
    init, send = RestClient.__init__, RestClient.send

    def counted_init(self: RestClient, **kwargs: Any) -> None:
        made.append(self)
        init(self, **kwargs)

    async def counted_send(self: RestClient, make: Callable[[], Request]) -> bytes:
        senders.add(id(self))
        return await send(self, make)

    monkeypatch.setattr(RestClient, "__init__", counted_init)
    monkeypatch.setattr(RestClient, "send", counted_send)
    venue = NovigSim(Script(rate=100, seed=3))
    for _ in range(200):  # fills made before the run: history to read
        venue.feed.next_event()
    with SimThread(venue) as sim:
        urls = ["--ws-url", sim.url, "--api-url", sim.api_url, "--token-url", sim.token_url]
        env = {"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret}
        args = ["novig", *urls, "-f", "jsonl", "--since", "1h", "--max-events", "3"]
        result = CliRunner().invoke(app, args, env=env)
    capfd.readouterr()  # the event lines went to fd 1
    assert result.exit_code == 0, result.output
    paths = {path for _, path, _ in sim.stats.rest}
    assert sim.stats.tokens_issued >= 1
    assert {"/nbx/v2/emm/orders/all", "/nbx/v2/emm/fills/all"} <= paths, paths
    assert len(made) == 1
    assert senders == {id(made[0])}
