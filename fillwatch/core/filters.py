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
import time
from collections.abc import Callable, Iterable, Sequence

from fillwatch.core.errors import ConfigError
from fillwatch.core.events import Event, Status

__all__ = ["FilterWatch", "Selector", "check_globs", "selector"]

Selector = Callable[[Event], bool]
"""True for an event to show."""

_CACHE_LIMIT = 10_000  # distinct market names remembered before starting afresh


def check_globs(globs: Iterable[str]) -> None:
    """Raise :class:`ConfigError` (exit 2) for a glob that cannot mean what was meant: empty, or an open ``[``."""
    for glob in globs:
        if not glob:
            raise ConfigError("--market needs a pattern: an empty one matches nothing")
        at = _open_bracket(glob)
        if at is not None:
            raise ConfigError(f"bad --market pattern {glob!r}: '[' at {at + 1} has no closing ']' (a literal [ is [[])")


def _open_bracket(glob: str) -> int | None:
    """The index of a ``[`` that opens no complete ``[…]`` set, or None."""
    index = 0
    while index < len(glob):
        if glob[index] == "[":
            end = index + 1
            if end < len(glob) and glob[end] in "!^":
                end += 1
            if end < len(glob) and glob[end] == "]":
                end += 1
            close = glob.find("]", end)
            if close < 0:
                return index
            index = close
        index += 1
    return None


def selector(markets: Iterable[str] = (), kinds: Iterable[str] = ()) -> Selector | None:
    """The predicate for these globs and kinds, or None to select everything.

    Args:
        markets: shell-style globs; an event matching any of them is kept.
        kinds: ``fill`` and/or ``cancel``; empty means both.

    Raises:
        ConfigError: a glob is malformed (see :func:`check_globs`).
    """
    markets = list(markets)
    check_globs(markets)
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


class FilterWatch:
    """Counts what a selector hides and says so once when it has hidden everything for a while.

    Call it as the selector; add it to the sinks (before the session summary)
    so that it can speak at the end of a run too. `warn` gets one line;
    `hidden` is called with each hidden event (the session counts them).

    Args:
        select: the selector to watch.
        globs: the ``--market`` patterns (for the hint).
        kinds: the ``--kind`` values.
        warn: where the one warning goes.
        on_hidden: told of each event kept from the views.
        patience: seconds of nothing shown before the warning.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        select: Selector,
        *,
        globs: Sequence[str],
        kinds: Sequence[str],
        warn: Callable[[str], None],
        on_hidden: Callable[[], None] | None = None,
        patience: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._select = select
        self._globs = list(globs)
        self._kinds = list(kinds)
        self._warn = warn
        self._on_hidden = on_hidden
        self._patience = patience
        self._clock = clock
        self._started = clock()
        self.shown = 0
        self.hidden = 0
        self._said = False

    def __call__(self, event: Event) -> bool:
        if self._select(event):
            self.shown += 1
            return True
        self.hidden += 1
        if self._on_hidden is not None:
            self._on_hidden()
        if not self.shown and not self._said and self._clock() - self._started >= self._patience:
            self._say(f"in {self._clock() - self._started:.0f} s")
        return False

    def _say(self, when: str) -> None:
        self._said = True
        what = " and ".join(
            part
            for part in (
                " ".join(f"--market {g}" for g in self._globs) if self._globs else "",
                " ".join(f"--kind {k}" for k in self._kinds) if self._kinds else "",
            )
            if part
        )
        noun = "event" if self.hidden == 1 else "events"
        message = f"{what} hid all {self.hidden} {noun} {when}"
        plain = [g for g in self._globs if not any(c in g for c in "*?[")]
        if plain:
            hints = " ".join(f"--market '{g}*'" for g in plain)
            message += f"; globs match whole tickers: try {hints}"
        self._warn(message)

    def event(self, event: Event) -> None:
        pass

    def status(self, status: Status) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.hidden and not self.shown and not self._said:
            self._say("in this run")
