"""What a venue is to the rest of fillwatch: one :class:`VenueSpec` per venue package.

A spec is data and pure builders: where the venue lives in each environment,
the credential options its command takes (flags, variables, profile keys),
how to build its adapter from their values, how to simulate it for ``demo``,
and how the terminal views show its events. The CLI, the profiles and
``demo`` are driven from the specs in :data:`fillwatch.venues.REGISTRY`; none
of them names a venue. Network glue (fetching tokens) stays outside
``venues/``: a spec describes it in :class:`TokenAuth`, the CLI wires it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the CLI reads the specs at start-up: keep them light
    from fillwatch.core.secret import Secret
    from fillwatch.venues.base import Request, Venue

__all__ = [
    "Build",
    "BuildContext",
    "Built",
    "Check",
    "Display",
    "Parser",
    "Simulated",
    "Simulator",
    "SimulatorOption",
    "TokenAuth",
    "TokenCell",
    "VenueOption",
    "VenueSpec",
    "check_choice",
    "check_flag",
    "check_integer",
    "check_path",
    "check_seconds",
    "check_string",
    "check_strings",
    "private_key_pem",
    "values_of",
]

# Checks of a profile's settings: the value as read from TOML and the config
# file's directory (paths are relative to it) → the value to use (ValueError: refused).
Check = Callable[[object, Path], object]


def check_string(value: object, _: Path) -> object:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def check_path(value: object, base: Path) -> object:
    return base / Path(str(check_string(value, base))).expanduser()


def check_flag(value: object, _: Path) -> object:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def check_choice(*choices: str) -> Check:
    def check(value: object, _: Path) -> object:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def check_integer(minimum: int) -> Check:
    def check(value: object, _: Path) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer ≥ {minimum}")
        return value

    return check


def check_seconds(value: object, _: Path) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError("must be a positive number of seconds")
    return float(value)


def check_strings(each: Check) -> Check:
    def check(value: object, base: Path) -> object:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise ValueError("must be a string or a non-empty list of strings")
        return [each(item, base) for item in items]

    return check


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOption:
    """One option of a venue's command (a credential, or an endpoint of its own), declared once.

    A profile may give it as ``<name>`` or, being a venue's option, by the name
    of a variable as ``<name>_env``.
    """

    name: str
    """The command parameter, and the profile key."""
    flags: tuple[str, ...]
    """The command-line flags; none: the option has only its variable (a PEM text, say)."""
    help: str = ""
    envvar: str | None = None
    secret: bool = False
    """A value that should not sit in a file others can read."""
    path: bool = False
    """A file name (a profile resolves it relative to the config file)."""
    endpoint: str | None = None
    """The endpoint (a key of :attr:`VenueSpec.endpoints`) this option overrides."""
    show_default: bool = True

    @property
    def check(self) -> Check:
        return check_path if self.path else check_string


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatorOption:
    """An option of ``demo`` that only this venue's simulator takes (``--key-type``)."""

    name: str
    flags: tuple[str, ...]
    choices: tuple[str, ...]
    help: str
    purpose: str
    """What it does, for the refusal when another venue is simulated (``chooses the simulated Kalshi key``)."""


@dataclass(frozen=True, slots=True)
class Simulator:
    """The venue's simulator for ``demo``, named lazily: ``venues`` never imports ``sim`` on import.

    `target` is ``module:function``; the function takes the demo's values and
    its ``rate`` and ``seed`` and returns an async context manager yielding a
    :class:`Simulated`.
    """

    target: str
    options: tuple[SimulatorOption, ...] = ()


@dataclass(frozen=True, slots=True)
class Simulated:
    """A running simulator: its WebSocket URL, and the values a command would resolve to reach it."""

    url: str
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Display:
    """How the terminal views show a venue's events."""

    units_per_contract: Mapping[str, Decimal] = field(default_factory=dict)
    """Currency → units in one contract (Novig ``CASH`` quantities are cents: 100)."""
    currencies: bool = False
    """The venue has currencies worth labelling (Novig's CASH and COIN)."""
    plain: frozenset[str] = frozenset()
    """Currencies whose quantities are plain contracts, shown with no label (Novig v3's ``USD``: a
    count of contracts, which "257 USD" would misread as dollars)."""
    outcome_lines: bool = False
    """The lines view names the outcome rather than side and ticker."""


