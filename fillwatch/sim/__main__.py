"""Run a simulated venue by itself: ``python -m fillwatch.sim [--venue kalshi|novig] [--port P] [faults]``.

Prints the URLs and the credentials to use with ``fillwatch kalshi`` or
``fillwatch novig`` (and a profile to paste into the config file), writes the throwaway Kalshi key
where asked, and serves until interrupted. With ``--port P`` the WebSocket
listens on P and REST on P + 1, so the URLs stay the same from one start to
the next. The fault flags are the ones the tests use: drops, silence,
malformed frames, refused upgrades and failing REST.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

__all__ = ["main", "parser", "script_fields"]

_FAULTS = (
    ("--drop-after", "drop_after", "on each connection, drop TCP (no close frame) after N events"),
    ("--drops", "drops", "with --drop-after: this many drops in all (default: on every connection)"),
    ("--silent-after", "silent_after", "on each connection, send nothing at all after N events (no heartbeats)"),
    ("--garbage-every", "garbage_every", "slip a malformed frame in after every N events"),
    ("--reject", "reject", "refuse the first N WebSocket upgrades (-1: all of them)"),
    ("--reject-status", "reject_status", "the HTTP status of a refused upgrade (default 401)"),
    ("--rest-failures", "rest_failures", "answer the first N REST requests with HTTP 503"),
    ("--limit", "limit", "send N events in all, then only heartbeats"),
)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m fillwatch.sim``."""
    cli = argparse.ArgumentParser(
        prog="python -m fillwatch.sim",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " ") if __doc__ else None,
    )
    cli.add_argument("--venue", choices=("kalshi", "novig"), default="kalshi", help="the venue to simulate")
    cli.add_argument("--port", type=int, default=0, help="WebSocket port; REST listens on PORT+1 (default: any free)")
    cli.add_argument("--rate", type=float, default=3.0, help="events per second (0: as fast as possible)")
    cli.add_argument("--seed", type=int, default=None, help="make the activity repeatable")
    cli.add_argument(
        "--schema",
        choices=("current", "legacy", "mixed"),
        default="current",
        help="Kalshi message fields: the current schema (default), the legacy one, or a mix for client tests",
    )
    cli.add_argument("--key-out", type=Path, help="Kalshi: write the throwaway private key here (PEM, mode 600)")
    cli.add_argument("--client-secret", help="Novig: the client secret to accept (default: a random one)")
    faults = cli.add_argument_group("faults")
    for flag, _, text in _FAULTS:
        faults.add_argument(flag, type=int, default=None, metavar="N", help=text)
    faults.add_argument(
        "--subscribe-error", type=int, default=None, metavar="CODE", help="Kalshi: answer subscribe with this error"
    )
    return cli


def script_fields(args: argparse.Namespace, script_type: type) -> dict[str, Any]:
    """The `Script` settings the command line gives, for the fields this venue's script has."""
    known = {f.name for f in dataclasses.fields(script_type)}
    given: dict[str, Any] = {"rate": args.rate, "seed": args.seed}
    if "schema" in known:
        given["schema"] = args.schema
    for _, name, _ in _FAULTS:
        value = getattr(args, name)
        if value is not None and name in known:
            given[name] = value
    if args.subscribe_error is not None and "subscribe_error" in known:
        given["subscribe_error"] = args.subscribe_error
    return given


def _rest_port(port: int) -> int:
    return port + 1 if port else 0


async def _kalshi(args: argparse.Namespace) -> None:
    from fillwatch.sim.kalshi import KalshiSim, Script

    script = Script(**script_fields(args, Script))
    async with KalshiSim(script, port=args.port, rest_port=_rest_port(args.port)) as sim:
        if args.key_out:
            pem = sim.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
            fd = os.open(args.key_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        key = args.key_out or "KEY.pem (write it with --key-out)"
        print(f"ws_url  {sim.url}\napi_url {sim.api_url}\nkey_id  {sim.key_id}", flush=True)
        print(
            f"try:    fillwatch kalshi --ws-url {sim.url} --api-url {sim.api_url} --key-id {sim.key_id} "
            f"--private-key {key}",
            flush=True,
        )
        print(
            f'profile [profiles.sim]\nvenue = "kalshi"\nws_url = "{sim.url}"\napi_url = "{sim.api_url}"\n'
            f'key_id = "{sim.key_id}"\nprivate_key = "{key}"',
            flush=True,
        )
        await asyncio.Future()


async def _novig(args: argparse.Namespace) -> None:
    from fillwatch.sim.novig import NovigSim, Script

    script = Script(**script_fields(args, Script))
    sim_type: Any = NovigSim
    async with sim_type(
        script, client_secret=args.client_secret, port=args.port, rest_port=_rest_port(args.port)
    ) as sim:
        print(
            f"ws_url     {sim.url}\napi_url    {sim.api_url}\ntoken_url  {sim.token_url}\n"
            f"client_id  {sim.client_id}\nsecret     {sim.client_secret}",
            flush=True,
        )
        print(
            f"try:       NOVIG_CLIENT_SECRET={sim.client_secret} fillwatch novig --ws-url {sim.url} "
            f"--api-url {sim.api_url} --token-url {sim.token_url} --client-id {sim.client_id}",
            flush=True,
        )
        print(
            f'profile [profiles.sim]\nvenue = "novig"\nws_url = "{sim.url}"\napi_url = "{sim.api_url}"\n'
            f'token_url = "{sim.token_url}"\nclient_id = "{sim.client_id}"\nclient_secret = "{sim.client_secret}"',
            flush=True,
        )
        await asyncio.Future()


def main(argv: list[str] | None = None) -> None:
    """Serve the simulated venue until interrupted."""
    args = parser().parse_args(argv)
    if args.key_out:
        args.key_out = args.key_out.absolute()  # the profile printed must work from anywhere
    serve = _novig if args.venue == "novig" else _kalshi
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except OSError as exc:  # the port is taken, say
        sys.stderr.write(f"fillwatch.sim: error: cannot listen: {exc.strerror or exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
