"""Running a simulator on its own event loop in a background thread.

A CLI under test (or under a chaos run) calls ``asyncio.run`` in its own
process, so the venue cannot share its loop; a thread keeps the venue in this
process, where the caller can script it and read its statistics.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Generic, TypeVar

__all__ = ["SimThread"]

S = TypeVar("S")


class SimThread(Generic[S]):
    """``with SimThread(KalshiSim(...)) as sim:`` serves `sim` until the block ends."""

    def __init__(self, sim: S) -> None:
        self.sim = sim
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fillwatch-sim")
        self._started = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server: Any = self.sim
        self._loop.run_until_complete(server.__aenter__())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(server.__aexit__(None, None, None))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def call(self, function: Any, *args: Any) -> None:
        """Run `function(*args)` on the simulator's loop (thread-safe)."""
        self._loop.call_soon_threadsafe(function, *args)

    def __enter__(self) -> S:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the simulator did not start")
        return self.sim

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
