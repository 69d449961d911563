"""Driving the sinks from the stream, within the run's bounds and signals.

The runner owns *when* things happen: it hands each item to every sink,
schedules one flush for the moment the event loop has nothing left to do
(no further frame already waiting), stops at ``--max-events`` or
``--duration``, and turns SIGHUP/SIGINT/SIGTERM and a closed stdout pipe
into an orderly stop: everything buffered is written, then the exit code
returned.

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
from collections.abc import AsyncIterator, Sequence

from fillwatch.core.errors import ExitCode, WriteFailed
from fillwatch.core.events import Cancel, Fill, Item
from fillwatch.core.filters import Selector
from fillwatch.render import Sink

__all__ = ["MAX_BURST", "run"]

MAX_BURST = 256
"""Events handed to the sinks between two flushes, at most: what a ``kill -9`` may make stdout repeat."""

_SIGNALS = {
    signal.SIGHUP: ExitCode.HANGUP,
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
}


async def run(
    items: AsyncIterator[Item],
    sinks: Sequence[Sink],
    *,
    select: Selector | None = None,
    max_events: int | None = None,
    duration: float | None = None,
) -> ExitCode:
    """Feed `items` to `sinks` until a bound, a signal, a closed pipe or an error.

    Args:
        items: the stream (an async generator; it is closed on the way out).
        sinks: where events and status items go.
        select: which events to hand to the sinks (None: all of them).
        max_events: stop after this many events shown.
        duration: stop after this many seconds.

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
    task = asyncio.current_task()
    assert task is not None
    stopped: list[ExitCode] = []
    failures: list[tuple[int, WriteFailed]] = []  # (index of the sink, what failed)
    flush_pending = False

    def stop(code: ExitCode) -> None:
        if not stopped:
            stopped.append(code)
            task.cancel()

    def failed(index: int, exc: OSError | WriteFailed) -> None:
        failures.append((index, _write_failed(exc)))
        stop(ExitCode.WRITE)

    def flush() -> None:
        nonlocal flush_pending
        flush_pending = False
        if failures:
            return
        for index, sink in enumerate(sinks):
            try:
                sink.flush()
            except BrokenPipeError:
                stop(ExitCode.OK)
                return
            except (WriteFailed, OSError) as exc:
                failed(index, exc)
                return

    for signum, code in _SIGNALS.items():
        loop.add_signal_handler(signum, stop, code)
    count = 0
    try:
        async with contextlib.aclosing(items), asyncio.timeout(duration):
            async for item in items:
                if isinstance(item, (Fill, Cancel)):
                    if stopped or (select is not None and not select(item)):
                        continue  # stopped: a write failed during this burst, its rest is not shown
                    for sink in sinks:
                        sink.event(item)
                    count += 1
                    if count == max_events:
                        break
                    if count % MAX_BURST == 0:
                        flush()  # a long burst (a backfill) is written in parts: kill -9 repeats one part at most
                    elif not flush_pending:
                        flush_pending = True
                        loop.call_soon(flush)
                else:
                    for sink in sinks:
                        sink.status(item)
    except TimeoutError:
        pass  # --duration reached
    except asyncio.CancelledError:
        if not stopped:
            raise
        task.uncancel()
    finally:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
        _close(sinks, failures)
    if failures and not (stopped and stopped[0] in _SIGNALS.values()):
        raise failures[0][1]
    return stopped[0] if stopped else ExitCode.OK


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
