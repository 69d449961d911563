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
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from fillwatch import __version__, profiles, recording
from fillwatch.config import check_url, load_private_key, parse_duration, parse_since, read_key_file
from fillwatch.errors import ConfigError, ExitCode, FillwatchError
from fillwatch.filters import selector
from fillwatch.follow import follow
from fillwatch.ledger import Ledger
from fillwatch.net.http import RestClient
from fillwatch.net.stream import Authenticate, Record, StreamOptions, watch
from fillwatch.net.titles import TitleResolver
from fillwatch.render import Sink
from fillwatch.render.jsonl import JsonLinesSink
from fillwatch.render.views import open_views
from fillwatch.runner import run
from fillwatch.state import CheckpointSink, StateFile
from fillwatch.venues import kalshi
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


class Color(StrEnum):
    """When to colour the output."""

    auto = "auto"
    always = "always"
    never = "never"


class Env(StrEnum):
    """The venue's production or test exchange."""

    prod = "prod"
    demo = "demo"


class Kind(StrEnum):
    """The kinds of events (``--kind``)."""

    fill = "fill"
    cancel = "cancel"


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
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="First print your history since D ago (15m, 3d) or an ISO date/time, then follow."),
]
NoFollowOpt = Annotated[bool, typer.Option("--no-follow", help="With --since or --state: print the history and exit.")]
StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state", dir_okay=False, help="Checkpoint file: resume where the last run stopped, never print twice."
    ),
]
StallOpt = Annotated[
    float, typer.Option("--stall-timeout", min=0.1, help="Replace a connection silent for this many seconds.")
]
ColorOpt = Annotated[
    Color, typer.Option("--color", help="auto (on a terminal, unless NO_COLOR is set), always or never.")
]
BellOpt = Annotated[bool, typer.Option("--bell", help="Ring the terminal bell when fills arrive (table, lines).")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No connection diagnostics or session summary on stderr.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging, and tracebacks on errors.")]
EnvOpt = Annotated[Env, typer.Option("--env", help="The venue's production or test (demo) exchange.")]
WsUrlOpt = Annotated[str | None, typer.Option("--ws-url", help="Override the WebSocket URL (ws:// only on loopback).")]
ApiUrlOpt = Annotated[
    str | None,
    typer.Option("--api-url", help="Override the REST base URL, version prefix included (http:// only on loopback)."),
]


# Profiles, selection, raw messages, record and replay (README: Profiles, Filters, Record and replay).
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="FILLWATCH_PROFILE",
        metavar="NAME",
        help="Defaults from [profiles.NAME] in the config file (flags win).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="FILLWATCH_CONFIG",
        metavar="FILE",
        dir_okay=False,
        help="The config file [default: config.toml in the user config directory].",
    ),
]
MarketOpt = Annotated[
    list[str] | None,
    typer.Option("--market", metavar="GLOB", help="Only markets matching GLOB, case-insensitively (repeatable)."),
]
KindOpt = Annotated[
    list[Kind] | None, typer.Option("--kind", metavar="fill|cancel", help="Only this kind of event (repeatable).")
]
RawOpt = Annotated[bool, typer.Option("--raw", help='Add the venue\'s original message under "raw" in JSON lines.')]
RecordOpt = Annotated[
    Path | None,
    typer.Option(
        "--record",
        dir_okay=False,
        metavar="FILE",
        help="Append every frame received, with its receive time, to FILE (for replay).",
    ),
]
SpeedOpt = Annotated[
    float | None,
    typer.Option("--speed", min=0.001, metavar="X", help="Replay at X times real time [default: as fast as possible]."),
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
    color: Color = Color.auto
    bell: bool = False
    quiet: bool = False
    since: str | None = None
    no_follow: bool = False
    state: Path | None = None
    markets: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    raw: bool = False
    record: Path | None = None
    env: str = "prod"

    @classmethod
    def of(cls, values: dict[str, Any]) -> _RunOptions:
        """The options among a command's resolved values (see :func:`_resolve`)."""
        return cls(
            fmt=Format(values["fmt"]),
            output=_path(values["output"]),
            max_events=values["max_events"],
            duration=values["duration"],
            max_retries=values.get("max_retries"),
            stall_timeout=values.get("stall_timeout", 30.0),
            quiet=values["quiet"],
            since=values.get("since"),
            no_follow=values.get("no_follow", False),
            state=_path(values.get("state")),
            markets=tuple(values["markets"] or ()),
            kinds=tuple(values["kinds"] or ()),
            raw=values["raw"],
            record=_path(values["record"]),
            color=Color(values["color"]),
            bell=values["bell"],
            env=values.get("env") or "simulated",
        )

    def seconds(self) -> float | None:
        return parse_duration(self.duration).total_seconds() if self.duration else None

    def since_time(self) -> datetime | None:
        return parse_since(self.since, datetime.now(UTC)) if self.since else None

    def check(self) -> None:
        """Usage errors found before anything starts."""
        self.seconds()
        self.since_time()
        if self.no_follow and not (self.since or self.state):
            raise ConfigError("--no-follow needs --since or --state: there is no history to print otherwise")


def _path(value: object) -> Path | None:
    return None if value is None else Path(str(value))


_GIVEN = frozenset({"COMMANDLINE", "ENVIRONMENT"})  # click's ParameterSource names


def _resolve(ctx: typer.Context, venue: str) -> tuple[dict[str, Any], profiles.Profile | None]:
    """The command's values with its ``--profile`` filled in: flag > env var > profile > default."""
    values = dict(ctx.params)
    name, config = values.pop("profile", None), values.pop("config", None)
    given = {key for key in values if getattr(ctx.get_parameter_source(key), "name", "") in _GIVEN}
    profile = None
    if name:
        profile = profiles.load(config or profiles.default_config_path(), name)
        for warning in profile.warnings:
            sys.stderr.write(f"fillwatch: warning: {warning}\n")
    return profiles.resolve(values, given=given, environ=os.environ, profile=profile, venue=venue), profile


def _output_sink(output: Path | None, *, raw: bool) -> list[Sink]:
    """The ``--output`` file's sink (appending), if asked for."""
    if output is None:
        return []
    try:
        fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot open output file {output}: {exc.strerror}") from None
    return [JsonLinesSink(fd, owns_fd=True, raw=raw)]


async def _tail(
    venue: Venue, url: str, options: _RunOptions, *, account: str, authenticate: Authenticate | None = None
) -> ExitCode:
    """Follow `venue` at `url` into the sinks until the run ends: the one client path.

    Args:
        venue: the adapter, with its credentials.
        url: the WebSocket URL.
        options: the shared command-line options.
        account: who the credentials belong to (names the ``--state`` checkpoint's owner).
        authenticate: makes credentials current before attempts (token venues).
    """
    ledger = Ledger()
    extra = _output_sink(options.output, raw=options.raw)
    checkpoint = None
    if options.state is not None:
        state = StateFile(options.state, venue=venue.name, account=account)
        state.lock()
        checkpoint = state.load()
        ledger = Ledger(checkpoint=checkpoint)
        extra.append(CheckpointSink(state, ledger))
    recorder = None
    if options.record is not None:
        recorder = recording.Recorder(options.record, venue=venue.name, checkpoint=checkpoint)
        extra.append(recorder)
    views = open_views(
        options.fmt.value,
        venue=venue.name,
        env=options.env,
        color=options.color.value,
        bell=options.bell,
        quiet=options.quiet,
        raw=options.raw,
        extra=extra,
    )
    stream = StreamOptions(
        url=url, max_retries=options.max_retries, stall_timeout=options.stall_timeout, raw=options.raw
    )
    hooks = [hook for hook in (views.on_frame, recorder and recorder.frame) if hook is not None]
    live = None if options.no_follow else watch(venue, stream, authenticate=authenticate, record=_each(hooks))
    async with RestClient() as rest:
        sinks = views.sinks
        resolver = None
        if views.wants_titles:
            resolver = TitleResolver(venue, rest, titles=views.titles, on_title=views.redraw)
            sinks = [resolver, *sinks]
        items = follow(
            venue,
            live,
            rest,
            ledger,
            since=options.since_time(),
            authenticate=authenticate,
            record_history=None if recorder is None else recorder.history,
        )
        select = selector(options.markets, options.kinds)
        try:
            return await run(items, sinks, select=select, max_events=options.max_events, duration=options.seconds())
        finally:
            if resolver is not None:
                await resolver.aclose()


def _each(hooks: list[Record]) -> Record | None:
    """One record hook that calls each of `hooks` (None when there are none)."""
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def record(at: float, frame: str | bytes) -> None:
        for hook in hooks:
            hook(at, frame)

    return record


def _asyncio_run(main: Coroutine[Any, Any, ExitCode]) -> int:
    try:
        return asyncio.run(main)
    except BrokenPipeError:  # stdout closed while the last lines were written
        return ExitCode.OK


def _kalshi_venue(values: dict[str, Any], profile: profiles.Profile | None, api_url: str) -> kalshi.Kalshi:
    """Kalshi credentials from resolved values: the key path beats the PEM text (CONTRACT §2)."""
    key_id, private_key, pem_text = values["key_id"], values["private_key"], values["private_key_pem"]
    if not key_id:
        raise ConfigError("no Kalshi API key id: use --key-id, set KALSHI_API_KEY_ID, or key_id in a profile")
    if private_key is not None:
        private_key = Path(private_key)
        pem, warning = read_key_file(private_key.expanduser())
        origin = str(private_key)
        if warning:
            sys.stderr.write(f"fillwatch: warning: {warning}\n")
    elif pem_text:
        pem = pem_text.encode()
        from_env = bool(os.environ.get("KALSHI_PRIVATE_KEY_PEM"))
        origin = "KALSHI_PRIVATE_KEY_PEM" if from_env or profile is None else f"{profile.where()}: private_key_pem"
    else:
        raise ConfigError(
            "no Kalshi private key: use --private-key FILE, set KALSHI_PRIVATE_KEY_PATH or KALSHI_PRIVATE_KEY_PEM,"
            " or private_key in a profile"
        )
    return kalshi.Kalshi(key_id, load_private_key(pem, origin=origin), api_url=api_url)


@app.command("kalshi")
def kalshi_command(
    ctx: typer.Context,
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
    since: SinceOpt = None,
    no_follow: NoFollowOpt = False,
    state: StateOpt = None,
    max_retries: MaxRetriesOpt = None,
    stall_timeout: StallOpt = 30.0,
    color: ColorOpt = Color.auto,
    bell: BellOpt = False,
    quiet: QuietOpt = False,
    markets: MarketOpt = None,
    kinds: KindOpt = None,
    raw: RawOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Tail your Kalshi fills (channel fill) and cancels (channel user_orders)."""

    def work() -> int:
        values, chosen = _resolve(ctx, "kalshi")
        default_ws, default_api = kalshi.ENDPOINTS[Env(values["env"]).value]
        url = check_url(values["ws_url"] or default_ws, option="--ws-url", secure="wss", plain="ws")
        rest = check_url(values["api_url"] or default_api, option="--api-url", secure="https", plain="http")
        options = _RunOptions.of(values)
        options.check()
        venue = _kalshi_venue(values, chosen, rest)
        return _asyncio_run(_tail(venue, url, options, account=venue.key_id))

    _guard(verbose, work)


@app.command("demo")
def demo_command(
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Simulated events per second.")] = 3.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Make the simulated activity repeatable.")] = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    max_events: MaxEventsOpt = None,
    duration: DurationOpt = None,
    since: SinceOpt = None,
    state: StateOpt = None,
    color: ColorOpt = Color.auto,
    bell: BellOpt = False,
    quiet: QuietOpt = False,
    markets: MarketOpt = None,
    kinds: KindOpt = None,
    raw: RawOpt = False,
    record: RecordOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Watch a simulated Kalshi on loopback: no account, no network.

    The simulator verifies real RSA-PSS signatures made with a throwaway key,
    and fillwatch tails it exactly as `fillwatch kalshi` tails the real venue.
    """
    from fillwatch.sim.kalshi import KalshiSim, Script

    options = _RunOptions(
        fmt=fmt,
        output=output,
        max_events=max_events,
        duration=duration,
        color=color,
        bell=bell,
        quiet=quiet,
        env="simulated",
        since=since,
        state=state,
        markets=tuple(markets or ()),
        kinds=tuple(kinds or ()),
        raw=raw,
        record=record,
    )

    async def session() -> ExitCode:
        async with KalshiSim(Script(rate=rate, seed=seed)) as sim:
            if not quiet:
                sys.stderr.write(f"fillwatch: demo: simulated Kalshi at {sim.url} ({rate:g} events/s)\n")
            venue = kalshi.Kalshi(sim.key_id, sim.key, api_url=sim.api_url)
            return await _tail(venue, sim.url, options, account=sim.key_id)

    def work() -> int:
        options.check()
        return _asyncio_run(session())

    _guard(verbose, work)


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A --record recording, or an --output file.")],
    speed: SpeedOpt = None,
    fmt: FormatOpt = Format.auto,
    output: OutputOpt = None,
    markets: MarketOpt = None,
    kinds: KindOpt = None,
    raw: RawOpt = False,
    max_events: MaxEventsOpt = None,
    color: ColorOpt = Color.auto,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show a recording (--record) or an event file (--output) again, through the same filters and formats.

    A recording gives exactly the lines the live run printed: its frames go
    through the same parser. No credentials are needed.
    """

    async def session() -> ExitCode:
        entries = recording.read(file)
        views = open_views(
            fmt.value,
            venue="replay",
            env="replay",
            color=color.value,
            quiet=quiet,
            raw=raw,
            extra=_output_sink(output, raw=raw),
        )
        items = recording.replay(entries, speed=speed, raw=raw)
        return await run(items, views.sinks, select=selector(markets or (), kinds or ()), max_events=max_events)

    _guard(verbose, lambda: _asyncio_run(session()))


def main() -> None:
    """The console script's entry point."""
    try:
        app(prog_name="fillwatch")
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
