"""Driving the sinks from the stream, within the run's bounds and signals.

The runner owns *when* things happen: it hands each item to every sink,
schedules one flush for the moment the event loop has nothing left to do
(no further frame already waiting), stops at ``--max-events`` or
``--duration``, and turns SIGHUP/SIGINT/SIGTERM and a closed stdout pipe
into an orderly stop: everything buffered is written, then the exit code
returned.

:class:`Runner` takes items synchronously (a stream pushes each item as its
frame is read, and says when the read is done: the moment to flush);
:func:`run` feeds it from an async iterator.

A write that fails (:class:`~fillwatch.core.errors.WriteFailed`: a full disk, a
file size limit) stops the run too, with exit 5: the sinks after the one that
failed are closed with ``abort()`` where they have one (the checkpoint: it
must not cover lines that were not written), then the error is raised. Sinks
are flushed in order, and one whose flush fails stops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import cast

from fillwatch.core.errors import ExitCode, WriteFailed
from fillwatch.core.events import Cancel, Event, Fill, Item
from fillwatch.core.filters import Selector
from fillwatch.session.sink import Sink

__all__ = ["MAX_BURST", "SIGNALS", "Runner", "run"]

MAX_BURST = 256
"""Events handed to the sinks between two flushes, at most: what a ``kill -9`` may make stdout repeat."""

SIGNALS = {
    signal.SIGHUP: ExitCode.HANGUP,
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
}


class Runner:
    """Hands each item to every sink and flushes them; stops at ``--max-events``, a signal or a failed write.

    Args:
        sinks: where events and status items go, flushed and closed in order.
        select: which events to hand to the sinks (None: all of them).
        max_events: stop after this many events shown.
        shown: told of each event before the sinks get it (the market title lookups).
        on_stop: called once when the run stops (the stream reads, and records, no further frame).
        account: the account each event is shown under (its ``account``; None: as it came, a replay's).
        signals: turn SIGHUP/SIGINT/SIGTERM into a stop (False: a ``watch`` of several runners does it for all).
    """

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        select: Selector | None = None,
        max_events: int | None = None,
        shown: Callable[[Event], None] | None = None,
        on_stop: Callable[[], None] = lambda: None,
        account: str | None = None,
        signals: bool = True,
    ) -> None:
        self.sinks = sinks
        self._account = account
        self._signals = SIGNALS if signals else {}
        self._shown = shown
        self.on_stop = on_stop
        self._select = select
        self._max_events = max_events
        self.count = 0
        self.stopped: list[ExitCode] = []
        self.failures: list[tuple[int, WriteFailed]] = []  # (index of the sink, what failed)
        self._flush_pending = False
        self._closed = False
        self._task: asyncio.Task[object] | None = None

    def item(self, item: Item) -> None:
        """Show one item (events are counted, filtered and flushed in bursts)."""
        if self.stopped or self._closed:
            return  # stopped: a bound was reached or a write failed during this burst, its rest is not shown
        if not isinstance(item, (Fill, Cancel)):
            for sink in self.sinks:
                sink.status(item)
            return
        if self._select is not None and not self._select(item):
            return
        if self._account is not None:
            item.account = self._account  # type: ignore[misc]  # the one place an event is changed
        if self._shown is not None:
            self._shown(item)
        for sink in self.sinks:
            sink.event(item)
        count = self.count = self.count + 1
        if count == self._max_events:
            self.stop(ExitCode.OK)
        elif count % MAX_BURST == 0:
            self.flush()  # a long burst (a backfill) is written in parts: kill -9 repeats one part at most
        elif not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def read_end(self) -> None:
        """A read from the stream was handled: write out what it gave."""
        if self._flush_pending:
            self.flush()

    def flush(self) -> None:
        self._flush_pending = False
        if self.failures or self._closed:
            return
        for index, sink in enumerate(self.sinks):
            try:
                sink.flush()
            except BrokenPipeError:
                self.stop(ExitCode.OK)
                return
            except (WriteFailed, OSError) as exc:
                self.failures.append((index, _write_failed(exc)))
                self.stop(ExitCode.WRITE)
                return

    def stop(self, code: ExitCode) -> None:
        """End the run with `code` (the first reason wins)."""
        if not self.stopped:
            self.stopped.append(code)
            self.on_stop()
            if self._task is not None:
                self._task.cancel()

    async def serve(self, main: Callable[[], Awaitable[object]], *, duration: float | None = None) -> ExitCode:
        """Run `main` (which feeds :meth:`item`) until it ends, a bound, a signal, a closed pipe or an error.

        Returns:
            0 for a bound or a closed pipe, 129/130/143 for SIGHUP/SIGINT/SIGTERM.

        Raises:
            WriteFailed: a sink could not write (unless a signal had stopped the run before).
        """
        # Everything alive now (modules, the sinks, the adapter) lives as long as
        # the run: keep it out of the collector's full passes, which otherwise
        # walk ~50 MB of objects and stall the stream for ~25 ms (bench/run.py:
        # p99 latency at 10,000 events/s).
        gc.freeze()
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        assert self._task is not None
        for signum, code in self._signals.items():
            loop.add_signal_handler(signum, self.stop, code)
        try:
            if not self.stopped:
                async with asyncio.timeout(duration):
                    await main()
                    if self.stopped:  # stopped from inside `main`, which then returned: the cancellation lands here
                        await asyncio.sleep(0)
        except TimeoutError:
            pass  # --duration reached
        except asyncio.CancelledError:
            if not self.stopped:
                raise
            self._task.uncancel()
        finally:
            self._task = None
            for signum in self._signals:
                loop.remove_signal_handler(signum)
            self._closed = True
            _close(self.sinks, self.failures)
        if self.failures and not (self.stopped and self.stopped[0] in SIGNALS.values()):
            raise self.failures[0][1]
        return self.stopped[0] if self.stopped else ExitCode.OK


async def run(
    items: AsyncIterator[Item],
    sinks: Sequence[Sink],
    *,
    select: Selector | None = None,
    max_events: int | None = None,
    duration: float | None = None,
) -> ExitCode:
    """Feed `items` to `sinks` until a bound, a signal, a closed pipe or an error (see :class:`Runner`).

    Args:
        items: the stream (an async generator; it is closed on the way out).
        sinks: where events and status items go.
        select: which events to hand to the sinks (None: all of them).
        max_events: stop after this many events shown.
        duration: stop after this many seconds.
    """
    runner = Runner(sinks, select=select, max_events=max_events)

    async def pump() -> None:
        async with contextlib.aclosing(cast(AsyncGenerator[Item, None], items)):
            async for item in items:
                runner.item(item)
                if runner.stopped:
                    return

    return await runner.serve(pump, duration=duration)


def _close(sinks: Sequence[Sink], failures: list[tuple[int, WriteFailed]]) -> None:
    """Close every sink; those after a sink that could not write are aborted instead, if they can be."""
    for index, sink in enumerate(sinks):
        end = sink.close
        if failures and index > failures[0][0]:
            end = getattr(sink, "abort", sink.close)
        try:
            end()
        except BrokenPipeError:
            pass
        except (WriteFailed, OSError) as exc:
            failures.append((index, _write_failed(exc)))


def _write_failed(exc: OSError | WriteFailed) -> WriteFailed:
    """A sink's failed write as the run reports it (exit 5)."""
    return exc if isinstance(exc, WriteFailed) else WriteFailed(f"cannot write: {exc.strerror or exc}")
