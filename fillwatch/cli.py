"""The command line: one command per venue, plus ``demo``; the error boundary.

Commands are thin: they resolve options into a venue adapter, stream options
and sinks, then hand them to :func:`fillwatch.runner.run` under
``asyncio.run``. Every :class:`~fillwatch.errors.FillwatchError` becomes one
line on stderr and its exit code; anything else is a bug, reported in one line
(with the traceback only under ``-v``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from fillwatch import __version__
from fillwatch.config import check_url, load_private_key, parse_duration, read_key_file
from fillwatch.errors import ConfigError, ExitCode, FillwatchError
from fillwatch.net.http import RestClient
from fillwatch.net.stream import Authenticate, StreamOptions, watch
from fillwatch.net.token import ClientCredentials, FixedToken, TokenSource, bearer_authenticator
from fillwatch.render import Sink
from fillwatch.render.jsonl import JsonLinesSink
from fillwatch.render.lines import LinesSink
from fillwatch.render.status import StatusSink
from fillwatch.runner import run
from fillwatch.secret import Secret
from fillwatch.venues import kalshi, novig
from fillwatch.venues.base import Venue

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
TokenUrlOpt = Annotated[
    str | None, typer.Option("--token-url", help="Override the token endpoint's URL (http:// only on loopback).")
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
        return parse_duration(self.duration).total_seconds() if self.duration else None


def _sinks(fmt: Format, output: Path | None, *, venue: str, quiet: bool) -> list[Sink]:
    """The stdout sink for `fmt`, the ``--output`` file, and the stderr diagnostics."""
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


async def _tail(venue: Venue, url: str, options: _RunOptions, *, authenticate: Authenticate | None = None) -> ExitCode:
    """Stream `venue` at `url` into the sinks until the run ends: the one client path."""
    seconds = options.seconds()
    sinks = _sinks(options.fmt, options.output, venue=venue.name, quiet=options.quiet)
    stream = StreamOptions(url=url, max_retries=options.max_retries, stall_timeout=options.stall_timeout)
    items = watch(venue, stream, authenticate=authenticate)
    return await run(items, sinks, max_events=options.max_events, duration=seconds)


def _asyncio_run(main: Coroutine[Any, Any, ExitCode]) -> int:
    try:
        return asyncio.run(main)
    except BrokenPipeError:  # stdout closed while the last lines were written
        return ExitCode.OK


def _kalshi_venue(key_id: str | None, private_key: Path | None, api_url: str) -> Venue:
    """Resolve Kalshi credentials: flag > env var; the key path beats the PEM variable."""
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


@dataclass(frozen=True)
class _NovigCredentials:
    """Either a client id and secret (renewable tokens) or a ready token, and where it came from."""

    client_id: str | None
    secret: Secret
    origin: str

    def tokens(self, venue: novig.Novig, rest: RestClient) -> TokenSource:
        if self.client_id is None:
            return FixedToken(self.secret, venue=venue.name, origin=self.origin)
        client_id = self.client_id

        def on_token(token: Secret) -> None:
            venue.token = token

        return ClientCredentials(
            rest,
            lambda: venue.token_request(client_id, self.secret),
            venue.parse_token,
            venue=venue.name,
            on_token=on_token,
        )


def _novig_credentials(
    client_id: str | None,
    client_secret: str | None,
    token: str | None,
    *,
    token_flag: bool,
    client_flag: bool,
) -> _NovigCredentials:
    """Resolve Novig credentials (CONTRACT §2): a flag beats every variable; among
    variables the renewable client id and secret beat ``NOVIG_TOKEN``."""
    if token_flag and client_flag:
        raise ConfigError("give either --token or --client-id/--client-secret, not both")
    if token_flag and token:
        return _NovigCredentials(None, Secret(token), "--token")
    if client_id and client_secret:
        return _NovigCredentials(client_id, Secret(client_secret), "client id and secret")
    if token and not client_flag:
        return _NovigCredentials(None, Secret(token), "NOVIG_TOKEN")
    if client_id:
        raise ConfigError("no Novig client secret: use --client-secret or set NOVIG_CLIENT_SECRET")
    if client_secret:
        raise ConfigError("no Novig client id: use --client-id or set NOVIG_CLIENT_ID")
    raise ConfigError(
        "no Novig credentials: use --client-id and --client-secret (or NOVIG_CLIENT_ID and NOVIG_CLIENT_SECRET), "
        "or a ready token with --token (NOVIG_TOKEN)"
    )


async def _novig_session(
    credentials: _NovigCredentials, venue: novig.Novig, url: str, options: _RunOptions
) -> ExitCode:
    """Tail Novig: tokens from `credentials`, your orders read first, then the stream."""
    async with RestClient() as rest:
        tokens = credentials.tokens(venue, rest)
        try:
            authenticate = bearer_authenticator(venue, tokens, rest, warm_up="orders")
            return await _tail(venue, url, options, authenticate=authenticate)
        finally:
            await tokens.aclose()


@app.command("novig")
def novig_command(
    ctx: typer.Context,
    client_id: Annotated[
        str | None, typer.Option("--client-id", envvar="NOVIG_CLIENT_ID", help="OAuth client id.")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            "--client-secret",
            envvar="NOVIG_CLIENT_SECRET",
            show_default=False,
            help="OAuth client secret (prefer the variable: flags are visible to other users in ps).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="NOVIG_TOKEN",
            show_default=False,
            help="A ready Bearer token (used as is, never renewed).",
        ),
    ] = None,
    env: EnvOpt = Env.prod,
    ws_url: WsUrlOpt = None,
    api_url: ApiUrlOpt = None,
    token_url: TokenUrlOpt = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    max_events: MaxEventsOpt = None,
    duration: DurationOpt = None,
    max_retries: MaxRetriesOpt = None,
    stall_timeout: StallOpt = 30.0,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Tail your Novig fills and cancels (the private channel), and the cancels of markets closing."""

    def from_flag(name: str) -> bool:
        source = ctx.get_parameter_source(name)  # Click's ParameterSource (Typer vendors Click)
        return source is not None and source.name == "COMMANDLINE"

    def work() -> int:
        defaults = novig.ENDPOINTS[env.value]
        url = check_url(ws_url or defaults.ws, option="--ws-url", secure="wss", plain="ws")
        rest = check_url(api_url or defaults.api, option="--api-url", secure="https", plain="http")
        tokens = check_url(token_url or defaults.token, option="--token-url", secure="https", plain="http")
        credentials = _novig_credentials(
            client_id,
            client_secret,
            token,
            token_flag=from_flag("token"),
            client_flag=from_flag("client_id") or from_flag("client_secret"),
        )
        options = _RunOptions(
            fmt=fmt,
            output=output,
            max_events=max_events,
            duration=duration,
            max_retries=max_retries,
            stall_timeout=stall_timeout,
            quiet=quiet,
        )
        options.seconds()
        venue = novig.Novig(api_url=rest, token_url=tokens)
        return _asyncio_run(_novig_session(credentials, venue, url, options))

    _guard(verbose, work)


