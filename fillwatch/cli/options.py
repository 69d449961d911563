"""The command-line options the commands share, declared once: the fields of :class:`RunOptions`.

Each field of :class:`RunOptions` is one option: its name, type and default
are the field's, and :func:`option` gives the rest (flags, help, variable,
profile key and check, the commands that take it). The Typer parameters
(:mod:`fillwatch.cli.params`), the profiles' settings
(:mod:`fillwatch.cli.profiles`) and ``--help`` are derived from these fields:
adding an option is adding a field. :func:`resolve` merges what the user gave
with the ``--profile`` (flag > environment variable > profile > default).
"""

# ruff: noqa: RUF009 -- option() is a field specifier, like dataclasses.field (it returns one)

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from fillwatch.core.config import parse_duration, parse_since
from fillwatch.core.errors import ConfigError
from fillwatch.core.filters import check_globs
from fillwatch.venues.spec import (
    Check,
    check_choice,
    check_flag,
    check_integer,
    check_path,
    check_seconds,
    check_string,
    check_strings,
)

__all__ = [
    "ALL",
    "DEMO",
    "REPLAY",
    "TAIL",
    "VENUE",
    "WATCH",
    "Color",
    "Env",
    "Format",
    "Kind",
    "Option",
    "RunOptions",
    "output_format",
    "path_of",
    "table",
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


# The commands an option may belong to: every venue's command, demo, replay.
VENUE, DEMO, REPLAY, WATCH = "venue", "demo", "replay", "watch"
TAIL = frozenset({VENUE, DEMO, WATCH})
ALL = frozenset({VENUE, DEMO, REPLAY, WATCH})


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """What a field of :class:`RunOptions` is on the command line and in a profile."""

    flags: tuple[str, ...]
    help: str
    commands: frozenset[str]
    envvar: str | None = None
    profile: str | None = None
    """The profile key (None: a profile cannot set it)."""
    check: Check = check_string
    """How the profile's value is checked."""
    cli: Any = None
    """The type Typer parses, when it is not the field's (``list[str] | None`` for a tuple)."""
    convert: Callable[[Any], Any] | None = None
    """The parsed (or profile's) value → the field's value."""
    endpoint: str | None = None
    """The venue endpoint (``ws``, ``api``) this option overrides."""
    typer: Mapping[str, Any] = field(default_factory=dict)
    """More of ``typer.Option``'s arguments (``min``, ``metavar``, ``dir_okay``)."""
    per_command: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``typer.Option`` arguments (``help`` included) that differ for one kind of command (``watch``'s directories)."""


_DIR = {"dir_okay": True, "file_okay": False, "metavar": "DIR"}
"""``watch`` takes a directory where the other commands take a file (``--state``, ``--record``)."""


def option(default: Any, *flags: str, help: str, commands: frozenset[str], **more: Any) -> Any:
    """A field of :class:`RunOptions` with its :class:`Option` (see there for `more`)."""
    known = {f.name for f in dataclasses.fields(Option)}
    spec = Option(
        flags=flags,
        help=help,
        commands=commands,
        **{k: v for k, v in more.items() if k in known},
        typer={k: v for k, v in more.items() if k not in known},
    )
    return field(default=default, metadata={"option": spec})


def path_of(value: object) -> Path | None:
    return None if value is None else Path(str(value))


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value or ()) if isinstance(value, (list, tuple)) else ()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """The options the commands share (CONTRACT §2): the one table of them."""

    speed: float | None = option(
        None,
        "--speed",
        help="Replay at X times real time [default: as fast as possible].",
        commands=frozenset({REPLAY}),
        min=0.001,
        metavar="X",
    )
    env: str = option(
        "prod",
        "--env",
        help="The venue's production or test (demo) exchange.",
        commands=frozenset({VENUE}),
        cli=Env,
        profile="env",
        check=check_choice(*Env),
        convert=_text,
    )
    """What the header names the exchange: ``prod``, ``demo``, ``simulated``, or ``custom`` (``--ws-url``)."""
    ws_url: str | None = option(
        None,
        "--ws-url",
        help="Override the WebSocket URL (ws:// only on loopback).",
        commands=frozenset({VENUE}),
        profile="ws_url",
        endpoint="ws",
    )
    api_url: str | None = option(
        None,
        "--api-url",
        help="Override the REST base URL, version prefix included (http:// only on loopback).",
        commands=frozenset({VENUE}),
        profile="api_url",
        endpoint="api",
    )
    fmt: Format = option(
        Format.auto,
        "--format",
        "-f",
        help="auto (table on a terminal, jsonl otherwise), table, lines or jsonl (json: jsonl).",
        commands=ALL,
        profile="format",
        check=check_choice("auto", "table", "lines", "jsonl"),
        convert=Format,
    )
    json: bool = option(False, "--json", help="Short for --format jsonl.", commands=ALL)
    output: Path | None = option(
        None,
        "--output",
        "-o",
        help="Also append every event as a JSON line to FILE.",
        commands=ALL,
        profile="output",
        check=check_path,
        convert=path_of,
        dir_okay=False,
    )
    max_events: int | None = option(
        None,
        "--max-events",
        help="Exit 0 after N events.",
        commands=ALL,
        profile="max_events",
        check=check_integer(1),
        min=1,
    )
    duration: str | None = option(
        None, "--duration", help="Exit 0 after D (90s, 15m, 2h).", commands=TAIL, profile="duration"
    )
    since: str | None = option(
        None,
        "--since",
        help="First print your history since D ago (15m, 3d) or an ISO date/time, then follow.",
        commands=TAIL,
        profile="since",
    )
    no_follow: bool = option(
        False,
        "--no-follow",
        help="With --since or --state: print the history and exit.",
        commands=frozenset({VENUE, WATCH}),
    )
    state: Path | None = option(
        None,
        "--state",
        help="Checkpoint file: resume where the last run stopped, never print twice.",
        commands=TAIL,
        profile="state",
        check=check_path,
        convert=path_of,
        dir_okay=False,
        per_command={WATCH: {**_DIR, "help": "Checkpoint directory: one per account, each resumed where it stopped."}},
    )
    max_retries: int | None = option(
        None,
        "--max-retries",
        help="Exit 4 after N failed reconnects in a row [default: retry forever].",
        commands=frozenset({VENUE, WATCH}),
        profile="max_retries",
        check=check_integer(0),
        min=0,
    )
    stall_timeout: float = option(
        30.0,
        "--stall-timeout",
        help="Replace a connection silent for this many seconds.",
        commands=frozenset({VENUE, WATCH}),
        profile="stall_timeout",
        check=check_seconds,
        min=0.1,
    )
    color: Color = option(
        Color.auto,
        "--color",
        help="auto (on a terminal, unless NO_COLOR is set), always or never.",
        commands=ALL,
        profile="color",
        check=check_choice(*Color),
        convert=Color,
    )
    bell: bool = option(False, "--bell", help="Ring the terminal bell when fills arrive (table, lines).", commands=TAIL)
    quiet: bool = option(
        False,
        "--quiet",
        "-q",
        help="No connection diagnostics or session summary on stderr.",
        commands=ALL,
        profile="quiet",
        check=check_flag,
    )
    markets: tuple[str, ...] = option(
        (),
        "--market",
        help="Only markets matching GLOB, case-insensitively (repeatable).",
        commands=ALL,
        cli=list[str] | None,
        profile="markets",
        check=check_strings(check_string),
        convert=_strings,
        metavar="GLOB",
    )
    kinds: tuple[str, ...] = option(
        (),
        "--kind",
        help="Only this kind of event (repeatable).",
        commands=ALL,
        cli=list[Kind] | None,
        profile="kinds",
        check=check_strings(check_choice(*Kind)),
        convert=_strings,
        metavar="fill|cancel",
    )
    raw: bool = option(
        False,
        "--raw",
        help='Add the venue\'s original message under "raw" in JSON lines.',
        commands=ALL,
        profile="raw",
        check=check_flag,
    )
    record: Path | None = option(
        None,
        "--record",
        help="Append every frame received, with its receive time, to FILE (for replay).",
        commands=TAIL,
        profile="record",
        check=check_path,
        convert=path_of,
        dir_okay=False,
        metavar="FILE",
        per_command={WATCH: {**_DIR, "help": "Append each account's frames to DIR/NAME.rec (for replay)."}},
    )
    profile: str | None = option(
        None,
        "--profile",
        help="Defaults from [profiles.NAME] in the config file (flags win).",
        commands=frozenset({VENUE}),
        envvar="FILLWATCH_PROFILE",
        metavar="NAME",
    )
    config: Path | None = option(
        None,
        "--config",
        help="The config file [default: config.toml in the user config directory].",
        commands=frozenset({VENUE, WATCH}),
        envvar="FILLWATCH_CONFIG",
        convert=path_of,
        metavar="FILE",
        dir_okay=False,
    )
    verbose: bool = option(False, "--verbose", "-v", help="Debug logging, and tracebacks on errors.", commands=ALL)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> RunOptions:
        """The options among a command's resolved values (see :func:`resolve`); the others keep their defaults.

        ``--json`` is folded into :attr:`fmt`, and :attr:`env` names the exchange
        the header shows (``custom`` for a ``--ws-url``; ``simulated`` without ``--env``).
        """
        given: dict[str, Any] = {}
        for name, spec in table().items():
            if name in values:
                given[name] = values[name] if spec.convert is None else spec.convert(values[name])
        given["fmt"] = output_format(Format(given.get("fmt", Format.auto)), json=bool(given.get("json")))
        given["env"] = "custom" if values.get("ws_url") else values.get("env") or "simulated"
        return cls(**given)

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


def table() -> dict[str, Option]:
    """Field name → its :class:`Option`, in declaration order: the one table of shared options."""
    return {f.name: f.metadata["option"] for f in dataclasses.fields(RunOptions)}


def types() -> Iterator[tuple[str, Any, Any, Option]]:
    """Each field's name, the type Typer parses, its default and its :class:`Option`."""
    hints = typing.get_type_hints(RunOptions)
    for f in dataclasses.fields(RunOptions):
        spec: Option = f.metadata["option"]
        default = None if spec.cli is not None and f.default == () else f.default
        yield f.name, spec.cli if spec.cli is not None else hints[f.name], default, spec


def output_format(fmt: Format, *, json: bool) -> Format:
    """The format `--format` and `--json` ask for together (``json`` read as ``jsonl``)."""
    fmt = fmt.canonical()
    if json and fmt not in (Format.auto, Format.jsonl):
        raise ConfigError(f"--json and --format {fmt.value} ask for different formats: give one of them")
    return Format.jsonl if json else fmt
