"""A minimal HTTP/1.1 server for the simulated venues' REST endpoints.

The websockets server answers only GET, and a venue's token endpoint wants
POST, so the simulator serves REST from this small server on its own port.
One request per connection (``Connection: close``); bodies by
``Content-Length``. Good for a simulator on loopback, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, urlsplit

import orjson

__all__ = ["HttpRequest", "HttpResponse", "HttpServer", "json_response"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A parsed request: header names are lower case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return orjson.loads(self.body) if self.body else None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, orjson.dumps(payload), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HttpServer:
    """Serves `handler` on 127.0.0.1; use as ``async with HttpServer(h) as s: s.url``."""

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self._read(reader)
            response = await self._handler(request) if request else HttpResponse(400, b"bad request\n")
            head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}"]
            headers = {"Content-Length": str(len(response.body)), "Connection": "close", **response.headers}
            head += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @classmethod
    async def _read(cls, reader: asyncio.StreamReader) -> HttpRequest | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return cls._request(method.upper(), urlsplit(target), headers, body)

    @staticmethod
    def _request(method: str, parts: SplitResult, headers: dict[str, str], body: bytes) -> HttpRequest:
        """The request as handlers see it (its query parsed the standard way)."""
        return HttpRequest(method, parts.path, dict(parse_qsl(parts.query)), headers, body)
