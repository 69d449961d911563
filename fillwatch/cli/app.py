"""The command line: one command per venue, plus ``demo`` and ``replay``; the error boundary.

Commands are thin: they resolve options (:mod:`fillwatch.cli.options`) and
credentials (:mod:`fillwatch.cli.credentials`) into a venue adapter, then hand it
to :func:`fillwatch.session.pipeline.tail` under ``asyncio.run``. Every
:class:`~fillwatch.core.errors.FillwatchError` becomes one line on stderr and its
exit code; anything else is a bug, reported in one line (with the traceback
only under ``-v``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

try:  # the Click that typer raises from: recent typers carry their own copy (a Click installed beside it is not it)
    from typer._click import exceptions as click_errors
except ImportError:  # typer up to 0.2x depends on Click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

from fillwatch import __version__
from fillwatch.cli.options import (
    ApiUrlOpt,
    BellOpt,
    Color,
    ColorOpt,
    ConfigOpt,
    DemoVenue,
    DurationOpt,
    Env,
    EnvOpt,
    Format,
    FormatOpt,
    JsonOpt,
    KeyType,
    KindOpt,
    MarketOpt,
    MaxEventsOpt,
    MaxRetriesOpt,
    NoFollowOpt,
    OutputOpt,
    ProfileOpt,
    QuietOpt,
    RawOpt,
    RecordOpt,
    RunOptions,
    SinceOpt,
    SpeedOpt,
    StallOpt,
    StateOpt,
    TokenUrlOpt,
    VerboseOpt,
    WsUrlOpt,
    output_format,
    output_warning,
    resolve,
)
from fillwatch.core.config import check_url
from fillwatch.core.errors import ConfigError, ExitCode, FillwatchError

__all__ = ["app", "main"]

app = typer.Typer(
    name="fillwatch",
    help=(
        "Tail your own fills and cancels on Kalshi and Novig.\n\n"
        "fillwatch --profile NAME [OPTIONS] runs the venue that profile NAME names (see README: Profiles)."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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


def _warn(message: str) -> None:
    from fillwatch.render.views import warning

    warning(message)


def _check_output(output: object) -> None:
    """Warn of ``-o json`` and the like: a format name given as the output file."""
    warning = output_warning(output)
    if warning is not None:
        _warn(warning)


def _fail(message: str, code: int) -> NoReturn:
    from fillwatch.render.status import stamp

    sys.stderr.write(stamp(f"fillwatch: error: {message}\n"))
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


def _run(main: Coroutine[Any, Any, int]) -> int:
    """``asyncio.run`` with the pipeline's handling of a closed stdout (imported only when a run starts)."""
    from fillwatch.session.pipeline import run_to_end

    return run_to_end(main)


def _from_flags(ctx: typer.Context, *names: str) -> set[str]:
    """Which of `names` the user gave on the command line (not by variable or profile)."""
    return {name for name in names if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}


