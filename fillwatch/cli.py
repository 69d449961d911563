"""The command line: one command per venue, plus ``demo``; the error boundary.

Commands are thin: they resolve options into a venue adapter, stream options
and sinks, then hand them to :func:`fillwatch.runner.run` under
``asyncio.run``. Every :class:`~fillwatch.errors.FillwatchError` becomes one
line on stderr and its exit code; anything else is a bug, reported in one line
(with the traceback only under ``-v``).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from fillwatch import __version__
from fillwatch.errors import ConfigError, ExitCode, FillwatchError

if TYPE_CHECKING:
    from fillwatch.render import Sink
    from fillwatch.venues.base import Venue

# The network, crypto and terminal layers are imported inside the commands
# that use them: `fillwatch --version` and `--help` then start in about a
# third of the time (CONTRACT §6: --version ≤ 0.3 s).

__all__ = ["app", "main"]

app = typer.Typer(
    name="fillwatch",
    help="Tail your own fills and cancels on Kalshi and Novig.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(StrEnum):
    """How events are shown on stdout."""

    auto = "auto"
    table = "table"
    lines = "lines"
    jsonl = "jsonl"


class Env(StrEnum):
    """The venue's production or test exchange."""

    prod = "prod"
    demo = "demo"


# Options shared by every tailing command (CONTRACT §2).
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="auto (table on a terminal, jsonl otherwise), table, lines or jsonl.")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Also append every event as a JSON line to FILE.", dir_okay=False)
]
MaxEventsOpt = Annotated[int | None, typer.Option("--max-events", min=1, help="Exit 0 after N events.")]
DurationOpt = Annotated[str | None, typer.Option("--duration", help="Exit 0 after D (90s, 15m, 2h).")]
MaxRetriesOpt = Annotated[
    int | None,
    typer.Option("--max-retries", min=0, help="Exit 4 after N failed reconnects in a row [default: retry forever]."),
]
StallOpt = Annotated[
    float, typer.Option("--stall-timeout", min=0.1, help="Replace a connection silent for this many seconds.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No connection diagnostics on stderr.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging, and tracebacks on errors.")]
