"""``fillwatch --profile NAME [OPTIONS]``: the command line rewritten to the command the profile's venue names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fillwatch import venues
from fillwatch.cli.options import table
from fillwatch.core.errors import ConfigError

__all__ = ["COMMANDS", "profile_argv"]

COMMANDS = (*venues.REGISTRY, "demo", "replay", "watch")
_ROOT_OPTIONS = tuple(table()[name].flags[0] for name in ("profile", "config"))


def profile_argv(args: list[str], environ: Mapping[str, str] | os._Environ[str]) -> list[str]:
    """``fillwatch [--config FILE] --profile NAME [OPTIONS]``: the command named by the profile's ``venue``,
    so that recipes need no venue name (``watch -p NAME`` is a command of its own).

    Other command lines are returned as they are.
    """
    rest = args
    if not rest or not rest[0].startswith(_ROOT_OPTIONS):
        return args
    found = _root_options(rest)
    name = found.get(_ROOT_OPTIONS[0])
    if not name:
        raise ConfigError("--profile NAME is needed to run a profile without naming its venue")
    head = _head(rest)
    if head < len(rest) and rest[head] in COMMANDS:  # `fillwatch --profile main kalshi …`
        return [rest[head], *rest[:head], *rest[head + 1 :]]
    from fillwatch.cli import profiles

    config = found.get(_ROOT_OPTIONS[1]) or environ.get("FILLWATCH_CONFIG")
    profile = profiles.load(Path(config) if config else profiles.default_config_path(), name)
    extra = [] if _ROOT_OPTIONS[0] in found else [_ROOT_OPTIONS[0], name]
    return [profile.venue, *extra, *rest]


def _root_options(rest: list[str]) -> dict[str, str]:
    """The first value of each of ``--profile`` and ``--config`` anywhere in `rest` (``--opt V`` or ``--opt=V``)."""
    found: dict[str, str] = {}
    for index, arg in enumerate(rest):
        option, equals, value = arg.partition("=")
        if option not in _ROOT_OPTIONS:
            continue
        if equals:
            found.setdefault(option, value)
        elif index + 1 < len(rest):
            found.setdefault(option, rest[index + 1])
    return found


def _head(rest: list[str]) -> int:
    """Where the leading ``--profile``/``--config`` options of `rest` end."""
    head = 0
    while head < len(rest) and rest[head].partition("=")[0] in _ROOT_OPTIONS:
        head += 1 if "=" in rest[head] else 2
    return head
