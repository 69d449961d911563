"""``fillwatch watch -p NAME [-p NAME …] [-g GROUP …]``: several accounts, one window.

Each profile is one account: its venue, credentials and endpoints come from the
profile alone (a credential variable such as ``KALSHI_API_KEY_ID`` cannot say which
of two accounts it is for: a profile names its variables itself, with ``<key>_env``).
``--max-retries`` and ``--stall-timeout`` are per account (flag > profile > default);
everything else is the watch's own, from its command line: one format, one
``--output`` file, one bound. ``--state DIR`` keeps one checkpoint per account in a
directory, locked as a whole; ``--record DIR`` one recording per account
(``DIR/NAME.rec``, each replayed on its own).

Without ``-p`` or ``-g`` the config file's ``[groups] default`` is watched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from fillwatch import venues
from fillwatch.cli import profiles
from fillwatch.cli.boundary import check_output, guard, run, warn
from fillwatch.cli.commands import endpoint_urls, simulator
from fillwatch.cli.options import RunOptions, table
from fillwatch.cli.params import Param, command, param, shared, venue_params
from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.session.watch import Member
from fillwatch.venues.spec import BuildContext, Built, VenueSpec

if TYPE_CHECKING:
    from fillwatch.session.state import StateDirectory

__all__ = ["register", "simulated_watch"]

WATCH_HELP = """Watch several accounts (profiles, any venues) in one table, one stream of lines, one --output.

    Each -p NAME is a [profiles.NAME] of the config file; -g GROUP adds the profiles
    of [groups] GROUP = ["main", "hedge", ...]. Without either, the group named
    "default" is watched. Every JSON line names its account ("account": NAME).
    One account's failure (rejected credentials, a venue given up on) does not stop
    the others; the exit status is the highest of the accounts' codes.
    """

_PER_ACCOUNT = frozenset({"max_retries", "stall_timeout"})
"""The shared options a profile may still set for its account in a watch (unless given as flags)."""


def register(app: typer.Typer) -> None:
    """Add ``watch`` to `app`."""
    app.command("watch")(command("watch", WATCH_HELP, _params(), _watch))


def _params() -> list[Param]:
    ctx = Param("ctx", Param.KEYWORD_ONLY, annotation=typer.Context)
    names = param(
        "profiles",
        list[str] | None,
        None,
        *table()["profile"].flags,
        "-p",
        metavar="NAME",
        help="An account: a profile's name (repeatable).",
    )  # fmt: skip: the venue commands' --profile, taken many times
    groups = param(
        "groups", list[str] | None, None, "--group", "-g", help="The profiles of [groups] GROUP (repeatable).",
        metavar="GROUP",
    )  # fmt: skip
    return [ctx, names, groups, *shared("watch")]


def _watch(values: dict[str, Any]) -> None:
    ctx: typer.Context = values.pop("ctx")

    def work() -> int:
        check_output(values["output"])
        config = values.pop("config") or profiles.default_config_path()
        names = _names(config, values.pop("profiles") or [], values.pop("groups") or [])
        given = {key for key in values if getattr(ctx.get_parameter_source(key), "name", "") == "COMMANDLINE"}
        options = RunOptions.of(values)
        options.check()
        return run(_run([_account(config, name, values, given) for name in names], options))

    guard(bool(values["verbose"]), work)


def _names(config: Path, names: list[str], groups: list[str]) -> list[str]:
    """The accounts to watch: the ``-p`` profiles, then each ``-g`` group's, each once."""
    found = list(names)
    for name in groups or ([] if names else ["default"]):
        members = profiles.group(config, name)
        if members is None:
            if name == "default" and not groups:
                raise ConfigError(f'watch needs -p NAME or -g GROUP (or [groups] default = ["..."] in {config})')
            raise ConfigError(f"{config}: no group {name!r} in [groups]")
        found += members
    twice = sorted({name for name in found if found.count(name) > 1})
    if twice:
        raise ConfigError(f"account {twice[0]!r} is named twice: each profile is watched once")
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class _Account:
    name: str
    spec: VenueSpec
    values: dict[str, Any]
    context: BuildContext


