"""Typer commands built from declarations: the option table, the venues' specs, a command's own options.

Typer reads a command's parameters from its function's signature; a function
given a ``__signature__`` of ``Annotated[type, typer.Option(...)]`` parameters
is read as if it had been written out by hand. :func:`command` makes such a
function around a body that receives the parsed values, so that each option is
declared once (:class:`~fillwatch.cli.options.RunOptions`, a
:class:`~fillwatch.venues.spec.VenueOption`) and every command that takes it
gets it from there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fillwatch.cli.options import types
from fillwatch.venues.spec import SimulatorOption, VenueOption, VenueSpec

__all__ = ["Param", "choices", "command", "param", "shared", "simulator_params", "venue_params"]

Param = inspect.Parameter


def param(name: str, annotation: Any, default: Any, *flags: str, **info: Any) -> Param:
    """One keyword parameter: ``name: Annotated[annotation, typer.Option(*flags, **info)] = default``."""
    return Param(
        name, Param.KEYWORD_ONLY, annotation=Annotated[annotation, typer.Option(*flags, **info)], default=default
    )


def shared(command: str, *, after: dict[str, list[Param]] | None = None) -> list[Param]:
    """The parameters of the shared options `command` (``venue``, ``demo``, ``replay``) takes, in table order.

    `after` inserts more parameters after the one of a given name (a venue's own ``--token-url`` after ``--api-url``).
    """
    found: list[Param] = []
    for name, annotation, default, spec in types():
        if command not in spec.commands:
            continue
        info = {"help": spec.help, **spec.typer, **spec.per_command.get(command, {})}
        if spec.envvar is not None:
            info["envvar"] = spec.envvar
        found.append(param(name, annotation, default, *spec.flags, **info))
        found.extend((after or {}).get(name, ()))
    return found


def venue_option(option: VenueOption) -> Param:
    """A venue's own option as a parameter (``--key-id``, ``--token-url``)."""
    info: dict[str, Any] = {"help": option.help}
    if option.envvar is not None:
        info["envvar"] = option.envvar
    if not option.show_default:
        info["show_default"] = False
    return param(option.name, Path | None if option.path else str | None, None, *option.flags, **info)


def venue_params(spec: VenueSpec) -> list[Param]:
    """Every parameter of `spec`'s command: its credentials, then the shared options (its endpoints beside theirs)."""
    flagged = [option for option in spec.options if option.flags]
    credentials = [venue_option(option) for option in flagged if option.endpoint is None]
    endpoints = [venue_option(option) for option in flagged if option.endpoint is not None]
    ctx = Param("ctx", Param.KEYWORD_ONLY, annotation=typer.Context)
    return [ctx, *credentials, *shared("venue", after={"api_url": endpoints})]


def simulator_params(specs: Iterable[VenueSpec]) -> list[Param]:
    """The options of the venues' simulators (``--key-type``), for ``demo``."""
    return [_simulator_option(option) for spec in specs for option in spec.simulator.options]


def _simulator_option(option: SimulatorOption) -> Param:
    kind = choices(option.name.title().replace("_", ""), option.choices)
    return param(option.name, kind | None, None, *option.flags, help=option.help)


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An enumeration of `values`, for a choice Typer shows as ``<a|b>``."""
    made: type[StrEnum] = StrEnum(name, {value: value for value in values})  # type: ignore[misc]
    return made


def command(name: str, doc: str, params: list[Param], body: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
    """A function Typer reads as a command with `params`; it calls `body` with the parsed values."""

    def run(**values: Any) -> None:
        body(values)

    run.__name__ = run.__qualname__ = f"{name}_command"
    run.__doc__ = doc
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return run
