"""The commands: one per venue of the registry, plus ``demo`` and ``replay``, built from declarations.

Commands are thin: they resolve options (:mod:`fillwatch.cli.options`) and
hand the venue's spec ``build``, with those values, to :func:`fillwatch.cli.run.tail`
under ``asyncio.run``: the session builds the adapter once, with its clock. No venue is
named here: the venue commands and ``demo``'s choices come from
:data:`fillwatch.venues.REGISTRY`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fillwatch import venues
from fillwatch.cli import profiles
from fillwatch.cli.boundary import check_output, from_flags, guard, run, warn
from fillwatch.cli.options import RunOptions, table
from fillwatch.cli.params import Param, choices, command, param, shared, simulator_params, venue_params
from fillwatch.core.config import check_url
from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.venues.spec import BuildContext, Built, VenueSpec

__all__ = ["ALL_VENUES", "register"]

ALL_VENUES = "all"
"""``demo --venue all``: every venue's simulator, side by side."""
MAX_DEMO_ACCOUNTS = 12

DEMO_HELP = """Watch a simulated Kalshi (or Novig) on loopback: no account, no network.

    The simulated Kalshi verifies real signatures made with a throwaway key
    (RSA-PSS, or Ed25519 with --key-type ed25519); the simulated Novig issues
    expiring OAuth tokens to throwaway client credentials. fillwatch tails
    either exactly as `fillwatch kalshi` or `fillwatch novig` tails the real venue.
    """

REPLAY_HELP = """Show a recording (--record) or an event file (--output) again, through the same filters and formats.

    A recording gives exactly the lines the live run printed: its frames go
    through the same parser. No credentials are needed.
    """


def register(app: typer.Typer) -> None:
    """Add every command to `app`: the registry's venues, then ``demo`` and ``replay``."""
    for spec in venues.REGISTRY.values():
        app.command(spec.name)(command(spec.name, spec.help, venue_params(spec), _tail(spec)))
    app.command("demo")(command("demo", DEMO_HELP, _demo_params(), _demo))
    app.command("replay")(command("replay", REPLAY_HELP, _replay_params(), _replay))
    from fillwatch.cli import watch

    watch.register(app)


# The venue commands ------------------------------------------------------------


def _tail(spec: VenueSpec) -> Any:
    """The body of `spec`'s command."""

    def body(given: dict[str, Any]) -> None:
        ctx: typer.Context = given["ctx"]

        def work() -> int:
            values, profile = resolve(ctx, spec.name, warn=warn)
            check_output(values["output"])
            urls = endpoint_urls(spec, values)
            options = RunOptions.of(values)
            options.check()
            context = BuildContext(
                environ=os.environ,
                from_flags=from_flags(ctx, [option.name for option in spec.options]),
                profile=None if profile is None else profile.where(),
                warn=warn,
            )
            account = None if profile is None else profile.name
            return run(_tail_spec(spec, {**values, **urls}, context, options, account=account))

        guard(bool(given["verbose"]), work)

    return body


def endpoint_urls(spec: VenueSpec, values: dict[str, Any]) -> dict[str, str]:
    """Each endpoint's URL, by the parameter that overrides it: the override, else the environment's; checked."""
    overrides = {o.endpoint: (name, o.flags[0]) for name, o in table().items() if o.endpoint is not None}
    overrides.update({o.endpoint: (o.name, o.flags[0]) for o in spec.options if o.endpoint is not None})
    found: dict[str, str] = {}
    for endpoint, default in spec.endpoints[str(values["env"])].items():
        name, flag = overrides[endpoint]
        secure, plain = ("wss", "ws") if endpoint == "ws" else ("https", "http")
        found[name] = check_url(values.get(name) or default, option=flag, secure=secure, plain=plain)
    return found


async def _tail_spec(
    spec: VenueSpec, values: dict[str, Any], context: BuildContext, options: RunOptions, *, account: str | None = None
) -> ExitCode:
    """Run one session of `spec`'s venue: the session calls its ``build`` once, with the clock it chooses."""
    from fillwatch.cli.run import tail

    def connect(clock: Callable[[], float]) -> Built:
        return spec.build(values, context, clock=clock)

    return await tail(connect, options, account=account)


# demo ----------------------------------------------------------------------------


