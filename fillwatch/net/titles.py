"""Market titles for the terminal views, looked up in the background.

:class:`TitleResolver` sits among the sinks: when an event names a market it
has not seen, it starts a background task that asks the venue for the
market's description (the adapter's :meth:`~fillwatch.venues.base.Venue.market_request`
and :meth:`~fillwatch.venues.base.Venue.parse_market_title`) through
:class:`~fillwatch.net.http.RestClient`. Events never wait for it: the views
show the bare id until :attr:`TitleResolver.titles` has the title, and keep
showing it when the lookup fails. Each market is looked up once per run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from fillwatch.core.errors import FillwatchError
from fillwatch.core.events import Event, Status
from fillwatch.net.http import RestClient
from fillwatch.venues.base import Venue

__all__ = ["TitleResolver"]

log = logging.getLogger("fillwatch.titles")

MAX_TITLE = 200
"""Longer titles are cut: a title is a label, not a document."""


class TitleResolver:
    """Fills :attr:`titles` (keyed by ``(venue, market)``) from the venue's REST API.

    Args:
        venue: the adapter that describes the requests and reads the answers.
        client: sends the requests (its retries apply).
        titles: the mapping to fill (shared with the views); a new one by default.
        on_title: called with (venue, market) when a title arrives, to redraw.
        concurrency: lookups in flight at once (venues rate-limit REST reads).
        max_markets: stop looking up new markets after this many (bounds memory).
        clock: wall-clock seconds, for signing.
    """

    def __init__(
        self,
        venue: Venue,
        client: RestClient,
        *,
        titles: dict[tuple[str, str], str] | None = None,
        outcomes: dict[tuple[str, str], str] | None = None,
        on_title: Callable[[str, str], None] | None = None,
        concurrency: int = 4,
        max_markets: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._venue = venue
        self._client = client
        self._on_title = on_title
        self._slots = asyncio.Semaphore(concurrency)
        self._max_markets = max_markets
        self._clock = clock
        self._asked: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.titles: dict[tuple[str, str], str] = titles if titles is not None else {}
        """Known titles by (venue, market); read by the views."""
        self.outcomes: dict[tuple[str, str], str] | None = outcomes
        """Outcome names by (venue, outcome id), from the same answer, for venues that name outcomes (Novig)."""
        self.failed = 0

    def event(self, event: Event) -> None:
        """Start looking up the event's market if it is new; never waits."""
        key = (event.venue, event.market)
        if key in self._asked or event.venue != self._venue.name or len(self._asked) >= self._max_markets:
            return
        self._asked.add(key)
        task = asyncio.get_running_loop().create_task(self._look_up(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _look_up(self, key: tuple[str, str]) -> None:
        market = key[1]
        async with self._slots:
            try:
                body = await self._client.send(lambda: self._venue.market_request(market, int(self._clock() * 1000)))
            except FillwatchError as exc:  # RestError, Unauthorized: the id will do
                self.failed += 1
                log.debug("no title for %r: %s", market, exc)
                return
        self._note_outcomes(key[0], body)
        title = self._venue.parse_market_title(body)
        if not title:
            self.failed += 1
            return
        self.titles[key] = title[:MAX_TITLE]
        if self._on_title is not None:
            self._on_title(*key)

    def _note_outcomes(self, venue: str, body: bytes) -> None:
        """Keep the outcome names the market's answer gives, when the venue has them."""
        names = getattr(self._venue, "parse_outcome_names", None)
        if names is None or self.outcomes is None:
            return
        try:
            found = names(body)
        except ValueError:  # not JSON (orjson's error is a ValueError): no names
            return
        for outcome, name in found.items():
            self.outcomes[(venue, outcome)] = name[:MAX_TITLE]

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Abandon the lookups still running."""
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Abandon the lookups still running and wait until they are gone."""
        self.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
