"""Venue adapters: one Sans-I/O module per venue, named after it.

Every venue module has a ``parser()`` function that builds its adapter without
credentials, for reading recorded frames and history pages (``replay``).
"""

from __future__ import annotations

import importlib

from fillwatch.core.errors import ConfigError
from fillwatch.venues.base import Venue

__all__ = ["VENUES", "parser"]

VENUES = ("kalshi", "novig")
"""The venues fillwatch knows, by the name written in event lines."""


def parser(name: str) -> Venue:
    """The adapter of venue `name`, built for parsing only (it cannot sign).

    Raises:
        ConfigError: for a venue this version of fillwatch does not know.
    """
    if name not in VENUES:
        raise ConfigError(f"unknown venue {name!r}")
    try:
        module = importlib.import_module(f"fillwatch.venues.{name}.adapter")
    except ModuleNotFoundError:
        raise ConfigError(f"this version of fillwatch cannot read {name} messages") from None
    adapter: Venue = module.parser()
    return adapter