@app.command("kalshi")
def kalshi_command(
    ctx: typer.Context,
    key_id: Annotated[str | None, typer.Option("--key-id", envvar="KALSHI_API_KEY_ID", help="API key id.")] = None,
    private_key: Annotated[
        Path | None,
        typer.Option(
            "--private-key",
            envvar="KALSHI_PRIVATE_KEY_PATH",
            help="PEM private key file, RSA or Ed25519 (or the PEM text in KALSHI_PRIVATE_KEY_PEM).",
        ),
    ] = None,
    env: EnvOpt = Env.prod,
    ws_url: WsUrlOpt = None,
    api_url: ApiUrlOpt = None,
    fmt: FormatOpt = Format.auto,
    json: JsonOpt = False,
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
        from fillwatch.cli.credentials import kalshi_venue
        from fillwatch.session.pipeline import tail
        from fillwatch.venues.kalshi import adapter as kalshi

        values, chosen = resolve(ctx, "kalshi", warn=_warn)
        _check_output(values["output"])
        default_ws, default_api = kalshi.ENDPOINTS[Env(values["env"]).value]
        url = check_url(values["ws_url"] or default_ws, option="--ws-url", secure="wss", plain="ws")
        rest = check_url(values["api_url"] or default_api, option="--api-url", secure="https", plain="http")
        options = RunOptions.of(values)
        options.check()
        venue = kalshi_venue(values, chosen, rest, warn=_warn)
        return _run(tail(venue, url, options, account=venue.key_id))

    _guard(verbose, work)


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
    json: JsonOpt = False,
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
    """Tail your Novig fills and cancels (the private channel), and the cancels of markets closing."""

    def work() -> int:
        from fillwatch.cli.credentials import novig_credentials, novig_session
        from fillwatch.venues.novig import adapter as novig

        values, _ = resolve(ctx, "novig", warn=_warn)
        _check_output(values["output"])
        defaults = novig.ENDPOINTS[Env(values["env"]).value]
        url = check_url(values["ws_url"] or defaults.ws, option="--ws-url", secure="wss", plain="ws")
        rest = check_url(values["api_url"] or defaults.api, option="--api-url", secure="https", plain="http")
        tokens = check_url(values["token_url"] or defaults.token, option="--token-url", secure="https", plain="http")
        credentials = novig_credentials(values, from_flags=_from_flags(ctx, "token", "client_id", "client_secret"))
        options = RunOptions.of(values)
        options.check()
        venue = novig.Novig(api_url=rest, token_url=tokens)
        return _run(novig_session(credentials, venue, url, options))

    _guard(verbose, work)


@app.command("demo")
def demo_command(
    venue: Annotated[DemoVenue, typer.Option("--venue", help="The venue to simulate.")] = DemoVenue.kalshi,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Simulated events per second.")] = 3.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Make the simulated activity repeatable.")] = None,
    key_type: Annotated[
        KeyType | None, typer.Option("--key-type", help="The simulated Kalshi key: rsa (default) or ed25519.")
    ] = None,
    fmt: FormatOpt = Format.auto,
    json: JsonOpt = False,
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
    """Watch a simulated Kalshi (or Novig) on loopback: no account, no network.

    The simulated Kalshi verifies real signatures made with a throwaway key
    (RSA-PSS, or Ed25519 with --key-type ed25519); the simulated Novig issues
    expiring OAuth tokens to throwaway client credentials. fillwatch tails
    either exactly as `fillwatch kalshi` or `fillwatch novig` tails the real venue.
    """
    options = RunOptions(
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

    def announce(name: str, url: str) -> None:
        if not quiet:
            from fillwatch.render.status import stamp

            sys.stderr.write(stamp(f"fillwatch: demo: simulated {name} at {url} ({rate:g} events/s)\n"))

    async def kalshi_session() -> ExitCode:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from fillwatch.session.pipeline import tail
        from fillwatch.sim.kalshi import KalshiSim, Script
        from fillwatch.venues.kalshi import adapter as kalshi

        key = ed25519.Ed25519PrivateKey.generate() if key_type is KeyType.ed25519 else None
        async with KalshiSim(Script(rate=rate, seed=seed), key=key) as sim:
            announce("Kalshi", sim.url)
            return await tail(
                kalshi.Kalshi(sim.key_id, sim.key, api_url=sim.api_url), sim.url, options, account=sim.key_id
            )

    async def novig_session() -> ExitCode:
        from fillwatch.cli import credentials
        from fillwatch.core.secret import Secret
        from fillwatch.sim import novig as novig_sim
        from fillwatch.venues.novig import adapter as novig

        async with novig_sim.NovigSim(novig_sim.Script(rate=rate, seed=seed)) as sim:
            announce("Novig", sim.url)
            creds = credentials.NovigCredentials(sim.client_id, Secret(sim.client_secret), "client id and secret")
            adapter = novig.Novig(api_url=sim.api_url, token_url=sim.token_url)
            return await credentials.novig_session(creds, adapter, sim.url, options)

    def work() -> int:
        nonlocal options
        _check_output(output)
        options = dataclasses.replace(options, fmt=output_format(fmt, json=json))
        options.check()
        if venue is DemoVenue.novig and key_type is not None:
            raise ConfigError("--key-type chooses the simulated Kalshi key; it does not apply to --venue novig")
        return _run(novig_session() if venue is DemoVenue.novig else kalshi_session())

    _guard(verbose, work)


@app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A --record recording, or an --output file.")],
    speed: SpeedOpt = None,
    fmt: FormatOpt = Format.auto,
    json: JsonOpt = False,
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

    from fillwatch.core.filters import selector
    from fillwatch.render.views import open_views
    from fillwatch.session import recording
    from fillwatch.session.pipeline import output_sink
    from fillwatch.session.runner import run

    async def session() -> ExitCode:
        _check_output(output)
        entries = recording.read(file)
        views = open_views(
            output_format(fmt, json=json).value,
            venue="replay",
            env="replay",
            replay=file.name,
            color=color.value,
            quiet=quiet,
            raw=raw,
            extra=output_sink(output, raw=raw),
        )
        items = recording.replay(entries, speed=speed, raw=raw)
        globs, wanted = markets or [], [kind.value for kind in kinds or ()]
        select = views.filter(selector(globs, wanted), globs=globs, kinds=wanted)
        return await run(items, views.sinks, select=select, max_events=max_events)

    _guard(verbose, lambda: _run(session()))


def usage_error(exc: click_errors.UsageError) -> str:
    """A usage error from Click in fillwatch's one-line form, with a suggestion."""
    message = " ".join(exc.format_message().split()).replace("Value error, ", "")
    if isinstance(exc, click_errors.NoSuchOption) and exc.possibilities:
        message = f"no such option: {exc.option_name} (did you mean {sorted(exc.possibilities)[0]}?)"
    elif message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    message = re.sub(r"\. Did you mean (.*)\?$", r" (did you mean \1?)", message).rstrip(".")
    path = exc.ctx.command_path if exc.ctx is not None else "fillwatch"
    return f"fillwatch: error: {message}; see '{path} --help'\n"


_COMMANDS = ("kalshi", "novig", "demo", "replay")
_ROOT_OPTIONS = ("--profile", "--config")


def profile_argv(args: list[str], environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """``fillwatch [--config FILE] --profile NAME [OPTIONS]`` (or ``fillwatch watch --profile NAME …``):
    the command named by the profile's ``venue``, so that recipes need no venue name.

    Other command lines are returned as they are.
    """
    rest = ["--profile" if arg == "-p" else arg for arg in args]  # `watch -p NAME`, as CONTRACT §1 writes it
    watch = rest[:1] == ["watch"]
    if watch:
        rest = rest[1:]
    elif not rest or not rest[0].startswith(_ROOT_OPTIONS):
        return args
    found: dict[str, str] = {}
    for index, arg in enumerate(rest):
        option, equals, value = arg.partition("=")
        if option in _ROOT_OPTIONS and not equals and index + 1 < len(rest):
            found.setdefault(option, rest[index + 1])
        elif option in _ROOT_OPTIONS and equals:
            found.setdefault(option, value)
    name = found.get("--profile") or (environ.get("FILLWATCH_PROFILE") if watch else None)
    if not name:
        raise ConfigError("--profile NAME is needed to run a profile without naming its venue")
    head = 0
    while head < len(rest) and rest[head].partition("=")[0] in _ROOT_OPTIONS:
        head += 1 if "=" in rest[head] else 2
    if head < len(rest) and rest[head] in _COMMANDS:  # `fillwatch --profile main kalshi …`
        return [rest[head], *rest[:head], *rest[head + 1 :]]
    from fillwatch.cli import profiles

    config = found.get("--config") or environ.get("FILLWATCH_CONFIG")
    profile = profiles.load(Path(config) if config else profiles.default_config_path(), name)
    extra = [] if "--profile" in found else ["--profile", name]
    return [profile.venue, *extra, *rest]


def main() -> None:
    """The console script's entry point; Click's usage errors become one line and exit 2."""
    try:
        args = profile_argv(sys.argv[1:], os.environ)
    except FillwatchError as exc:
        from fillwatch.render.status import stamp

        sys.stderr.write(stamp(f"fillwatch: error: {exc}\n"))
        sys.exit(exc.exit_code)
    try:
        code = app(args=args, prog_name="fillwatch", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        from fillwatch.render.status import stamp

        sys.stderr.write(stamp(usage_error(exc)))
        sys.exit(ExitCode.USAGE)
    except click_errors.Abort:
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
