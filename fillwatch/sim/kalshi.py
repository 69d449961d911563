"""A simulated Kalshi WebSocket venue on 127.0.0.1, scriptable for tests.

It checks what the real venue checks (protocols/kalshi.md §2–§5): the path,
the three ``KALSHI-ACCESS-*`` headers, the timestamp's freshness and the
RSA-PSS signature (against the public half of the key it was given); then it
answers ``subscribe`` commands with one ``subscribed`` per channel, sends a
``heartbeat`` ping every 10 s, and streams fills and cancels from a
:class:`~fillwatch.sim.feed.KalshiFeed` at ``rate`` events per second.

A :class:`Script` makes it misbehave on purpose: answer upgrades with an HTTP
error, drop the TCP connection or go silent after N events, slip garbage
frames in between, or send a fixed list of frames instead of the feed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from fillwatch.sim.faults import ConnectionStats, Faults
from fillwatch.sim.feed import TITLES, KalshiFeed, Schema
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response

__all__ = ["GARBAGE", "KalshiSim", "Script"]

WS_PATH = "/trade-api/ws/v2"
API_PREFIX = "/trade-api/v2"
MAX_SKEW_MS = 30_000
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)

GARBAGE: tuple[str | bytes, ...] = (
    "{not json",
    b"\x00\x01binary",
    '{"type":"fill","sid":1,"msg":{"order_id":"x","market_ticker":"M"}}',  # no trade_id
    "[1, 2, 3]",
    '{"type":"fill","sid":1,"msg":{"trade_id":"t","order_id":"o","market_ticker":"M",'
    '"side":"maybe","yes_price_dollars":"0.5","count_fp":"1.00","ts_ms":1}}',
)


@dataclass
class Script:
    """How the simulator behaves. The defaults make a well-behaved venue."""

    rate: float = 2.0
    """Events per second; 0 sends as fast as the connection takes them."""
    limit: int | None = None
    """Events to send over the server's life; then only heartbeats."""
    schema: Schema = "mixed"
    seed: int | None = None
    frames: Sequence[str | bytes] | None = None
    """Send these frames (once, over the server's life) instead of the feed."""
    reject: int = 0
    """Answer this many upgrades with `reject_status` before accepting (-1: all)."""
    reject_status: int = 401
    drop_after: int | None = None
    """On each connection, drop TCP (no close frame) after this many events..."""
    drops: int | None = None
    """...this many times in all (None: on every connection)."""
    silent_after: int | None = None
    """On each connection, send nothing at all after this many events."""
    garbage_every: int | None = None
    """Slip a malformed frame in after every N events."""
    subscribe_error: int | None = None
    """Answer every subscribe command with this error code (9: authentication required)."""
    error_after: tuple[int, int] | None = None
    """(N, code): after N events on the first connection, send Kalshi error `code` (once)."""
    drop_between: tuple[int, int] | None = None
    """On each connection, drop TCP after a random number of events in this range (chaos)."""
    rest_failures: int = 0
    """Answer this many REST requests with HTTP 503 before serving them."""
    rest_rate_limit_every: int | None = None
    """Answer every Nth REST request with HTTP 429 and no headers, as Kalshi does."""
    heartbeat: float = 10.0


