"""Replay runs the live run's Follower: a recording whose output depended on the Follower's order replays exactly."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from fillwatch.core.events import Cancel, Event, Fill, Item
from fillwatch.core.ledger import Ledger
from fillwatch.net.stream import Authenticate, Dispatch, Stream, StreamOptions
from fillwatch.render.jsonl import encode
from fillwatch.session.follower import Follower
from fillwatch.session.history import Pager
from fillwatch.session.recording import Recorder, read, replay
from fillwatch.venues.base import HistoryPage, Parsed, Reconcile
from fillwatch.venues.kalshi.adapter import Kalshi
from tests.render.test_jsonl import FILL

NOON = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def _event(event_id: str, second: int, source: str) -> Fill:
    return replace(FILL, id=event_id, ts=NOON + timedelta(seconds=second), source=source)  # type: ignore[arg-type]


class ClosingVenue(Kalshi):
    """A parse-only Kalshi: ``fill ID SECOND`` is a live fill, ``close KIND`` asks for a read of KIND history;
    a history page is a JSON list of [id, second]."""

    def parse(self, frame: str | bytes) -> Sequence[Parsed]:
        words = (frame if isinstance(frame, str) else frame.decode()).split()
        if words[0] == "close":
            return [Reconcile(words[1])]
        return [_event(words[1], int(words[2]), "live")]

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        return HistoryPage([_event(str(i), int(s), "history") for i, s in orjson.loads(body)], None)


class Pages:
    """A history source the test answers by hand, one request at a time."""

    def __init__(self) -> None:
        self.asked: list[asyncio.Future[tuple[float, bytes]]] = []

    async def page(
        self, pager: Pager, clock: Callable[[], float], authenticate: Authenticate | None
    ) -> tuple[float, bytes]:
        self.asked.append(asyncio.get_running_loop().create_future())
        return await self.asked[-1]

    async def answer(self, at: float, body: bytes) -> None:
        for _ in range(20):
            if self.asked:
                break
            await asyncio.sleep(0)
        self.asked.pop(0).set_result((at, body))
        for _ in range(5):
            await asyncio.sleep(0)


async def _live(path: Path) -> list[Event]:
    """The live run's Follower and the stream's Dispatch, recorded; the frames and pages in a fixed order."""
    now = [1000.0]
    recorder = Recorder(path, venue="kalshi", clock=lambda: now[0])
    shown: list[Item] = []

    def out(item: Item) -> None:
        shown.append(item)
        if isinstance(item, (Fill, Cancel)):
            recorder.event(item)
        else:
            recorder.status(item)

    pages = Pages()
    venue = ClosingVenue.for_parsing(clock=lambda: now[0])
    follower = Follower(venue, pages, Ledger(), out=out, record_history=recorder.history, clock=lambda: now[0])
    stream = Stream(venue, StreamOptions(url=""), clock=lambda: now[0], record=recorder.frame)
    dispatch = Dispatch(stream, follower.live, lambda: None)

    def frame(at: float, text: str) -> None:
        now[0] = at
        dispatch.frame(text)

    frame(1001.0, "fill L1 30")
    frame(1002.0, "close orders")  # a read the stream asked for: it is shown as soon as it ends
    await pages.answer(1003.0, b'[["R1", 20]]')
    frame(1004.0, "close fills")  # the same `since` as the read before, another kind
    await pages.answer(1005.0, b'[["R2", 10]]')  # older than R1, shown after it: two reads, not one
    frame(1006.0, "close orders")
    frame(1007.0, "fill L2 40")  # the read waits past its cap: live events flow meanwhile
    await pages.answer(1008.0, b'[["R3", 5]]')
    await follower.aclose()
    recorder.close()
    return [item for item in shown if isinstance(item, (Fill, Cancel))]


async def test_reads_the_stream_asked_for_replay_in_the_order_the_follower_showed_them(tmp_path: Path) -> None:
    """Two reads with the same start, and one waited on past its cap, replay byte for byte as the live Follower showed
    them (rules of replay's own, gathering pages of one `since` as one backfill, would show R2 before R1)."""
    path = tmp_path / "rec.jsonl"
    live = await _live(path)
    assert [event.id for event in live] == ["L1", "R1", "R2", "L2", "R3"]
    replayed = [item async for item in replay(read(path), make_venue=lambda name: ClosingVenue.for_parsing())]
    as_run = [dataclasses.replace(e, account="kalshi") for e in live]  # the run's Runner would have stamped it
    assert b"".join(encode(e) for e in replayed if isinstance(e, (Fill, Cancel))) == b"".join(map(encode, as_run))


async def test_a_replay_stops_at_the_last_event_the_run_showed(tmp_path: Path) -> None:
    """Cut after R2 (the run stopped there): the replay shows the same first three events and nothing after."""
    path = tmp_path / "rec.jsonl"
    live = await _live(path)
    lines = path.read_bytes().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if b"R2" in line) + 1
    last: Event = live[2]
    end = orjson.dumps({"t": 1005.5, "end": {"last": [last.id, last.order_id]}}, option=orjson.OPT_APPEND_NEWLINE)
    path.write_bytes(b"".join(lines[:cut]) + end)
    replayed = [item async for item in replay(read(path), make_venue=lambda name: ClosingVenue.for_parsing())]
    assert [item.id for item in replayed] == ["L1", "R1", "R2"]  # type: ignore[union-attr]