def _account(config: Path, name: str, watch_values: dict[str, Any], given: set[str]) -> _Account:
    """One profile as an account: its venue's values, the profile's where the watch leaves them to it."""
    profile = profiles.load(config, name)
    for warning in profile.warnings:
        warn(warning)
    spec = venues.spec(profile.venue)
    values = {p.name: p.default for p in venue_params(spec) if p.name not in ("ctx", "profile", "config")}
    values.update({key: value for key, value in watch_values.items() if key in values})
    fixed = {key for key in values if key in watch_values and key not in _PER_ACCOUNT}
    ignored = sorted(
        setting for setting in profile.settings if _parameter(setting) in fixed and _parameter(setting) not in given
    )
    if ignored:
        warn(f"{profile.where()}: {', '.join(ignored)} ignored: a watch takes these from its own command line")
    resolved = profiles.resolve(
        values, given=given | fixed, environ=os.environ, profile=profile, venue=spec.name, implicit=False
    )
    resolved.update(endpoint_urls(spec, resolved))
    context = BuildContext(environ={}, profile=profile.where(), warn=warn)
    return _Account(name, spec, resolved, context)


def _parameter(setting: str) -> str:
    """The command parameter a profile setting fills in (``format`` → ``fmt``)."""
    return next((name for name, spec in table().items() if spec.profile == setting), setting)


async def _run(accounts: list[_Account], options: RunOptions) -> ExitCode:
    from fillwatch.cli.run import watch
    from fillwatch.session.state import StateDirectory, private_directory

    with contextlib.ExitStack() as stack:
        state = None
        if options.state is not None:
            state = StateDirectory(options.state)
            state.lock()
            stack.callback(state.unlock)
        if options.record is not None:
            flag = table()["record"].flags[0]
            private_directory(options.record, option=flag, holds="recording", what="recording")
        members = [_member(account, options, state) for account in accounts]
        return await watch(members, options)


def _member(account: _Account, watch_options: RunOptions, state: StateDirectory | None) -> Member:
    own = RunOptions.of(account.values)
    options = dataclasses.replace(
        watch_options,
        env=own.env,
        max_retries=own.max_retries,
        stall_timeout=own.stall_timeout,
        max_events=None,  # counted over every account, by the views
        state=None if state is None else state.file(account.name),
        record=None if watch_options.record is None else watch_options.record / f"{account.name}.rec",
    )
    spec, values, context = account.spec, account.values, account.context

    def connect(clock: Callable[[], float]) -> Built:
        return spec.build(values, context, clock=clock)

    return Member(account.name, spec.name, connect, options, env=options.env)


async def simulated_watch(specs: list[VenueSpec], values: dict[str, Any], options: RunOptions) -> ExitCode:
    """``demo --venue all`` / ``--accounts N``: one simulator per account (of `specs`' venues, in turn),
    watched exactly as ``watch`` watches real accounts."""
    per_venue = Counter(spec.name for spec in specs)
    seen: Counter[str] = Counter()
    async with contextlib.AsyncExitStack() as stack:
        accounts = []
        for index, spec in enumerate(specs):
            seen[spec.name] += 1
            name = spec.name if per_venue[spec.name] == 1 else f"{spec.name}-{seen[spec.name]}"
            seed = None if values["seed"] is None else values["seed"] + index
            sim = await stack.enter_async_context(simulator(spec)(values, rate=values["rate"], seed=seed))
            if not options.quiet:
                from fillwatch.render.status import stamp

                sys.stderr.write(stamp(f"fillwatch: demo: {name}: simulated {spec.title} at {sim.url}\n"))
            accounts.append(_Account(name, spec, dict(sim.values), BuildContext(environ={})))
        return await _run(accounts, options)