@dataclass
class Stats(ConnectionStats):
    """What the simulator saw and did, for tests and the demo."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    rest_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class KalshiSim:
    """The simulated venue. Use as ``async with KalshiSim(script) as sim: sim.url``."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str = "fillwatch-demo-key",
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
    ) -> None:
        self.script = script or Script()
        self.key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = key_id
        self.revoked = False
        self.positions: dict[str, Decimal] = {}
        """Positions held before the run, as ``GET /portfolio/positions`` reports them (with the feed's)."""
        self.stats = Stats()
        self.feed = KalshiFeed(seed=self.script.seed, schema=self.script.schema)
        self._public_key = self.key.public_key()
        self._host, self._port = host, port
        self._frames_sent = 0
        self._rng = random.Random(self.script.seed)
        self._subscribers: set[asyncio.Queue[tuple[tuple[str, str, str] | None, list[str | bytes]]]] = set()
        self._generator: asyncio.Task[None] | None = None
        self._server: Server | None = None
        self._http = HttpServer(self._rest, host=host, port=rest_port)  # 0: any free port
        self._url = ""

    @property
    def url(self) -> str:
        """The WebSocket URL of the server (set once it started)."""
        assert self._url, "the simulator has not started"
        return self._url

    @property
    def api_url(self) -> str:
        """The REST base URL (``http://127.0.0.1:PORT/trade-api/v2``)."""
        return self._http.url + API_PREFIX

    @property
    def emitted(self) -> list[tuple[str, str, str]]:
        """(kind, id, order_id) of every generated event sent, in order."""
        return self.feed.emitted

    async def __aenter__(self) -> KalshiSim:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._check_upgrade,
            ping_interval=None,  # heartbeats are sent by _handle, so silence can silence them
            compression="deflate",
        )
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        self._url = f"ws://{host}:{port}{WS_PATH}"
        await self._http.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        if self._generator is not None:
            self._generator.cancel()
        self._server.close()
        await self._server.wait_closed()
        await self._http.__aexit__(*exc_info)

    async def _rest(self, request: HttpRequest) -> HttpResponse:
        """The REST endpoints of protocols/kalshi.md §6 that fillwatch uses."""
        self.stats.rest_requests.append((request.path, request.query))
        count = len(self.stats.rest_requests)
        if count <= self.script.rest_failures:
            return json_response(503, {"error": {"code": "service_unavailable", "message": "try again"}})
        every = self.script.rest_rate_limit_every
        if every and count % every == 0:
            return json_response(429, {"error": "too many requests"})
        path = request.path.removeprefix(API_PREFIX)
        if request.method == "GET" and path.startswith("/markets/"):
            ticker = path.removeprefix("/markets/")
            if ticker not in TITLES:
                return json_response(404, {"error": {"code": "not_found", "message": "market not found"}})
            market = {"ticker": ticker, "event_ticker": ticker.rsplit("-", 1)[0], "title": TITLES[ticker]}
            return json_response(200, {"market": {**market, "subtitle": "", "status": "active"}})
        if path == "/portfolio/positions":
            return self._positions(request)
        if path not in ("/portfolio/fills", "/portfolio/orders"):
            return json_response(404, {"error": {"code": "not_found", "message": "no such endpoint"}})
        problem = self._auth_problem(request.headers, request.method, request.path)
        if problem is not None:
            return json_response(401, {"error": {"code": "unauthorized", "message": problem}})
        min_ms = int(request.query.get("min_ts", "0")) * 1000
        if path == "/portfolio/fills":
            rows = [f for f in self.feed.rest_fills if f["ts_ms"] >= min_ms]
            key = "fills"
        else:
            # min_ts on orders: the simulator reads it as "last updated at or after" (open question §8).
            status = request.query.get("status")
            rows = [
                o
                for o in self.feed.rest_orders.values()
                if o["last_updated_ts_ms"] >= min_ms and status in (None, o["status"])
            ]
            key = "orders"
        rows = sorted(rows, key=lambda r: r.get("ts_ms") or r["last_updated_ts_ms"], reverse=True)  # newest first
        start = int(request.query.get("cursor") or 0)
        limit = min(int(request.query.get("limit", "100")), 1000)
        page = [
            {k: v for k, v in r.items() if k not in ("ts_ms", "last_updated_ts_ms")}
            for r in rows[start : start + limit]
        ]
        cursor = str(start + limit) if start + limit < len(rows) else ""
        return json_response(200, {key: page, "cursor": cursor})

    def _positions(self, request: HttpRequest) -> HttpResponse:
        """``GET /portfolio/positions`` (OpenAPI ``GetPositions``, kalshi-sdk 22.4.0): one page, signed.

        A market's position is what :attr:`positions` held before the run plus what the feed traded.
        """
        problem = self._auth_problem(request.headers, request.method, request.path)
        if problem is not None:
            return json_response(401, {"error": {"code": "unauthorized", "message": problem}})
        held = dict(self.positions)
        for ticker, position in self.feed._positions.items():  # what the feed's fills did (its post_position)
            held[ticker] = held.get(ticker, Decimal(0)) + position
        rows = [
            {
                "ticker": ticker,
                "exchange_index": 0,
                "position_fp": f"{position:.2f}",
                "total_traded_dollars": "0.0000",
                "market_exposure_dollars": "0.0000",
                "realized_pnl_dollars": "0.0000",
                "fees_paid_dollars": "0.0000",
                "last_updated_ts": "2026-11-21T20:30:00Z",
            }
            for ticker, position in held.items()
            if position
        ]
        return json_response(200, {"market_positions": rows, "event_positions": [], "cursor": ""})

    def _check_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        self.stats.upgrades += 1
        script = self.script
        if script.reject == -1 or self.stats.upgrades <= script.reject:
            self.stats.rejected += 1
            status = HTTPStatus(script.reject_status)
            return connection.respond(status, f"{status.phrase}\n")
        if request.path.split("?", 1)[0] != WS_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        problem = self._auth_problem(request.headers, "GET", WS_PATH)
        if problem is not None:
            self.stats.rejected += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"{problem}\n")
        return None

    def _auth_problem(self, headers: Headers | dict[str, str], method: str, path: str) -> str | None:
        """Why the signed headers of a request are not acceptable, or None when they are."""
        if isinstance(headers, dict):  # the HTTP server lower-cases header names
            headers = Headers({name.upper(): value for name, value in headers.items()})
        key_id = headers.get("KALSHI-ACCESS-KEY")
        ts = headers.get("KALSHI-ACCESS-TIMESTAMP", "")
        signature = headers.get("KALSHI-ACCESS-SIGNATURE", "")
        if not key_id or not ts or not signature:
            return "authentication headers missing"
        if self.revoked or key_id != self.key_id:
            return "unknown or revoked API key"
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > MAX_SKEW_MS:
            return "timestamp missing or outside the allowed window"
        try:
            self._public_key.verify(
                base64.b64decode(signature, validate=True), f"{ts}{method}{path}".encode(), _PSS, hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "invalid signature"
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.stats.connections += 1
        silent = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(ws, silent))
        sender: asyncio.Task[None] | None = None
        try:
            if await self._subscribe(ws):
                sender = asyncio.create_task(self._stream(ws, silent))
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            heartbeat.cancel()
            if sender is not None:
                sender.cancel()

    async def _heartbeat(self, ws: ServerConnection, silent: asyncio.Event) -> None:
        """A ``heartbeat`` ping every interval, as Kalshi does, until silenced."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.script.heartbeat)
                if silent.is_set():
                    return
                await ws.ping(b"heartbeat")

    async def _subscribe(self, ws: ServerConnection) -> bool:
        """Answer commands until both private channels are subscribed."""
        wanted = {"fill", "user_orders"}
        sid = 0
        while wanted:
            raw = await ws.recv()
            try:
                command = orjson.loads(raw)
                command_id, cmd = command["id"], command["cmd"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                await ws.send(_error(None, 1, "Unable to process message"))
                continue
            self.stats.commands.append(command)
            if cmd == "subscribe" and self.script.subscribe_error is not None:
                await ws.send(_error(command_id, self.script.subscribe_error, "Authentication required"))
                return False
            if cmd != "subscribe":
                await ws.send(_error(command_id, 5, "Unknown command"))
                continue
            channels = (command.get("params") or {}).get("channels")
            if not channels:
                await ws.send(_error(command_id, 3, "Channels required"))
                continue
            for channel in channels:
                if channel not in ("fill", "user_orders", "market_positions"):
                    await ws.send(_error(command_id, 8, "Unknown channel name"))
                    continue
                sid += 1
                wanted.discard(channel)
                ack = {"id": command_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}}
                await ws.send(orjson.dumps(ack).decode())
        return True

    def _next_frames(self) -> list[str | bytes] | None:
        """The frames of the next event, or None when the script has no more."""
        script = self.script
        if script.frames is not None:
            if self._frames_sent >= len(script.frames):
                return None
            self._frames_sent += 1
            return [script.frames[self._frames_sent - 1]]
        if script.limit is not None and self.stats.events >= script.limit:
            return None
        return [orjson.dumps(m).decode() for m in self.feed.next_event()]

    async def _generate(self) -> None:
        """The venue's own clock: events happen whether or not a client listens.

        It starts with the first subscription, so that a client that stays
        connected sees everything; what happens while no client is subscribed
        is only in the REST history, as on the real venue.
        """
        interval = 1 / self.script.rate if self.script.rate > 0 else 0.0
        while (frames := self._next_frames()) is not None:
            self.stats.events += 1
            key = self.feed.emitted[-1] if self.script.frames is None else None
            for queue in self._subscribers:
                queue.put_nowait((key, frames))
            await asyncio.sleep(interval)

    async def _stream(self, ws: ServerConnection, silent: asyncio.Event) -> None:
        """Send this connection the events generated while it is subscribed, with its faults."""
        script = self.script
        queue: asyncio.Queue[tuple[tuple[str, str, str] | None, list[str | bytes]]] = asyncio.Queue()
        self._subscribers.add(queue)
        if self._generator is None:
            self._generator = asyncio.create_task(self._generate())
        faults = Faults(script, self.stats, self._rng)
        try:
            sent_here = 0
            while True:
                if faults.end_here(ws, silent, sent_here):
                    return
                key, frames = await queue.get()
                try:
                    for frame in frames:
                        await ws.send(frame)
                except ConnectionClosed:
                    return
                sent_here += 1
                self.stats.delivered += 1
                if key is not None:
                    self.stats.delivered_keys.append(key)
                if script.error_after is not None and script.error_after[0] == sent_here == self.stats.delivered:
                    await ws.send(_error(None, script.error_after[1], "Subscription buffer overflow"))
                if script.garbage_every and self.stats.delivered % script.garbage_every == 0:
                    await ws.send(GARBAGE[(self.stats.delivered // script.garbage_every) % len(GARBAGE)])
        finally:
            self._subscribers.discard(queue)


def _error(command_id: int | None, code: int, message: str) -> str:
    return orjson.dumps({"id": command_id, "type": "error", "msg": {"code": code, "msg": message}}).decode()
