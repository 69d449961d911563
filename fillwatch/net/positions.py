"""Your positions before the session, read once in the background (Kalshi ``GET /portfolio/positions``).

The views' position column is then true from the first line: the position a
market had before the run plus what the session traded (until a fill brings
the venue's own ``post_position``, which wins). Nothing waits for it; when the
read fails, the column shows the session's change alone, as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fillwatch.core.errors import FillwatchError
from fillwatch.net.http import RestClient
from fillwatch.venues.base import Request

__all__ = ["read_positions"]

log = logging.getLogger("fillwatch.positions")

MAX_PAGES = 20
"""Pages read at most (1,000 positions each): a bound, not a limit anyone should meet."""


async def read_positions(
    venue: Any, client: RestClient, *, clock: Callable[[], float] = time.time
) -> list[tuple[str, Decimal]] | None:
    """Every (market, position) the venue reports, or None when it cannot be read (or not in MAX_PAGES pages).

    `venue` has ``positions_request(cursor, now_ms)`` and ``parse_positions(body)``.
    """
    found: list[tuple[str, Decimal]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        try:

            def make(page: str | None = cursor) -> Request:
                request: Request = venue.positions_request(page, int(clock() * 1000))
                return request

            body = await client.send(make)
            rows, cursor = venue.parse_positions(body)
        except (FillwatchError, ValueError) as exc:  # RestError, Unauthorized, a body that is not JSON
            log.debug("starting positions not read: %s", exc)
            return None
        found += rows
        if cursor is None:
            return found
    log.debug("starting positions not read: still more after %d pages", MAX_PAGES)
    return None  # a part would make some markets' positions true and others not
