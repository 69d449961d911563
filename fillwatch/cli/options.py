"""The command-line options every command shares, declared once (CONTRACT §2).

Typer reads the ``Annotated`` aliases below; :func:`resolve` merges what the
user gave with the ``--profile`` (flag > environment variable > profile >
default), and :class:`RunOptions` is what the pipeline needs of it all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fillwatch.cli import profiles
from fillwatch.core.config import parse_duration, parse_since
from fillwatch.core.errors import ConfigError
from fillwatch.core.filters import check_globs

__all__ = [
    "Color",
    "Env",
    "Format",
    "Kind",
    "RunOptions",
    "output_format",
    "output_warning",
    "path_of",
    "resolve",
]


class Format(StrEnum):
    """How events are shown on stdout."""

    auto = "auto"
    table = "table"
    lines = "lines"
    jsonl = "jsonl"
    json = "json"
    """Accepted as ``jsonl`` (the habit of other tools)."""

    def canonical(self) -> Format:
        """``json`` is ``jsonl``; every other format is itself."""
        return Format.jsonl if self is Format.json else self


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


class DemoVenue(StrEnum):
    """The venue ``demo`` simulates."""

    kalshi = "kalshi"
    novig = "novig"


class KeyType(StrEnum):
    """The type of the throwaway Kalshi key ``demo`` signs with (OpenAPI ``ApiKeyType``)."""

    rsa = "rsa"
    ed25519 = "ed25519"


# Options shared by every tailing command (CONTRACT §2).
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="auto (table on a terminal, jsonl otherwise), table, lines or jsonl (json: jsonl)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format jsonl.")]
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
TokenUrlOpt = Annotated[
    str | None, typer.Option("--token-url", help="Override the token endpoint's URL (http:// only on loopback).")
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


@dataclass(frozen=True, kw_only=True)
class RunOptions:
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
    """What the header names the exchange: ``prod``, ``demo``, ``simulated``, or ``custom`` (``--ws-url``)."""

    @classmethod
    def of(cls, values: dict[str, Any]) -> RunOptions:
        """The options among a command's resolved values (see :func:`resolve`)."""
        return cls(
            fmt=output_format(Format(values["fmt"]), json=values.get("json", False)),
            output=path_of(values["output"]),
            max_events=values["max_events"],
            duration=values["duration"],
            max_retries=values.get("max_retries"),
            stall_timeout=values.get("stall_timeout", 30.0),
            quiet=values["quiet"],
            since=values.get("since"),
            no_follow=values.get("no_follow", False),
            state=path_of(values.get("state")),
            markets=tuple(values["markets"] or ()),
            kinds=tuple(values["kinds"] or ()),
            raw=values["raw"],
            record=path_of(values["record"]),
            color=Color(values["color"]),
            bell=values["bell"],
            env="custom" if values.get("ws_url") else values.get("env") or "simulated",
        )

    def seconds(self) -> float | None:
        return parse_duration(self.duration).total_seconds() if self.duration else None

    def since_time(self) -> datetime | None:
        return parse_since(self.since, datetime.now(UTC)) if self.since else None

    def check(self) -> None:
        """Usage errors found before anything starts."""
        self.seconds()
        self.since_time()
        check_globs(self.markets)
        if self.no_follow and not (self.since or self.state):
            raise ConfigError("--no-follow needs --since or --state: there is no history to print otherwise")


FORMAT_NAMES = frozenset({"auto", "table", "lines", "jsonl", "json", "csv", "text"})


def output_format(fmt: Format, *, json: bool) -> Format:
    """The format `--format` and `--json` ask for together (``json`` read as ``jsonl``)."""
    fmt = fmt.canonical()
    if json and fmt not in (Format.auto, Format.jsonl):
        raise ConfigError(f"--json and --format {fmt.value} ask for different formats: give one of them")
    return Format.jsonl if json else fmt


def output_warning(output: object) -> str | None:
    """A warning when ``--output``'s value looks like a format name and no such file exists (``-o json``)."""
    if output is None:
        return None
    path = Path(str(output))
    if path.name.lower() not in FORMAT_NAMES or path.exists() or str(path) != path.name:
        return None
    name = path.name
    return f"--output {name} writes the events to a new file named '{name}'; for a format, use --format {name}"


def path_of(value: object) -> Path | None:
    return None if value is None else Path(str(value))


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
