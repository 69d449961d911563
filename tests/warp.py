"""An event loop on a clock of its own, for tests about the order of timed things, not their duration.

:class:`WarpLoop` keeps real I/O but has a clock of its own: when nothing is
ready (and, while a socket is open, nothing arrives for :data:`GRACE` of real
time), the clock jumps to the next timer instead of waiting for it.
``asyncio.sleep(5)`` then returns at once with ``loop.time()`` 5 s later, and
every ``call_later`` due before it has run, in order. Run a coroutine on it
with :func:`run_warped`.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["GRACE", "WarpLoop", "run_warped"]

T = TypeVar("T")

GRACE = 0.005
"""Real seconds that I/O in flight (a loopback server answering, say) gets before the clock jumps."""


class _Selector(selectors.DefaultSelector):
    """Waits for I/O up to :data:`GRACE`; then, instead of waiting out a timer, moves the clock to it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # no timer at all: only I/O can wake the loop
            return super().select(None)
        io = len(self.get_map()) > 1  # more than the loop's own wake-up pipe: I/O may be in flight
        ready = super().select(min(timeout, GRACE) if io else 0)
        if not ready:
            self.now += timeout
        return ready


class WarpLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose :meth:`time` moves only as far as its timers need."""

    def __init__(self) -> None:
        self._warp = _Selector()
        super().__init__(self._warp)

    def time(self) -> float:
        return self._warp.now


def run_warped(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to its end on a fresh :class:`WarpLoop`."""
    with asyncio.Runner(loop_factory=WarpLoop) as runner:
        return runner.run(main)
