"""``replay``'s Novig parser: a recording names its venue (``novig``), not the API it spoke.

Both APIs write ``"venue": "novig"`` in event lines, so a recording's header cannot tell
them apart; its contents can. NBX frames carry an ``event`` field (``protocols/novig.md``);
v3 frames never do, and are a heartbeat, an error ``code``, a snapshot reply or an
``orders`` batch (``protocols/novig-v3.md`` §4.5); v3 history pages are of the kinds
:data:`~.history.KIND` and :data:`~.history.LOOKUP`, and a v3 checkpoint's memory says
``"api": "v3"``. The first of these decides; until then the parser is NBX's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from fillwatch.core.events import Event
from fillwatch.venues.base import HistoryPage, Parsed, Request, Venue
from fillwatch.venues.novig_v3.adapter import NovigV3
from fillwatch.venues.novig_v3.history import KIND, LOOKUP

__all__ = ["EitherNovig", "speaks_v3"]

_V3_KEYS = frozenset({"heartbeat", "orders", "subscribed"})


def speaks_v3(frame: str | bytes) -> bool | None:
    """True for a v3 frame, False for an NBX one, None when the frame does not tell."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    if "event" in message:
        return False
    return bool(_V3_KEYS & message.keys()) or isinstance(message.get("code"), str) or None


class EitherNovig:
    """A parse-only Novig adapter that becomes NBX's or v3's by what it is given first."""

    name = "novig"

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        from fillwatch.venues.novig.adapter import parser as nbx_parser

        self._nbx: Venue = nbx_parser(clock=clock)
        self._v3: Venue = NovigV3() if clock is None else NovigV3(clock=clock)
        self._current: Venue = self._nbx
        self._decided = False
        self.channels: frozenset[str] = frozenset()
        self.history_kinds: tuple[str, ...] = ()
        self.warm_up: tuple[str, ...] = ()
        self.retry_after_unit = 1.0
        self._take(self._nbx)

    def _decide(self, v3: bool | None) -> Venue:
        if not self._decided and v3 is not None:
            self._current, self._decided = (self._v3 if v3 else self._nbx), True
            self._take(self._current)
        return self._current

    def _take(self, venue: Venue) -> None:
        self.channels, self.history_kinds, self.warm_up = venue.channels, venue.history_kinds, venue.warm_up
        self.retry_after_unit = venue.retry_after_unit

    @property
    def v3(self) -> bool:
        """Whether the recording turned out to be of the v3 API."""
        return self._current is self._v3

    @property
    def clock(self) -> Callable[[], float]:
        return self._current.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._nbx.clock = self._v3.clock = clock

    def handshake_headers(self, now_ms: int) -> dict[str, str]:
        return self._current.handshake_headers(now_ms)

    def subscribe_frames(self) -> Sequence[bytes]:
        return self._current.subscribe_frames()

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        return self._decide(None if self._decided else speaks_v3(frame)).parse(frame)

    def history_request(self, kind: str, since: datetime, page: str | None, now_ms: int) -> Request:
        return self._decide(kind in (KIND, LOOKUP)).history_request(kind, since, page, now_ms)

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        return self._decide(kind in (KIND, LOOKUP)).parse_history(kind, body, since, page)

    def memory(self, done: Callable[[Event], bool]) -> Any:
        return self._current.memory(done)

    def recall(self, memory: Any) -> None:
        self._decide(isinstance(memory, dict) and memory.get("api") == "v3").recall(memory)

    def market_request(self, market: str, now_ms: int) -> Request:
        return self._current.market_request(market, now_ms)

    def parse_market_title(self, body: bytes) -> str | None:
        return self._current.parse_market_title(body)

    def parse_outcome_names(self, body: bytes) -> dict[str, str]:
        names = getattr(self._current, "parse_outcome_names", None)
        return {} if names is None else dict(names(body))
