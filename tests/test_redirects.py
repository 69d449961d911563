"""Credentials never follow a redirect: the upgrade, REST and the token endpoint (CONTRACT §5).

Every "other host" here is a loopback HTTP server that records what reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.core.events import Connected, Disconnected, Fill, Item
from fillwatch.net.http import Redirected, RestClient
from fillwatch.net.stream import StreamOptions, watch
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer
from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.thread import SimThread
from fillwatch.venues.base import Request
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(30)


def tiny_delays() -> Iterator[float]:
    return itertools.repeat(0.01)


class OtherHost(HttpServer):
    """The host a redirect points to: it records every request and answers 404."""

    def __init__(self) -> None:
        super().__init__(self._record)
        self.received: list[HttpRequest] = []

    async def _record(self, request: HttpRequest) -> HttpResponse:
        self.received.append(request)
        return HttpResponse(404)


def redirector(location: str) -> HttpServer:
    """A server that answers everything with ``302 Found`` to `location`."""

    async def answer(request: HttpRequest) -> HttpResponse:
        return HttpResponse(302, headers={"Location": location})

    return HttpServer(answer)


class FrontDoor:
    """A TCP front for the simulator: passes connections through, or answers them with a redirect."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.redirect_to: str | None = None
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FrontDoor:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/trade-api/ws/v2"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.redirect_to is not None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"HTTP/1.1 302 Found\r\nLocation: {self.redirect_to}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


async def test_a_redirected_upgrade_is_a_configuration_error_and_no_header_reaches_the_other_host(
    venue_key: rsa.RSAPrivateKey,
) -> None:
    """A 302 on the first upgrade is ConfigError naming the target; the other host sees no request at all."""
    async with OtherHost() as other:
        target = other.url.replace("http://", "ws://") + "/trade-api/ws/v2"
        async with redirector(target + "?token=leak") as front:
            stream = watch(Kalshi("key-1", venue_key), StreamOptions(url=front.url.replace("http", "ws")))
            with pytest.raises(ConfigError, match=f"redirect to {target},") as raised:
                async with contextlib.aclosing(stream):
                    await anext(stream)
    assert other.received == []
    assert "leak" not in str(raised.value)


async def test_a_redirect_mid_session_is_reported_and_retried(venue_key: rsa.RSAPrivateKey) -> None:
    """After a confirmed subscription, a redirected upgrade is a Disconnected naming the target, then retried."""
    async with OtherHost() as other, KalshiSim(Script(rate=100, seed=3, drop_after=3, drops=1), key=venue_key) as sim:
        target = other.url.replace("http://", "ws://") + "/elsewhere"
        async with FrontDoor(port_of(sim.url)) as front:
            items: list[Item] = []
            stream = watch(Kalshi(sim.key_id, venue_key), StreamOptions(url=front.url), delays=tiny_delays)
            async with contextlib.aclosing(stream):
                async for item in stream:
                    items.append(item)
                    if isinstance(item, Disconnected):
                        redirected = [i for i in items if isinstance(i, Disconnected) and "redirect" in i.reason]
                        front.redirect_to = None if len(redirected) >= 2 else target
                    if sum(isinstance(i, Connected) for i in items) == 2:
                        break
    reasons = [i.reason for i in items if isinstance(i, Disconnected)]
    assert sum(f"redirect to {target}," in reason for reason in reasons) == 2
    assert any(isinstance(i, Fill) for i in items)
    assert other.received == []


async def test_a_redirected_rest_call_names_its_target_and_is_not_followed() -> None:
    """A signed REST call answered with 302 raises Redirected with the target; nothing reaches the other host."""
    async with OtherHost() as other, redirector(other.url + "/portfolio/fills?x=1") as front:
        request = Request(method="GET", url=front.url + "/portfolio/fills", headers={"KALSHI-ACCESS-KEY": "k"})
        async with RestClient(delays=tiny_delays) as rest:
            with pytest.raises(Redirected, match=f"redirect to {other.url}/portfolio/fills,"):
                await rest.send(lambda: request)
    assert other.received == []


def test_a_redirected_token_endpoint_exits_2_naming_the_target() -> None:
    """``novig`` whose token endpoint redirects: exit 2, one line naming the target, the secret sent nowhere else."""
    with SimThread(OtherHost()) as other, SimThread(redirector(other.url + "/oauth/token")) as front:
        url = front.url
        result = fillwatch(
            ["novig", "--ws-url", "ws://127.0.0.1:9/ws", "--api-url", url, "--token-url", url + "/oauth/token"],
            env={"NOVIG_CLIENT_ID": "id", "NOVIG_CLIENT_SECRET": "s3cret"},
        )
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert f"redirect to {other.url}/oauth/token," in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret" not in result.stderr
    assert other.received == []