async def _stopped(path: Path, *, late_page: bool) -> list[Event]:
    """A live fill that first shows the history gathered before it, cut by --max-events after the first of those
    (the runner's stop hook stops the recorder); the read's next page may come while the run winds down."""
    now = [1000.0]
    recorder = Recorder(path, venue="kalshi", clock=lambda: now[0])
    shown: list[Event] = []

    def out(item: Item) -> None:  # the runner, with --max-events 2: what comes after the bound is not shown
        if isinstance(item, (Fill, Cancel)) and len(shown) < 2:
            shown.append(item)
            recorder.event(item)
            if len(shown) == 2:
                recorder.stop()

    pages = Pages()
    venue = ClosingVenue.for_parsing(clock=lambda: now[0])
    follower = Follower(venue, pages, Ledger(), out=out, record_history=recorder.history, clock=lambda: now[0])
    stream = Stream(venue, StreamOptions(url=""), clock=lambda: now[0], record=recorder.frame)
    dispatch = Dispatch(stream, follower.live, lambda: None)
    now[0] = 1001.0
    dispatch.frame("fill L1 30")
    follower.backfill()  # fills, then orders
    await pages.answer(1002.0, b'[["R1", 10], ["R2", 20]]')  # the fills page: gathered, the orders page asked
    now[0] = 1003.0
    dispatch.frame("fill L2 40")  # R1, R2, L2 shown in turn: the run stopped after R1
    if late_page:
        await pages.answer(1004.0, b'[["R3", 15]]')  # the orders page, read before the follower is closed
    await follower.aclose()
    recorder.close()
    return shown


@pytest.mark.parametrize("late_page", [False, True], ids=["last-entry", "page-after-the-stop"])
async def test_a_replay_stops_inside_the_frame_whose_items_the_run_stopped_in(tmp_path: Path, late_page: bool) -> None:
    """The run stopped part-way through a frame's items (and maybe read one more page before it closed): the replay
    shows the same two events, none of the rest of that frame's items nor the late page's."""
    path = tmp_path / "rec.jsonl"
    assert [event.id for event in await _stopped(path, late_page=late_page)] == ["L1", "R1"]
    replayed = [item async for item in replay(read(path), make_venue=lambda name: ClosingVenue.for_parsing())]
    assert [item.id for item in replayed] == ["L1", "R1"]  # type: ignore[union-attr]