class TokenCell:
    """Where a Bearer-token venue reads its current token: given to the adapter at construction,
    filled in by the network glue (``net/token.py``) before every attempt."""

    __slots__ = ("value",)

    def __init__(self, value: Secret | None = None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"TokenCell({'set' if self.value is not None else 'empty'})"


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenAuth:
    """How a Bearer-token venue authenticates, described for the glue that fetches tokens.

    Either `ready` (a token used as is, never renewed) or `request` (the
    client-credentials request, made afresh for every attempt) with `parse`.
    """

    cell: TokenCell
    origin: str
    """Where the credentials came from, for messages (``--token``)."""
    ready: Secret | None = None
    request: Callable[[], Request] | None = None
    parse: Callable[[bytes], tuple[Secret, float]] | None = None


@dataclass(frozen=True, slots=True)
class Built:
    """A venue ready to run: the adapter (its clock given), the WebSocket URL, whose account."""

    venue: Venue
    url: str
    account: str
    """Who the credentials belong to (names a ``--state`` file's owner)."""
    auth: TokenAuth | None = None
    """Token glue the run needs (None: the adapter signs by itself)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    """What a spec's :attr:`~VenueSpec.build` may know besides the values."""

    environ: Mapping[str, str]
    from_flags: frozenset[str] = frozenset()
    """The parameters given on the command line (not by variable or profile)."""
    profile: str | None = None
    """The profile in use, as :meth:`~fillwatch.cli.profiles.Profile.where` names it."""
    warn: Callable[[str], None] = lambda _: None


class Build(Protocol):
    """A spec's builder: the venue from resolved values (URLs checked and filled in), its clock given."""

    def __call__(
        self, values: Mapping[str, Any], context: BuildContext, *, clock: Callable[[], float] | None = None
    ) -> Built: ...


class Parser(Protocol):
    """A spec's parser: an adapter for recorded frames and pages; it cannot sign."""

    def __call__(self, *, clock: Callable[[], float] | None = None) -> Venue: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSpec:
    """One venue, for the rest of fillwatch: see the module's docstring."""

    name: str
    """The name written in event lines, and the command's name."""
    title: str
    """The venue's name in prose (``Kalshi``)."""
    help: str
    """The command's help text."""
    endpoints: Mapping[str, Mapping[str, str]]
    """Environment (``prod``, ``demo``) → endpoint (``ws``, ``api``, …) → URL."""
    options: tuple[VenueOption, ...]
    build: Build
    parser: Parser
    simulator: Simulator
    display: Display = Display()
    alternatives: tuple[tuple[tuple[str, ...], ...], ...] = ()
    """Credentials that can be given in more than one way, and those ways: once a
    flag or variable gives one way, a profile's other ways are ignored."""

    def option(self, name: str) -> VenueOption:
        return next(option for option in self.options if option.name == name)


def values_of(values: Mapping[str, Any], *names: str) -> tuple[Any, ...]:
    """The values of `names` (None for those missing)."""
    return tuple(values.get(name) for name in names)


def private_key_pem(
    values: Mapping[str, Any], context: BuildContext, *, pem_variable: str, missing: str
) -> tuple[bytes, str]:
    """The PEM bytes of a key given as ``private_key`` (a file) or ``private_key_pem`` (its text), and their origin.

    The file beats the text (CONTRACT §2); `context.warn` is told when the file is
    readable by others (the run goes on). The origin names the file, `pem_variable`,
    or the profile the text came from, for the error a bad key gets.

    Raises:
        ConfigError: neither is given (`missing` is the message), or the file cannot be read.
    """
    from fillwatch.core.config import read_key_file
    from fillwatch.core.errors import ConfigError

    private_key, pem_text = values.get("private_key"), values.get("private_key_pem")
    if private_key is not None:
        pem, warning = read_key_file(Path(private_key).expanduser())
        if warning:
            context.warn(warning)
        return pem, str(private_key)
    if pem_text:
        from_env = bool(context.environ.get(pem_variable))
        origin = pem_variable if from_env or context.profile is None else f"{context.profile}: private_key_pem"
        return str(pem_text).encode(), origin
    raise ConfigError(missing)