EnvOpt = Annotated[Env, typer.Option("--env", help="The venue's production or test (demo) exchange.")]
WsUrlOpt = Annotated[str | None, typer.Option("--ws-url", help="Override the WebSocket URL (ws:// only on loopback).")]
ApiUrlOpt = Annotated[
    str | None,
    typer.Option("--api-url", help="Override the REST base URL, version prefix included (http:// only on loopback)."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fillwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Tail your own fills and cancels on Kalshi and Novig."""


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"fillwatch: error: {message}\n")
    raise typer.Exit(code)


def _guard(verbose: bool, work: Callable[[], int]) -> NoReturn:
    """Run `work` and exit with its code; errors become one line and their exit code."""
    if verbose:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("fillwatch").setLevel(logging.DEBUG)
    try:
        code = work()
    except FillwatchError as exc:
        if verbose:
            traceback.print_exc()
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001 -- the last boundary: a bug, reported in one line
        if verbose:
            traceback.print_exc()
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", ExitCode.ERROR)
    raise typer.Exit(code)


@dataclass(frozen=True, kw_only=True)
class _RunOptions:
    """The options every tailing command shares (CONTRACT §2)."""

    fmt: Format
    output: Path | None
    max_events: int | None
    duration: str | None
    max_retries: int | None = None
    stall_timeout: float = 30.0
    quiet: bool = False

    def seconds(self) -> float | None:
        from fillwatch.config import parse_duration

        return parse_duration(self.duration).total_seconds() if self.duration else None


def _sinks(fmt: Format, output: Path | None, *, venue: str, quiet: bool) -> list[Sink]:
    """The stdout sink for `fmt`, the ``--output`` file, and the stderr diagnostics."""
    from fillwatch.render.jsonl import JsonLinesSink
    from fillwatch.render.lines import LinesSink
    from fillwatch.render.status import StatusSink

    if fmt is Format.auto:
        fmt = Format.lines if os.isatty(1) else Format.jsonl
    sinks: list[Sink] = [JsonLinesSink(1) if fmt is Format.jsonl else LinesSink(1)]
    if output is not None:
        try:
            fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open output file {output}: {exc.strerror}") from None
        sinks.append(JsonLinesSink(fd, owns_fd=True))
    sinks.append(StatusSink(sys.stderr, venue=venue, quiet=quiet))
    return sinks


async def _tail(venue: Venue, url: str, options: _RunOptions) -> ExitCode:
    """Stream `venue` at `url` into the sinks until the run ends: the one client path."""
    from fillwatch.net.stream import StreamOptions, watch
    from fillwatch.runner import run

    seconds = options.seconds()
    sinks = _sinks(options.fmt, options.output, venue=venue.name, quiet=options.quiet)
    stream = StreamOptions(url=url, max_retries=options.max_retries, stall_timeout=options.stall_timeout)
    return await run(watch(venue, stream), sinks, max_events=options.max_events, duration=seconds)


def _asyncio_run(main: Coroutine[Any, Any, ExitCode]) -> int:
    import asyncio

    try:
        return asyncio.run(main)
    except BrokenPipeError:  # stdout closed while the last lines were written
        return ExitCode.OK


def _kalshi_venue(key_id: str | None, private_key: Path | None, api_url: str) -> Venue:
    """Resolve Kalshi credentials: flag > env var; the key path beats the PEM variable."""
    from fillwatch.config import load_private_key, read_key_file
    from fillwatch.venues import kalshi

    if not key_id:
        raise ConfigError("no Kalshi API key id: use --key-id or set KALSHI_API_KEY_ID")
    if private_key is not None:
        pem, warning = read_key_file(private_key.expanduser())
        origin = str(private_key)
        if warning:
            sys.stderr.write(f"fillwatch: warning: {warning}\n")
    elif os.environ.get("KALSHI_PRIVATE_KEY_PEM"):
        pem, origin = os.environ["KALSHI_PRIVATE_KEY_PEM"].encode(), "KALSHI_PRIVATE_KEY_PEM"
    else:
        raise ConfigError(
            "no Kalshi private key: use --private-key FILE, or set KALSHI_PRIVATE_KEY_PATH or KALSHI_PRIVATE_KEY_PEM"
        )
    return kalshi.Kalshi(key_id, load_private_key(pem, origin=origin), api_url=api_url)


@app.command("kalshi")
def kalshi_command(
    key_id: Annotated[str | None, typer.Option("--key-id", envvar="KALSHI_API_KEY_ID", help="API key id.")] = None,
    private_key: Annotated[
        Path | None,
        typer.Option(
            "--private-key",
            envvar="KALSHI_PRIVATE_KEY_PATH",
            help="PEM RSA private key file (or the PEM text in KALSHI_PRIVATE_KEY_PEM).",
        ),
    ] = None,
    env: EnvOpt = Env.prod,
    ws_url: WsUrlOpt = None,
    api_url: ApiUrlOpt = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    max_events: MaxEventsOpt = None,
    duration: DurationOpt = None,
    max_retries: MaxRetriesOpt = None,
    stall_timeout: StallOpt = 30.0,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Tail your Kalshi fills (channel fill) and cancels (channel user_orders)."""

    def work() -> int:
        from fillwatch.config import check_url
        from fillwatch.venues import kalshi

        default_ws, default_api = kalshi.ENDPOINTS[env.value]
        url = check_url(ws_url or default_ws, option="--ws-url", secure="wss", plain="ws")
        rest = check_url(api_url or default_api, option="--api-url", secure="https", plain="http")
        options = _RunOptions(
            fmt=fmt,
            output=output,
            max_events=max_events,
            duration=duration,
            max_retries=max_retries,
            stall_timeout=stall_timeout,
            quiet=quiet,
        )
        options.seconds()  # a bad --duration is a usage error before anything starts
        return _asyncio_run(_tail(_kalshi_venue(key_id, private_key, rest), url, options))

    _guard(verbose, work)


@app.command("demo")
def demo_command(
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Simulated events per second.")] = 3.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Make the simulated activity repeatable.")] = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    max_events: MaxEventsOpt = None,
    duration: DurationOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Watch a simulated Kalshi on loopback: no account, no network.

    The simulator verifies real RSA-PSS signatures made with a throwaway key,
    and fillwatch tails it exactly as `fillwatch kalshi` tails the real venue.
    """
    from fillwatch.sim.kalshi import KalshiSim, Script
    from fillwatch.venues import kalshi

    options = _RunOptions(fmt=fmt, output=output, max_events=max_events, duration=duration, quiet=quiet)

    async def session() -> ExitCode:
        async with KalshiSim(Script(rate=rate, seed=seed)) as sim:
            if not quiet:
                sys.stderr.write(f"fillwatch: demo: simulated Kalshi at {sim.url} ({rate:g} events/s)\n")
            return await _tail(kalshi.Kalshi(sim.key_id, sim.key, api_url=sim.api_url), sim.url, options)

    def work() -> int:
        options.seconds()
        return _asyncio_run(session())

    _guard(verbose, work)


def main() -> None:
    """The console script's entry point."""
    try:
        app(prog_name="fillwatch")
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
