"""Run the simulated Kalshi by itself: ``python -m fillwatch.sim --key-out demo.pem``.

Prints the URLs and the key id to use with ``fillwatch kalshi``, writes the
throwaway private key where asked, and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from fillwatch.sim.kalshi import KalshiSim, Script


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fillwatch.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="WebSocket port (default: any free port)")
    parser.add_argument("--rate", type=float, default=3.0, help="events per second (0: as fast as possible)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--schema", choices=("current", "legacy", "mixed"), default="mixed")
    parser.add_argument("--key-out", type=Path, help="write the throwaway private key here (PEM, mode 600)")
    args = parser.parse_args()

    async def serve() -> None:
        async with KalshiSim(Script(rate=args.rate, seed=args.seed, schema=args.schema), port=args.port) as sim:
            if args.key_out:
                pem = sim.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
                fd = os.open(args.key_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(pem)
            print(f"ws_url  {sim.url}\napi_url {sim.api_url}\nkey_id  {sim.key_id}", flush=True)
            if args.key_out:
                print(
                    f"try:    fillwatch kalshi --ws-url {sim.url} --api-url {sim.api_url} "
                    f"--key-id {sim.key_id} --private-key {args.key_out}",
                    flush=True,
                )
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
