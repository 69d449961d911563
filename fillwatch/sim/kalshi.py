"""A simulated Kalshi WebSocket venue on 127.0.0.1, scriptable for tests.

It checks what the real venue checks (protocols/kalshi.md §2–§5): the path,
the three ``KALSHI-ACCESS-*`` headers, the timestamp's freshness and the
signature (RSA-PSS or Ed25519, as the key it was given; against its public
half); then it answers every command for the life of the connection as Kalshi's
AsyncAPI 2.0.0 describes (:mod:`fillwatch.sim.subscriptions`), sends a ``heartbeat``
ping every 10 s, and streams fills and order updates from a
:class:`~fillwatch.sim.feed.KalshiFeed` at ``rate`` events per second to the
subscriptions that cover them, each with its own ``sid``. Its REST bodies are
those of the OpenAPI 3.34.0 (``GetFillsResponse``, ``GetOrdersResponse``,
``GetMarketResponse``, ``ErrorResponse``).

A :class:`Script` makes it misbehave on purpose: answer upgrades with an HTTP
error, drop the TCP connection or go silent after N events, slip garbage
frames in between, end a subscription with a channel error, or send a fixed
list of frames instead of the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from fillwatch.sim.faults import Faults
from fillwatch.sim.feed import KalshiFeed
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.kalshi_auth import auth_problem
from fillwatch.sim.kalshi_markets import MARKET_INFO, market_body
from fillwatch.sim.kalshi_script import GARBAGE, Script, Stats
from fillwatch.sim.subscriptions import Session, error

__all__ = ["GARBAGE", "KalshiSim", "Script", "Stats"]

WS_PATH = "/trade-api/ws/v2"
API_PREFIX = "/trade-api/v2"
TERMINAL_ERRORS = (10, 25)
"""The channel errors after which a subscription delivers nothing more (AsyncAPI: "Terminal Errors")."""

Key = tuple[str, str, str]
Message = dict[str, Any] | str | bytes
"""A generated message (the server adds its ``sid``), or a scripted frame sent as it is."""


class KalshiSim:
    """The simulated venue. Use as ``async with KalshiSim(script) as sim: sim.url``."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | None = None,
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
        self._subscribers: set[asyncio.Queue[tuple[Key | None, list[Message]]]] = set()
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
        """The REST endpoints of protocols/kalshi.md §6 that fillwatch uses, with OpenAPI 3.34.0 bodies.

        Errors are the document's flat ``ErrorResponse``: ``{"code", "message"}``.
        """
        self.stats.rest_requests.append((request.path, request.query))
        count = len(self.stats.rest_requests)
        if count <= self.script.rest_failures:
            return _rest_error(503, "service_unavailable", "try again")
        every = self.script.rest_rate_limit_every
        if every and count % every == 0:
            return _rest_error(429, "too_many_requests", "too many requests")  # and no headers, as Kalshi does
        path = request.path.removeprefix(API_PREFIX)
        if request.method == "GET" and path.startswith("/markets/"):
            ticker = path.removeprefix("/markets/")
            if ticker not in MARKET_INFO:
                return _rest_error(404, "not_found", "market not found")
            return json_response(200, {"market": market_body(ticker)})
        if request.method == "GET" and path == "/portfolio/positions":
            return self._positions(request)
        if request.method != "GET" or path not in ("/portfolio/fills", "/portfolio/orders"):
            return _rest_error(404, "not_found", "no such endpoint")
        problem = self._auth_problem(request.headers, request.method, request.path)
        if problem is not None:
            return _rest_error(401, "unauthorized", problem)
        query = request.query
        try:
            min_ms = int(query.get("min_ts", "0")) * 1000
            start = int(query.get("cursor") or 0)
            limit = int(query.get("limit", "100"))
        except ValueError:
            return _rest_error(400, "bad_request", "min_ts, cursor and limit must be integers")
        if not 1 <= limit <= 1000 or start < 0:
            return _rest_error(400, "bad_request", "limit must be 1 to 1000")
        key = path.removeprefix("/portfolio/")
        rows = sorted(self._rows(key, query, min_ms), key=lambda r: r["_at"], reverse=True)  # newest first
        page = [{k: v for k, v in r.items() if k != "_at"} for r in rows[start : start + limit]]
        cursor = str(start + limit) if start + limit < len(rows) else ""
        return json_response(200, {key: page, "cursor": cursor})

    def _rows(self, key: str, query: dict[str, str], min_ms: int) -> list[dict[str, Any]]:
        """The fills or orders a query selects, each with its time (ms) under ``_at``.

        ``min_ts`` on orders: the simulator reads it as "last updated at or after" (open question §8).
        """
        tickers = set(query["ticker"].split(",")) if query.get("ticker") else None
        if key == "fills":
            rows = [
                {**{k: v for k, v in f.items() if k != "ts_ms"}, "_at": f["ts_ms"]}
                for f in self.feed.rest_fills
                if query.get("order_id") in (None, f["order_id"])
            ]
        else:
            rows = [
                {**{k: v for k, v in o.items() if k != "last_updated_ts_ms"}, "_at": o["last_updated_ts_ms"]}
                for o in self.feed.rest_orders.values()
                if query.get("status") in (None, o["status"])
            ]
        return [r for r in rows if r["_at"] >= min_ms and (tickers is None or r["ticker"] in tickers)]

    def _positions(self, request: HttpRequest) -> HttpResponse:
        """``GET /portfolio/positions`` (OpenAPI ``GetPositions``, kalshi-sdk 22.4.0): one page, signed.

        A market's position is what :attr:`positions` held before the run plus what the feed traded.
        """
        problem = self._auth_problem(request.headers, request.method, request.path)
        if problem is not None:
            return _rest_error(401, "unauthorized", problem)
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
        key_id, now_ms = None if self.revoked else self.key_id, time.time() * 1000
        return auth_problem(headers, method, path, key_id=key_id, public_key=self._public_key, now_ms=now_ms)

    async def _handle(self, ws: ServerConnection) -> None:
        """One connection: its commands answered as they come, its subscriptions streamed."""
        self.stats.connections += 1
        session = Session(refuse_subscribe=self.script.subscribe_error)
        silent = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(ws, silent))
        sender: asyncio.Task[None] | None = None
        try:
            async for raw in ws:
                with contextlib.suppress(orjson.JSONDecodeError):
                    command = orjson.loads(raw)
                    if isinstance(command, dict):
                        self.stats.commands.append(command)
                replies = session.handle(raw)
                if not silent.is_set():
                    for reply in replies:
                        await ws.send(orjson.dumps(reply).decode())
                if sender is None and session.subscriptions:
                    sender = asyncio.create_task(self._stream(ws, silent, session))
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

    def _next_frames(self) -> list[Message] | None:
        """The messages of the next event, or None when the script has no more."""
        script = self.script
        if script.frames is not None:
            if self._frames_sent >= len(script.frames):
                return None
            self._frames_sent += 1
            return [script.frames[self._frames_sent - 1]]
        if script.limit is not None and self.stats.events >= script.limit:
            return None
        return list(self.feed.next_event())

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

    async def _stream(self, ws: ServerConnection, silent: asyncio.Event, session: Session) -> None:
        """Send this connection what its subscriptions cover of the events generated, with its faults."""
        script = self.script
        queue: asyncio.Queue[tuple[Key | None, list[Message]]] = asyncio.Queue()
        self._subscribers.add(queue)
        if self._generator is None:
            self._generator = asyncio.create_task(self._generate())
        faults = Faults(script, self.stats, self._rng)
        try:
            sent_here = 0
            while True:
                if faults.end_here(ws, silent, sent_here):
                    return
                key, messages = await queue.get()
                frames, line_sent = _frames(session, key, messages)
                if not frames:
                    continue  # nothing this connection subscribed to
                try:
                    for frame in frames:
                        await ws.send(frame)
                except ConnectionClosed:
                    return
                sent_here += 1
                self.stats.delivered += 1
                if key is not None and line_sent:
                    self.stats.delivered_keys.append(key)
                if script.error_after is not None and script.error_after[0] == sent_here == self.stats.delivered:
                    await self._channel_error(ws, session, script.error_after[1])
                if script.garbage_every and self.stats.delivered % script.garbage_every == 0:
                    await ws.send(GARBAGE[(self.stats.delivered // script.garbage_every) % len(GARBAGE)])
        finally:
            self._subscribers.discard(queue)

    @staticmethod
    async def _channel_error(ws: ServerConnection, session: Session, code: int) -> None:
        """Error `code` mid-stream; after a terminal one (10, 25) the subscription it names delivers nothing."""
        if code not in TERMINAL_ERRORS:
            await ws.send(orjson.dumps(error(code)).decode())
            return
        sub = session.end("fill") or session.end("user_orders")
        if sub is not None:
            await ws.send(orjson.dumps(error(code, sid=sub.sid)).decode())


def _frames(session: Session, key: Key | None, messages: list[Message]) -> tuple[list[str | bytes], bool]:
    """The frames of one event this connection's subscriptions cover, and whether its line is among them."""
    frames: list[str | bytes] = []
    line_sent = False
    for message in messages:
        if not isinstance(message, dict):
            frames.append(message)  # a scripted frame, sent as it is
            continue
        frame = session.frame(message)
        if frame is None:
            continue
        frames.append(frame)
        if key is not None and _is_line(message, key):
            line_sent = True
    return frames, line_sent


def _is_line(message: dict[str, Any], key: Key) -> bool:
    """Whether `message` is the one that makes the line of event `key`."""
    kind: object = message["type"]
    if key[0] == "fill":
        return kind == "fill"
    if kind != "user_order":
        return False
    status: object = message["msg"]["status"]
    return status == "canceled"


def _rest_error(status: int, code: str, message: str) -> HttpResponse:
    """The OpenAPI ``ErrorResponse``: flat, with a string code."""
    return json_response(status, {"code": code, "message": message})
