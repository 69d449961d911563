"""The venues fillwatch knows: one package per venue, each exporting its :class:`~fillwatch.venues.spec.VenueSpec`.

:data:`REGISTRY` lists them, one line each; the CLI's venue commands, the
profiles and ``demo`` are driven from it. Adding a venue is a package under
``venues/`` and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from fillwatch.core.errors import ConfigError
from fillwatch.venues.spec import Display, VenueSpec

if TYPE_CHECKING:
    from fillwatch.venues.base import Venue

__all__ = ["REGISTRY", "VENUES", "display", "parser", "spec"]


def _specs(*packages: str) -> dict[str, VenueSpec]:
    """The ``SPEC`` of each package ``fillwatch.venues.<package>``, by its venue's name."""
    specs = [importlib.import_module(f"{__name__}.{package}").SPEC for package in packages]
    return {spec.name: spec for spec in specs}


REGISTRY: dict[str, VenueSpec] = _specs(
    "kalshi",
    "novig",
)
"""Venue name (as written in event lines, and the command's name) → its spec: one line per venue."""

VENUES = tuple(REGISTRY)
"""The venues fillwatch knows, by the name written in event lines."""

_NEUTRAL = Display()


def spec(name: str) -> VenueSpec:
    """The spec of venue `name`.

    Raises:
        ConfigError: for a venue this version of fillwatch does not know.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown venue {name!r}") from None


def display(name: str) -> Display:
    """How the views show venue `name`'s events: a neutral default for a venue not known (a foreign file)."""
    found = REGISTRY.get(name)
    return _NEUTRAL if found is None else found.display


def parser(name: str, *, clock: Callable[[], float] | None = None) -> Venue:
    """The adapter of venue `name`, built for parsing only (it cannot sign).

    Raises:
        ConfigError: for a venue this version of fillwatch does not know.
    """
    return spec(name).parser(clock=clock)
