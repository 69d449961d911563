"""Reading REST history: one read page by page (:class:`Pager`), and the warm-up before the stream.

The requests go through a :class:`HistorySource`: live, :class:`RestHistory` over
:mod:`fillwatch.net.http`; in ``replay``, the recorded pages in recorded order
(:mod:`fillwatch.session.replay`). Parsing is the adapter's.
:mod:`fillwatch.session.follow` decides when history is read and how its
events join the stream.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeAlias, runtime_checkable

from fillwatch.core.errors import AuthenticationError
from fillwatch.net.http import RestClient, RestError, Unauthorized
from fillwatch.net.stream import Authenticate
from fillwatch.venues.base import HistoryPage, Request, Venue, excerpt

__all__ = [
    "BEGINNING", "MAX_PAGES", "HistorySource", "Pager", "RecordHistory", "RestHistory", "fetch", "history_pages",
    "source_of", "warming_up",
]  # fmt: skip

MAX_PAGES = 10_000  # a venue that keeps returning cursors is not followed forever
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

RecordHistory: TypeAlias = Callable[[float, str, bytes, datetime, str | None], None]
"""Receives (receive time, kind, body, since, page token) for every history page read (``--record``)."""


class Pager:
    """Where one read of history stands: the page to ask for next, and the cursors seen.

    The requests are made elsewhere; :meth:`take` parses each answer and moves on.
    """

    def __init__(self, venue: Venue, since: datetime, kinds: Sequence[str]) -> None:
        self.venue = venue
        self.since = since
        self._kinds = deque(kinds)
        self.page: str | None = None
        self._seen: set[str] = set()
        self._pages = 0

    @property
    def kind(self) -> str | None:
        """The kind of history to ask for next (None: the read is complete)."""
        return self._kinds[0] if self._kinds else None

    def take(self, body: bytes) -> HistoryPage:
        """Parse the answer to the current request, and move on to the next page (or kind).

        Raises:
            RestError: the body is no page of history; the venue handed out a page cursor it
                had handed out before in this read, or more than :data:`MAX_PAGES` pages.
        """
        kind, name = self._kinds[0], self.venue.name
        try:
            result = self.venue.parse_history(kind, body, self.since, self.page)
        except ValueError as exc:  # orjson's errors included: not a page of history at all
            raise RestError(f"{name} {kind} history: {exc}") from exc
        self._pages += 1
        following = result.next_page
        if following is None:
            self._kinds.popleft()
            self.page, self._seen, self._pages = None, set(), 0
            return result
        if self.page is not None:
            self._seen.add(self.page)
        if following in self._seen:
            raise RestError(
                f"{name} {kind} history: the venue handed out the page cursor {excerpt(following, 40)!r} "
                f"again after {self._pages} pages; stopped reading there"
            )
        if self._pages >= MAX_PAGES:
            raise RestError(f"{name} {kind} history: more than {MAX_PAGES} pages; stopped reading there")
        self.page = following
        return result

    def answer(self, kind: str, since: datetime, page: str | None) -> None:
        """Take the next body as the answer to this request (``replay``: the one the recording names)."""
        if self._kinds:
            self._kinds[0] = kind
        self.since, self.page = since, page


async def fetch(
    pager: Pager,
    rest: RestClient,
    clock: Callable[[], float],
    authenticate: Authenticate | None,
) -> tuple[float, bytes]:
    """The body of the page `pager` stands at, and when it came.

    Raises:
        RestError: after the REST client's retries.
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    venue, kind, since, page = pager.venue, pager.kind, pager.since, pager.page
    assert kind is not None

    def make() -> Request:
        return venue.history_request(kind, since, page, int(clock() * 1000))

    try:
        body = await rest.send(make)
    except Unauthorized:
        if authenticate is not None:
            await authenticate(True)
        body = await rest.send(make)  # a second rejection stops the run
    return clock(), body


@runtime_checkable
class HistorySource(Protocol):
    """Where the pages of history come from: the venue's REST API, or a recording."""

    async def page(
        self, pager: Pager, clock: Callable[[], float], authenticate: Authenticate | None
    ) -> tuple[float, bytes]:
        """The body of the page `pager` stands at, and when it came (RestError: it could not be read)."""
        ...


class RestHistory:
    """History read from the venue's REST API (:func:`fetch`)."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest

    async def page(
        self, pager: Pager, clock: Callable[[], float], authenticate: Authenticate | None
    ) -> tuple[float, bytes]:
        return await fetch(pager, self.rest, clock, authenticate)


def source_of(rest: RestClient | HistorySource) -> HistorySource:
    """`rest` as a source of history pages."""
    return rest if isinstance(rest, HistorySource) else RestHistory(rest)


async def history_pages(
    venue: Venue,
    rest: RestClient | HistorySource,
    since: datetime,
    *,
    clock: Callable[[], float] = time.time,
    authenticate: Authenticate | None = None,
    record_history: RecordHistory | None = None,
    kinds: Sequence[str] | None = None,
) -> AsyncIterator[HistoryPage]:
    """Each page of history from `since`, as it is read (every kind of the venue's, or only `kinds`).

    Raises:
        RestError: a page could not be read (after retries) or understood, or the
            paging went round in circles (see :meth:`Pager.take`).
        AuthenticationError: rejected twice (fresh signature / renewed token in between).
    """
    source = source_of(rest)
    pager = Pager(venue, since, venue.history_kinds if kinds is None else kinds)
    while pager.kind is not None:
        at, body = await source.page(pager, clock, authenticate)
        if record_history is not None:
            record_history(at, pager.kind, body, since, pager.page)
        yield pager.take(body)


def warming_up(
    venue: Venue,
    rest: RestClient | HistorySource,
    authenticate: Authenticate | None,
    *,
    clock: Callable[[], float] = time.time,
    record_history: RecordHistory | None = None,
) -> Authenticate | None:
    """The stream's ``authenticate`` hook, reading ``venue.warm_up`` once before the first connection.

    That history is read from the beginning, every page, so that the adapter
    knows what it needs before the first frame (Novig: your orders, for the
    currency of fills and the ``CLOSE`` ticks that concern you); its events
    are not shown. As part of the first attempt, a failure is retried with
    the connection (RestError), and a second 401/403 stops the run.
    """
    if not venue.warm_up:
        return authenticate
    done = False

    async def hook(renew: bool) -> None:
        nonlocal done
        if authenticate is not None:
            await authenticate(renew)
        if done:
            return
        pages = history_pages(
            venue,
            rest,
            BEGINNING,
            clock=clock,
            authenticate=authenticate,
            record_history=record_history,
            kinds=venue.warm_up,
        )
        try:
            async for _ in pages:  # the adapter learns from each page; its events are not shown
                pass
        except Unauthorized as exc:
            raise AuthenticationError(f"{venue.name} rejected a renewed token ({exc})") from exc
        done = True

    return hook
