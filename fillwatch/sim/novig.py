"""A simulated Novig on 127.0.0.1, scriptable for tests: tokens, ``/tape``, REST.

It checks what the real venue checks (protocols/novig.md §2–§6): the token
endpoint wants the client id and secret (and, on the legacy ``/oauth/token``,
a valid ``audience``) and issues tokens that expire after ``token_lifetime``
seconds; the ``/tape`` upgrade and every REST call want a valid
``Authorization: Bearer`` token, and an open socket is closed when its token
expires. A connection gets the private channel at once; ``lifecycle`` ticks
only after it subscribed. It sends a protocol Ping and a JSON ``ping`` now and
then and records the pongs.

Events come from a :class:`~fillwatch.sim.novig_feed.NovigFeed` on the
venue's own clock, from the first connection on, and are broadcast to the
connections open at the time: what happens while no client is connected is
only in the REST history (``fills/all``, ``orders/all``), which is always
complete, as on the real venue. A :class:`Script` makes the venue misbehave
(reject upgrades, drop, go silent, send garbage) as
:class:`~fillwatch.sim.kalshi.KalshiSim`'s does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from fillwatch.sim.faults import Faults
from fillwatch.sim.http import HttpRequest, HttpResponse, HttpServer, json_response
from fillwatch.sim.novig_feed import Emitted, NovigFeed
from fillwatch.sim.novig_script import GARBAGE, Script, Stats

__all__ = ["AUDIENCES", "GARBAGE", "NovigSim", "Script", "Stats"]

WS_PATH = "/tape"
API_PREFIX = "/nbx/v2"
TOKEN_PATH = "/nbx/v1/auth/emm-token"
LEGACY_TOKEN_PATH = "/oauth/token"
AUDIENCES = frozenset({"https://api.novig.us", "https://api-qa.novig.us"})
PING = '{"event":"ping","data":{"message":"ping"}}'


class NovigSim:
    """The simulated venue. Use as ``async with NovigSim(script) as sim: sim.url``."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        client_id: str = "fillwatch-demo-client",
        client_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
    ) -> None:
        self.script = script or Script()
        self.client_id = client_id
        self.client_secret = client_secret or "demo-secret-" + secrets.token_urlsafe(18)
        self.stats = Stats()
        self.feed = NovigFeed(seed=self.script.seed)
        self.tokens: dict[str, float] = {}
        """Every token issued → its expiry (``time.monotonic``)."""
        self._host, self._port = host, port
        self._frames_sent = 0
        self._rng = random.Random(self.script.seed)
        self._subscribers: set[asyncio.Queue[tuple[list[Emitted], list[tuple[bool, str | bytes]]]]] = set()
        self._generator: asyncio.Task[None] | None = None
        self._server: Server | None = None
        self._http = HttpServer(self._rest, host=host, port=rest_port)  # 0: any free port
        self._url = ""

    @property
    def url(self) -> str:
        """The WebSocket URL (set once it started)."""
        assert self._url, "the simulator has not started"
        return self._url

    @property
    def api_url(self) -> str:
        """The REST base, ``http://127.0.0.1:PORT/nbx/v2``."""
        return self._http.url + API_PREFIX

    @property
    def token_url(self) -> str:
        """The current token endpoint."""
        return self._http.url + TOKEN_PATH

    @property
    def legacy_token_url(self) -> str:
        """The deprecated Auth0-style endpoint, which wants an ``audience``."""
        return self._http.url + LEGACY_TOKEN_PATH

    @property
    def emitted(self) -> list[Emitted]:
        """The lines a client should print for the events sent so far, in order."""
        return self.feed.emitted

    async def __aenter__(self) -> NovigSim:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._check_upgrade,
            ping_interval=None,  # Pings are sent by _handle, so that silence silences them too
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

    # Tokens and REST ----------------------------------------------------------

    def _token_expiry(self, authorization: str | None) -> float | None:
        """The expiry of a valid Bearer token, or None."""
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self.tokens.get(token) if scheme == "Bearer" else None
        return expiry if expiry is not None and expiry > time.monotonic() else None

    async def _rest(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in (TOKEN_PATH, LEGACY_TOKEN_PATH):
            return self._issue_token(request)
        self.stats.rest.append((request.method, request.path, request.query))
        if self._token_expiry(request.headers.get("authorization")) is None:
            self.stats.rest_rejected += 1
            return json_response(401, {"message": "Unauthorized"})
        path = request.path.removeprefix(API_PREFIX)
        if request.method != "GET":
            return json_response(404, {"message": "Not Found"})
        if path in ("/emm/orders/all", "/emm/fills/all"):
            if self.script.rest_failures > 0:
                self.script.rest_failures -= 1
                return json_response(503, {"message": "Service Unavailable"})
            response = self._history(path, request.query)
            if path == "/emm/orders/all" and self.script.orders_delay:
                await asyncio.sleep(self.script.orders_delay)
            return response
        if path.startswith("/emm/markets/"):
            market = self.feed.markets.get(path.removeprefix("/emm/markets/"))
            if market is None:
                return json_response(404, {"message": "market not found"})
            return json_response(200, market.describe())
        return json_response(404, {"message": "Not Found"})

    def _issue_token(self, request: HttpRequest) -> HttpResponse:
        try:
            body = request.json()
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return json_response(400, {"error": "invalid_request"})
        self.stats.token_requests.append({"path": request.path, "body": body})
        if body.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        if request.path == LEGACY_TOKEN_PATH and body.get("audience") not in AUDIENCES:
            return json_response(403, {"error": "access_denied", "error_description": "Service not found"})
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return json_response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        token = "eyJhbGciOiJSUzI1NiJ9.sim-" + secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.script.token_lifetime
        self.stats.tokens_issued += 1
        lifetime = self.script.token_lifetime
        return json_response(
            200,
            {
                "access_token": token,
                "scope": "execute:trader read:trader read:tape",
                "expires_in": int(lifetime) if lifetime == int(lifetime) else lifetime,
                "token_type": "Bearer",
            },
        )

    def _history(self, path: str, query: dict[str, str]) -> HttpResponse:
        """``orders/all`` and ``fills/all``: newest first, ``currency``/``limit``/``offset``."""
        try:
            limit, offset = int(query.get("limit", "100")), int(query.get("offset", "0"))
        except ValueError:
            return json_response(400, {"message": "limit and offset must be integers"})
        if not 1 <= limit <= 256 or offset < 0:
            return json_response(400, {"message": "limit must be 1 to 256"})
        currency = query.get("currency")
        if currency not in (None, "CASH", "COIN"):
            return json_response(400, {"message": "currency must be CASH or COIN"})
        if path == "/emm/orders/all":
            orders = [o for o in reversed(self.feed.orders.values()) if currency in (None, o.currency)]
            page = orders[offset : offset + limit]
            self.feed.orders_reads += 1
            for order in page:
                if not order.visible:
                    order.visible, order.shown_by = True, self.feed.orders_reads
            return json_response(200, [o.rest() for o in page])
        fills = [f for f in reversed(self.feed.fills) if currency in (None, self.feed.orders[f["orderId"]].currency)]
        return json_response(200, fills[offset : offset + limit])

    # The WebSocket ------------------------------------------------------------

    def _check_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        self.stats.upgrades += 1
        script = self.script
        if script.reject == -1 or self.stats.upgrades <= script.reject:
            self.stats.rejected += 1
            status = HTTPStatus(script.reject_status)
            return connection.respond(status, f"{status.phrase}\n")
        if request.path.split("?", 1)[0] != WS_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self._token_expiry(request.headers.get("Authorization")) is None:
            self.stats.rejected += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or expired token\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.stats.connections += 1
        expiry = self._token_expiry(ws.request.headers.get("Authorization") if ws.request else None)
        subscribed = asyncio.Event()
        silent = asyncio.Event()
        tasks = [
            asyncio.create_task(self._listen(ws, subscribed)),
            asyncio.create_task(self._heartbeats(ws, silent)),
            asyncio.create_task(self._stream(ws, subscribed, silent, expiry or 0.0)),
        ]
        try:
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()

    async def _listen(self, ws: ServerConnection, subscribed: asyncio.Event) -> None:
        """Commands from the client: subscriptions and JSON pongs."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                try:
                    message = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    await ws.send('{"event":"error","data":{"message":"invalid message"}}')
                    continue
                if isinstance(message, dict) and message.get("event") == "pong":
                    self.stats.pongs.append(message)
                    continue
                self.stats.commands.append(message)
                if message == {"event": "subscribe", "data": "lifecycle"}:
                    subscribed.set()
                    await ws.send('{"event":"subscribed","data":{"channel":"lifecycle"}}')

    async def _heartbeats(self, ws: ServerConnection, silent: asyncio.Event) -> None:
        """A protocol Ping and a JSON ping at their intervals, until silenced."""

        async def every(period: float, send: Callable[[], Awaitable[object]]) -> None:
            while True:
                await asyncio.sleep(period)
                if silent.is_set():
                    return
                await send()

        async def json_ping() -> None:
            self.stats.pings += 1
            await ws.send(PING)

        with contextlib.suppress(ConnectionClosed):
            await asyncio.gather(
                every(self.script.heartbeat, lambda: ws.ping(b"novig")), every(self.script.json_ping, json_ping)
            )

    def _next_frames(self) -> tuple[list[Emitted], list[tuple[bool, str | bytes]]] | None:
        """The lines and frames of the next step (frame: (public tick?, frame)), or None at the end."""
        script = self.script
        if script.frames is not None:
            if self._frames_sent >= len(script.frames):
                return None
            self._frames_sent += 1
            return [], [(False, script.frames[self._frames_sent - 1])]
        if script.limit is not None and self.stats.events >= script.limit:
            return None
        feed = self.feed
        before, unseen_before = len(feed.emitted), len(feed.unseen_closes)
        messages = feed.next_event()
        frames: list[tuple[bool, str | bytes]] = [(_is_tick(m), orjson.dumps(m).decode()) for m in messages]
        return [*feed.emitted[before:], *feed.unseen_closes[unseen_before:]], frames

    async def _generate(self) -> None:
        """The venue's own clock: steps happen whether or not a client listens.

        It starts once the first connection subscribed (or gave up on it), so
        that a client that stays connected sees everything; what happens while
        no client is connected is only in the REST history, as on the real venue.
        """
        interval = 1 / self.script.rate if self.script.rate > 0 else 0.0
        while (step := self._next_frames()) is not None:
            self.stats.events += 1
            for queue in self._subscribers:
                queue.put_nowait(step)
            await asyncio.sleep(interval)

    async def _stream(
        self, ws: ServerConnection, subscribed: asyncio.Event, silent: asyncio.Event, expiry: float
    ) -> None:
        """Send this connection the steps made while it is open, with its faults, until its token expires."""
        script = self.script
        queue: asyncio.Queue[tuple[list[Emitted], list[tuple[bool, str | bytes]]]] = asyncio.Queue()
        self._subscribers.add(queue)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscribed.wait(), 1.0)
        if self._generator is None:
            self._generator = asyncio.create_task(self._generate())
        faults = Faults(script, self.stats, self._rng)
        sent_here = 0
        try:
            while True:
                if faults.end_here(ws, silent, sent_here):
                    return
                try:
                    lines, frames = await asyncio.wait_for(queue.get(), max(0.0, expiry - time.monotonic()))
                except TimeoutError:  # nothing happened before the token expired
                    self.stats.expired += 1
                    await ws.close(1008, "token expired")
                    return
                try:
                    for public, frame in frames:
                        if not public or subscribed.is_set():
                            await ws.send(frame)
                except ConnectionClosed:
                    return
                sent_here += 1
                self.stats.delivered += 1
                self.stats.delivered_keys.extend((e.kind, e.id, e.order_id) for e in lines)
                if script.garbage_every and self.stats.delivered % script.garbage_every == 0:
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(GARBAGE[(self.stats.delivered // script.garbage_every) % len(GARBAGE)])
                if time.monotonic() >= expiry:
                    self.stats.expired += 1
                    await ws.close(1008, "token expired")
                    return
        finally:
            self._subscribers.discard(queue)


def _is_tick(message: dict[str, Any]) -> bool:
    """A public lifecycle tick (bare or enveloped): sent only to connections that subscribed."""
    return "type" in message or message.get("event") == "lifecycle"
