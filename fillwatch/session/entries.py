"""The lines of a recording (see :mod:`fillwatch.session.recording`), as values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fillwatch.core.events import Event
from fillwatch.core.ledger import Checkpoint

__all__ = ["MAGIC", "VERSION", "End", "Entry", "FailedBackfill", "Floor", "Frame", "Header", "History"]

MAGIC = "fillwatch"
VERSION = 1


@dataclass(frozen=True, slots=True)
class Header:
    """The start of one recorded session."""

    venue: str
    checkpoint: Checkpoint | None = None
    """The ``--state`` checkpoint the run started from."""
    account: str | None = None
    """The account the run showed its events under (None in recordings older than the ``account`` key:
    the venue's name)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket frame as received: text as ``str``, binary as ``bytes``."""

    t: float
    data: str | bytes


@dataclass(frozen=True, slots=True)
class History:
    """One page of REST history, as returned for ``parse_history(kind, body, since, page)``."""

    t: float
    kind: str
    body: bytes
    since: datetime
    page: str | None = None


@dataclass(frozen=True, slots=True)
class FailedBackfill:
    """The backfill whose pages precede this failed part-way: the run showed none of them."""

    t: float
    since: datetime


@dataclass(frozen=True, slots=True)
class Floor:
    """The run's history floor was set to `at`: no history older than it was shown from here on."""

    t: float
    at: datetime


@dataclass(frozen=True, slots=True)
class End:
    """The end of a session: `last` is the (id, order_id) of the last event shown."""

    t: float
    last: tuple[str, str] | None


Entry = Header | Frame | History | FailedBackfill | Floor | End | Event
"""One line of a recording, or one event of an event-lines file."""
