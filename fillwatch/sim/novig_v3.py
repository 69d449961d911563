"""A simulated Novig v3 on 127.0.0.1: the signed ``/v3/ws`` websocket and the signed REST routes.

It stands for the venue of Novig's v3 pages (``Semionsr/novig-v3-kit``, ``fixtures/docs/``,
summarised in ``protocols/novig-v3.md``):

* Every request, the websocket upgrade included, is verified as ``NOVIG-V3`` with the
  documented check order and messages (:mod:`fillwatch.sim.novig_v3_auth`; api_errors.md);
  the upgrade costs 32 ``stream`` tokens (api_streaming_connection.md) and a refused one is
  the usual JSON ``ErrorBody`` (openapi ``get /v3/ws``: 401, 403, 423, 429, 451).
* One subaccount: its ``orders.seq`` counts order events across connections and
  reconnects (:mod:`fillwatch.sim.novig_v3_feed`); each connection gets the batches made
  while it is subscribed (:mod:`fillwatch.sim.novig_v3_conn`, :mod:`fillwatch.sim.novig_v3_verbs`).
* REST history (:mod:`fillwatch.sim.novig_v3_rest`) is always complete.

Batches come from the venue's own clock (``Script.rate``) from the first private subscribe
on, or only from the test's own calls (``rate=None``: ``sim.publish(sim.feed.place(...))``).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from fillwatch.sim.novig_v3_auth import ApiKey, Rejection, SignedRequest, check
from fillwatch.sim.novig_v3_conn import Connection, Venue
from fillwatch.sim.novig_v3_feed import Batch, NovigV3Feed
from fillwatch.sim.novig_v3_rest import NovigV3Rest, RawHttpServer, Throttles, refusal
from fillwatch.sim.novig_v3_script import Script, Stats

__all__ = ["WS_PATH", "NovigV3Sim", "Script", "Stats"]

WS_PATH = "/v3/ws"
UPGRADE_COST = 32


class NovigV3Sim:
    """The simulated venue. Use as ``async with NovigV3Sim(script, keys=[...]) as sim: sim.url``.

    Without `keys` it makes one Ed25519 ``trading::read`` key (``sim.key_id``, ``sim.private_key``).
    `clock` (seconds) is the server's clock for the ±30 s rule, ``ts`` fields and throttles.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        keys: Iterable[ApiKey] | None = None,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
    ) -> None:
        self.script = script or Script()
        self.stats = Stats()
        self.private_key: Ed25519PrivateKey | None = None
        if keys is None:
            self.private_key = Ed25519PrivateKey.generate()
            keys = [ApiKey(str(uuid.uuid4()), self.private_key.public_key())]
        self.keys = {key.key_id: key for key in keys}
        self._clock = clock
        self.feed = NovigV3Feed(
            seed=self.script.seed,
            markets=self.script.markets,
            clock_ms=self.clock_ms,
            short_prices=self.script.short_prices,
            close_cancels=self.script.close_cancels,
            cancel_remaining=self.script.cancel_remaining,
        )
        self.throttles = Throttles(enabled=self.script.throttle)
        self.venue = Venue(
            self.feed,
            self.script,
            self.stats,
            self.throttles,
            self.clock_ms,
            random.Random(self.script.seed),
            self._start_generator,
        )
        self.connections: list[Connection] = []
        self._principals: dict[int, str] = {}
        self._refused = 0
        self._host, self._port = host, port
        self._http = RawHttpServer(
            NovigV3Rest(self.feed, self.keys, self.script, self.stats, self.throttles, clock), host=host, port=rest_port
        )
        self._server: Server | None = None
        self._generator: asyncio.Task[None] | None = None
        self._url = ""
        self.subscribed = asyncio.Event()
        """Set once a connection subscribed to a private channel."""
        self.gone = asyncio.Event()
        """Set each time a connection ends (clear it to wait for the next)."""

    @property
    def key_id(self) -> str:
        """The first key's id."""
        return next(iter(self.keys))

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/v3/ws`` (set once it started)."""
        assert self._url, "the simulator has not started"
        return self._url

    @property
    def api_url(self) -> str:
        """The REST base, ``http://127.0.0.1:PORT`` (paths start with ``/v3``)."""
        return self._http.url

    def clock_ms(self) -> int:
        return int(self._clock() * 1000)

    async def __aenter__(self) -> NovigV3Sim:
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            process_request=self._check_upgrade,
            ping_interval=None,  # Pings are the connection's own (no Pong between two: TCP dropped)
            close_timeout=2,
            compression=None,
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

    # The order flow ----------------------------------------------------------------------

    def publish(self, batch: Batch) -> Batch:
        """Send `batch` (made by ``self.feed``) to every connection subscribed to it."""
        self.stats.events += 1
        for connection in self.connections:
            connection.deliver(batch)
        return batch

    def restart(self) -> None:
        """A server restart: ``orders.seq`` and the positions ``seq`` start again from 0; open sockets
        are dropped (TCP, no close frame) unless ``Script.restart_keeps_sockets``."""
        self.feed.seq = self.feed.positions_seq = 0
        if not self.script.restart_keeps_sockets:
            for connection in self.connections:
                connection.done = True
                if connection.ws.transport is not None:
                    connection.ws.transport.abort()

    def _start_generator(self) -> None:
        self.subscribed.set()
        if self._generator is None and self.script.rate is not None:
            self._generator = asyncio.get_running_loop().create_task(self._generate())

    async def _generate(self) -> None:
        """The venue's own clock: batches happen whether or not a client listens."""
        script = self.script
        interval = 1 / script.rate if script.rate else 0.0
        while script.limit is None or self.stats.events < script.limit:
            self.publish(self.feed.step(script.golive_every))
            await asyncio.sleep(interval)

    # The websocket -----------------------------------------------------------------------

    def _check_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        self.stats.upgrades += 1
        self.stats.upgrade_times.append(time.monotonic())
        path, _, query = request.path.partition("?")
        if path != WS_PATH:
            return self._refuse(connection, 404, b'{"code":"NOT_FOUND","message":"no such route"}')
        signed = SignedRequest("GET", path, query, b"", dict(request.headers.raw_items()))
        principal = check(signed, self.keys, self.clock_ms())
        if isinstance(principal, Rejection):
            return self._refuse(connection, principal.status, principal.body(), principal.message)
        script = self.script
        if script.refuse_upgrades == -1 or self._refused < script.refuse_upgrades:
            self._refused += 1
            made = refusal(script.refuse_code, script.retry_after)
            return self._refuse(connection, made.status, made.body, script.refuse_code, made.headers)
        wait = self.throttles.take(principal.key_id, "stream", UPGRADE_COST)
        if wait:
            made = refusal("RATE_LIMIT_EXCEEDED", wait)
            return self._refuse(connection, 429, made.body, "RATE_LIMIT_EXCEEDED", made.headers)
        self._principals[id(connection)] = principal.key_id
        return None

    def _refuse(
        self,
        connection: ServerConnection,
        status: int,
        body: bytes,
        why: str = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An HTTP refusal of the upgrade with a JSON ``ErrorBody``."""
        self.stats.rejected += 1
        self.stats.upgrade_rejections.append((status, why))
        response = connection.respond(HTTPStatus(status), "")
        fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
        response.headers = Headers([(k, v) for k, v in response.headers.raw_items() if k.lower() not in _REPLACED])
        for name, value in fields.items():
            response.headers[name] = value
        response.body = body
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        if self.script.send_buffer is not None:
            sock = ws.transport.get_extra_info("socket") if ws.transport else None
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.script.send_buffer)
        self.stats.connections += 1
        key_id = self._principals.pop(id(ws), self.key_id)
        connection = Connection(self.venue, ws, self.stats.connections, key_id)
        self.connections.append(connection)
        try:
            await connection.run()
        finally:
            self.connections.remove(connection)
            self.gone.set()


_REPLACED = frozenset({"content-type", "content-length"})


def main(argv: list[str] | None = None) -> None:
    """``python -m fillwatch.sim.novig_v3 [--port P] [--rate R] [--seed S] [--key-out FILE] [--p256]``.

    Serves until interrupted; prints the URLs and the key id, and writes the throwaway private
    key (PKCS#8 PEM, mode 600) where ``--key-out`` says. REST listens on P + 1 when P is given.
    """
    import argparse
    import contextlib
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    cli = argparse.ArgumentParser(prog="python -m fillwatch.sim.novig_v3", description=main.__doc__)
    cli.add_argument("--port", type=int, default=0)
    cli.add_argument("--rate", type=float, default=2.0, help="batches per second (0: as fast as possible)")
    cli.add_argument("--seed", type=int, default=None)
    cli.add_argument("--key-out", help="write the private key here (PKCS#8 PEM)")
    cli.add_argument("--p256", action="store_true", help="a P-256 key instead of Ed25519")
    args = cli.parse_args(argv)
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    key = ec.generate_private_key(ec.SECP256R1()) if args.p256 else Ed25519PrivateKey.generate()
    row = ApiKey(str(uuid.uuid4()), key.public_key())
    if args.key_out:
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(args.key_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)

    async def serve_forever() -> None:
        script = Script(rate=args.rate, seed=args.seed)
        rest_port = args.port + 1 if args.port else 0
        async with NovigV3Sim(script, keys=[row], port=args.port, rest_port=rest_port) as sim:
            print(f"ws_url  {sim.url}\napi_url {sim.api_url}\nkey_id  {row.key_id}", flush=True)
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever())


if __name__ == "__main__":
    main()
