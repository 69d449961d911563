"""A small NOVIG-V3 signer and client of the tests' own, and its check against Novig's published vectors.

The signer is built from the documented rules only (api_signing.md; ``string_to_sign_rules`` of
``signing-vectors.json``), not from the client's ``venues.novig_v3.signing``, so that the
simulator's tests do not share a misreading with the client; the other ``test_sim_novig_v3*``
modules import it from here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from websockets.asyncio.client import ClientConnection, connect

from fillwatch.sim.novig_v3 import NovigV3Sim
from fillwatch.sim.novig_v3_auth import ApiKey, verify

VECTORS = json.loads((Path(__file__).parent / "data" / "novig_v3" / "signing-vectors.json").read_text())
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

Key = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def _decode(part: str) -> bytes:
    raw, out, i = part.encode(), bytearray(), 0
    while i < len(raw):
        pair = raw[i + 1 : i + 3]
        if raw[i] == 0x25 and len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _encode(data: bytes) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in data)


def canonical(query: str) -> str:
    """Line 5: split on ``&`` and the first ``=``, decode only ``%XX``, re-encode, sort bytewise."""
    pairs = sorted(
        (_encode(_decode(name)), _encode(_decode(value)))
        for name, _, value in (token.partition("=") for token in query.split("&") if token)
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def to_sign(ts: str, method: str, path: str, query: str, body: bytes) -> str:
    return "\n".join(("NOVIG-V3", ts, method, path, canonical(query), hashlib.sha256(body).hexdigest()))


def signature(key: Key, message: str) -> bytes:
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(message.encode())
    return key.sign(message.encode(), ec.ECDSA(hashes.SHA256()))


def headers(
    key_id: str, key: Key, method: str, path: str, query: str = "", body: bytes = b"", *, ts: int | None = None
) -> dict[str, str]:
    """The three ``Novig-*`` headers (and ``Content-Type`` with a body), signed at `ts` (default: now)."""
    stamp = str(int(time.time() * 1000) if ts is None else ts)
    signed = {
        "Novig-Key-Id": key_id,
        "Novig-Timestamp": stamp,
        "Novig-Signature": base64.b64encode(signature(key, to_sign(stamp, method, path, query, body))).decode(),
    }
    return signed | ({"Content-Type": "application/json"} if body else {})


def new_key(kind: str = "ed25519") -> Key:
    return Ed25519PrivateKey.generate() if kind == "ed25519" else ec.generate_private_key(ec.SECP256R1())


def row(key_id: str, key: Key, scope: str = "trading::read") -> ApiKey:
    return ApiKey(key_id, key.public_key(), scope)


class Trader:
    """The tests' own client of the simulator: signed upgrades and REST calls with one key."""

    def __init__(self, sim: NovigV3Sim, key_id: str, key: Key) -> None:
        self.sim, self.key_id, self.key = sim, key_id, key
        self.nonce = 0

    def connect(self, *, ts: int | None = None, **options: Any) -> Any:
        """``async with trader.connect() as ws`` (websockets' own client; `options` go to it)."""
        signed = headers(self.key_id, self.key, "GET", "/v3/ws", ts=ts)
        return connect(self.sim.url, additional_headers=signed, open_timeout=5, **options)

    async def send(self, ws: ClientConnection, verb: str, payload: object) -> int:
        self.nonce += 1
        await ws.send(orjson.dumps({"nonce": self.nonce, verb: payload}).decode())
        return self.nonce

    async def get(
        self, path: str, query: str = "", *, ts: int | None = None, extra: dict[str, str] | None = None
    ) -> httpx.Response:
        """A signed ``GET``; `query` is sent exactly as signed (its canonical form), `extra` headers beside."""
        query = canonical(query)
        signed = headers(self.key_id, self.key, "GET", path, query, ts=ts) | (extra or {})
        async with httpx.AsyncClient(base_url=self.sim.api_url, trust_env=False) as client:
            return await client.get(path + (f"?{query}" if query else ""), headers=signed)

    async def pages(self, path: str, query: str = "") -> list[list[dict[str, Any]]]:
        """Every page of a listing, following ``next`` as ``after``."""
        pages, after = [], None
        while True:
            cursor = "" if after is None else f"after={_encode(after.encode())}"
            response = await self.get(path, "&".join(p for p in (query, cursor) if p))
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(body["items"])
            after = body.get("next")
            if after is None:
                return pages


async def recv(ws: ClientConnection, within: float = 5.0) -> dict[str, Any]:
    """The next frame, parsed."""
    frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), within))
    return frame


async def recv_until(ws: ClientConnection, wanted: Any, within: float = 5.0) -> tuple[list[dict[str, Any]], Any]:
    """Frames up to and including the first for which ``wanted(frame)`` holds: (earlier ones, that one)."""
    seen: list[dict[str, Any]] = []
    while True:
        frame = await recv(ws, within)
        if wanted(frame):
            return seen, frame
        seen.append(frame)


def _public(pem: str) -> Ed25519PublicKey | ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey)
    return key


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["id"])
def test_the_test_signer_reproduces_the_published_string_to_sign(vector: dict[str, Any]) -> None:
    """For each of Novig's 30 vectors the tests' signer builds `string_to_sign` and its signature verifies."""
    given = vector["input"]
    message = to_sign(str(given["timestamp"]), given["method"], given["path"], given["query"], given["body"].encode())
    assert message == vector["string_to_sign"]
    public = _public(VECTORS["keypairs"][vector["keypair_id"]]["public_key_spki_pem"])
    assert verify(public, message, base64.b64decode(vector["signature"]))
    assert len(VECTORS["vectors"]) == 30
