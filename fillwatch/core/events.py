"""The items that flow from the stream to the sinks.

Two kinds of items travel down the pipeline (CONTRACT §3 and STYLE §1.3):

* **events**, :class:`Fill` and :class:`Cancel`: what the user asked to see,
  immutable, with exact :class:`~decimal.Decimal` money and quantities and
  timezone-aware UTC times;
* **status** items (:class:`Connected`, :class:`Disconnected`, :class:`Skipped`,
  :class:`Backfilled`, :class:`BackfillFailed`):
  what happened to the connection, shown on stderr or in a table header, never
  on the data stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from typing import dataclass_transform

__all__ = [
    "BackfillFailed",
    "Backfilled",
    "Cancel",
    "Connected",
    "Disconnected",
    "Event",
    "Fill",
    "Implausible",
    "Item",
    "Skipped",
    "Source",
    "Status",
]

Source: TypeAlias = Literal["live", "history"]
"""Where an event came from: the live stream, or the venue's REST history."""

_T = TypeVar("_T")

if TYPE_CHECKING:

    @dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
    def _event(cls: type[_T]) -> type[_T]:
        """To a type checker: a frozen, keyword-only dataclass (assigning to a field is an error)."""
        ...

else:
    _event: Callable[[type[Any]], type[Any]] = dataclass(slots=True, kw_only=True, unsafe_hash=True)
    """At run time: a dataclass with slots, immutable by convention and typing, not ``frozen=True``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``:
    ~2.1 µs for a ``Fill`` against ~0.8 µs here, on every event (the measurements are in
    ``docs/performance.md``). Equality, hashing (``unsafe_hash``: the hash a frozen
    dataclass has), ``dataclasses.replace``, ``fields`` and ``asdict`` stay as they were.
    """


@_event
class Fill:
    """One execution of one of your orders (never changed once made: copy it with ``dataclasses.replace``)."""

    kind: ClassVar[str] = "fill"

    venue: str
    id: str
    order_id: str
    market: str
    side: str
    action: str | None
    price: Decimal
    qty: Decimal
    ts: datetime
    taker: bool | None = None
    fee: Decimal | None = None
    position: Decimal | None = None
    wash: bool | None = None
    currency: str | None = None
    source: Source = "live"
    account: str | None = None
    """The account the event came through (a profile's name, else the venue's): set by the run's
    :class:`~fillwatch.session.runner.Runner` as it shows the event; None until then."""
    raw: str | bytes | None = field(default=None, repr=False, compare=False)
    """The venue's original message (JSON text), kept only with ``--raw``."""


@_event
class Cancel:
    """One of your orders was cancelled; `qty` is what was still open (never changed once made)."""

    kind: ClassVar[str] = "cancel"

    venue: str
    id: str
    order_id: str
    market: str
    side: str
    action: str | None
    price: Decimal
    qty: Decimal
    ts: datetime
    original_qty: Decimal | None = None
    currency: str | None = None
    source: Source = "live"
    reason: str | None = None
    account: str | None = None
    """As :attr:`Fill.account`."""
    raw: str | bytes | None = field(default=None, repr=False, compare=False)
    """The venue's original message (JSON text), kept only with ``--raw``."""


Event: TypeAlias = Fill | Cancel
"""What the user asked to see: one line of output each."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The venue confirmed the subscription: events flow from here on."""

    url: str
    attempt: int
    """How many attempts this connection took (1 = first try)."""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection failed or ended; another attempt follows after `retry_in` s."""

    reason: str
    retry_in: float


@dataclass(frozen=True, slots=True)
class Backfilled:
    """REST history since `since` was read; `fills`/`cancels` were new (printed)."""

    since: datetime
    fills: int
    cancels: int
    seconds: float
    """How long reading the history took."""
    downtime: float | None = None
    """For a backfill after a reconnect: seconds between the drop and the new subscription."""
    skipped: int = 0
    """History rows that could not be understood."""
    label: str | None = None
    """A reconciliation the adapter named (a Novig v3 gap, ``seq 908→913``); None: a backfill."""


@dataclass(frozen=True, slots=True)
class BackfillFailed:
    """Reading REST history since `since` failed; it is tried again later."""

    since: datetime
    reason: str
    downtime: float | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A frame that could not be understood was counted and skipped."""

    reason: str
    excerpt: str
    count: int
    """How many frames were skipped in this run so far, this one included."""


@dataclass(frozen=True, slots=True)
class Implausible:
    """An event was dated too far ahead of the local clock (or outside 2000–2100): printed, but
    it moves neither the backfill cursor nor the checkpoint. Said once per run."""

    id: str
    ts: datetime


Status: TypeAlias = Connected | Disconnected | Skipped | Backfilled | BackfillFailed | Implausible
"""What happened to the connection: shown on stderr, never on stdout."""

Item: TypeAlias = Fill | Cancel | Status
"""Everything the stream yields."""
