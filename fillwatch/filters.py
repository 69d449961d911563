"""Selecting events: ``--market GLOB`` and ``--kind`` (CONTRACT §2).

:func:`selector` turns the options into one predicate, or ``None`` when there
is nothing to select, so that an unfiltered run pays nothing per event. The
runner applies it before every sink, to live and history events alike.

Globs are shell-style (``*``, ``?``, ``[…]``, as :mod:`fnmatch`) and match the
whole market name, case-insensitively. Markets are few and recur, so each
market's answer is remembered.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

from fillwatch.events import Event

__all__ = ["Selector", "selector"]

Selector = Callable[[Event], bool]
"""True for an event to show."""

_CACHE_LIMIT = 10_000  # distinct market names remembered before starting afresh


def selector(markets: Iterable[str] = (), kinds: Iterable[str] = ()) -> Selector | None:
    """The predicate for these globs and kinds, or None to select everything.

    Args:
        markets: shell-style globs; an event matching any of them is kept.
        kinds: ``fill`` and/or ``cancel``; empty means both.
    """
    globs = [glob.lower() for glob in markets]
    wanted = frozenset(kinds)
    if wanted >= {"fill", "cancel"}:
        wanted = frozenset()
    if not globs and not wanted:
        return None
    if not globs:
        return lambda event: event.kind in wanted
    # fnmatch.translate anchors each glob at both ends; one alternation covers them all.
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs), re.DOTALL)
    seen: dict[str, bool] = {}

    def market_matches(market: str) -> bool:
        answer = seen.get(market)
        if answer is None:
            if len(seen) >= _CACHE_LIMIT:
                seen.clear()
            answer = seen[market] = pattern.match(market.lower()) is not None
        return answer

    if not wanted:
        return lambda event: market_matches(event.market)
    return lambda event: event.kind in wanted and market_matches(event.market)