class DemoVenue(StrEnum):
    """The venue the demo simulates."""

    kalshi = "kalshi"
    novig = "novig"


@app.command("demo")
def demo_command(
    venue: Annotated[DemoVenue, typer.Option("--venue", help="The venue to simulate.")] = DemoVenue.kalshi,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Simulated events per second.")] = 3.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Make the simulated activity repeatable.")] = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    max_events: MaxEventsOpt = None,
    duration: DurationOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Watch a simulated Kalshi (or Novig) on loopback: no account, no network.

    The simulated Kalshi verifies real RSA-PSS signatures made with a throwaway
    key; the simulated Novig issues expiring OAuth tokens to throwaway client
    credentials. fillwatch tails either exactly as `fillwatch kalshi` or
    `fillwatch novig` tails the real venue.
    """
    options = _RunOptions(fmt=fmt, output=output, max_events=max_events, duration=duration, quiet=quiet)

    def announce(name: str, url: str) -> None:
        if not quiet:
            sys.stderr.write(f"fillwatch: demo: simulated {name} at {url} ({rate:g} events/s)\n")

    async def kalshi_session() -> ExitCode:
        from fillwatch.sim.kalshi import KalshiSim, Script

        async with KalshiSim(Script(rate=rate, seed=seed)) as sim:
            announce("Kalshi", sim.url)
            return await _tail(kalshi.Kalshi(sim.key_id, sim.key, api_url=sim.api_url), sim.url, options)

    async def novig_session() -> ExitCode:
        from fillwatch.sim import novig as novig_sim

        async with novig_sim.NovigSim(novig_sim.Script(rate=rate, seed=seed)) as sim:
            announce("Novig", sim.url)
            credentials = _NovigCredentials(sim.client_id, Secret(sim.client_secret), "client id and secret")
            venue = novig.Novig(api_url=sim.api_url, token_url=sim.token_url)
            return await _novig_session(credentials, venue, sim.url, options)

    session = novig_session if venue is DemoVenue.novig else kalshi_session

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