def _demo_params() -> list[Param]:
    names = list(venues.REGISTRY)
    venue = choices("DemoVenue", [*names, ALL_VENUES])
    return [
        param(
            "venue",
            venue | None,
            None,
            "--venue",
            show_default=False,
            help=f"The venue to simulate (all: each, side by side) [default: {names[0]}; all with --accounts].",
        ),
        param(
            "accounts",
            int,
            1,
            "--accounts",
            min=1,
            max=MAX_DEMO_ACCOUNTS,
            help="Simulated accounts, shown merged as a watch shows them (over the venues of --venue, in turn).",
        ),
        param("rate", float, 3.0, "--rate", min=0.1, help="Simulated events per second (per account)."),
        param("seed", int | None, None, "--seed", help="Make the simulated activity repeatable."),
        *simulator_params(venues.REGISTRY.values()),
        *shared("demo"),
    ]


def _demo(values: dict[str, Any]) -> None:
    accounts = int(values["accounts"])
    name = str(values["venue"] or (ALL_VENUES if accounts > 1 else next(iter(venues.REGISTRY))))
    chosen = list(venues.REGISTRY.values()) if name == ALL_VENUES else [venues.spec(name)]

    def work() -> int:
        check_output(values["output"])
        options = RunOptions.of(values)
        options.check()
        for other in venues.REGISTRY.values():
            for option in other.simulator.options if other not in chosen else ():
                if values.get(option.name) is not None:
                    raise ConfigError(f"{option.flags[0]} {option.purpose}; it does not apply to --venue {name}")
        count = max(accounts, len(chosen))
        if count == 1:
            return run(_simulated(chosen[0], values, options))
        from fillwatch.cli.watch import simulated_watch

        return run(simulated_watch([chosen[i % len(chosen)] for i in range(count)], values, options))

    guard(bool(values["verbose"]), work)


async def _simulated(spec: VenueSpec, values: dict[str, Any], options: RunOptions) -> ExitCode:
    """Tail `spec`'s simulator exactly as its command tails the real venue."""
    rate = values["rate"]
    async with simulator(spec)(values, rate=rate, seed=values["seed"]) as sim:
        if not options.quiet:
            from fillwatch.render.status import stamp

            sys.stderr.write(stamp(f"fillwatch: demo: simulated {spec.title} at {sim.url} ({rate:g} events/s)\n"))
        return await _tail_spec(spec, dict(sim.values), BuildContext(environ={}), options)


def simulator(spec: VenueSpec) -> Any:
    """`spec`'s ``simulate`` (an async context manager of a :class:`~fillwatch.venues.spec.Simulated`), imported now."""
    module, _, function = spec.simulator.target.partition(":")
    return getattr(importlib.import_module(module), function)


# replay --------------------------------------------------------------------------


def _replay_params() -> list[Param]:
    file = Annotated[Path, typer.Argument(dir_okay=False, help="A --record recording, or an --output file.")]
    return [Param("file", Param.KEYWORD_ONLY, annotation=file), *shared("replay")]


def _replay(values: dict[str, Any]) -> None:
    from fillwatch.cli.run import replay
    from fillwatch.session import recording

    file: Path = values["file"]

    async def session() -> ExitCode:
        check_output(values["output"])
        entries = recording.read(file)
        options = RunOptions.of(values)
        return await replay(recording.replay(entries, speed=options.speed, raw=options.raw), options, name=file.name)

    guard(bool(values["verbose"]), lambda: run(session()))


# Options and profiles ------------------------------------------------------------

_GIVEN = frozenset({"COMMANDLINE", "ENVIRONMENT"})  # click's ParameterSource names


def resolve(
    ctx: typer.Context, venue: str, *, warn: Callable[[str], None]
) -> tuple[dict[str, Any], profiles.Profile | None]:
    """The command's values with its ``--profile`` filled in: flag > env var > profile > default.

    `warn` is told of what the profile's checks found worth a warning.
    """
    values = dict(ctx.params)
    name, config = values.pop("profile", None), values.pop("config", None)
    given = {key for key in values if getattr(ctx.get_parameter_source(key), "name", "") in _GIVEN}
    profile = None
    if name:
        profile = profiles.load(config or profiles.default_config_path(), name)
        for warning in profile.warnings:
            warn(warning)
    return profiles.resolve(values, given=given, environ=os.environ, profile=profile, venue=venue), profile
