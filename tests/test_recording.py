"""Recordings: what the recorder writes, what read() gives back, what replay() yields."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from fillwatch.core.errors import ConfigError
from fillwatch.core.events import BackfillFailed, Cancel, Fill, Item, Skipped
from fillwatch.core.ledger import Checkpoint, Ledger
from fillwatch.render.jsonl import encode, encode_with_raw
from fillwatch.session.recording import End, FailedBackfill, Frame, Header, History, Recorder, read, replay
from fillwatch.venues.base import HistoryPage
from fillwatch.venues.kalshi.adapter import Kalshi, parser
from tests.render.test_jsonl import CANCEL, FILL

CASES = json.loads((Path(__file__).parent / "data" / "kalshi" / "events.json").read_text())
FRAMES = [orjson.dumps(case["frame"]).decode() for case in CASES]
SINCE = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


def record(path: Path, *entries: tuple[float, str | bytes], venue: str = "kalshi") -> None:
    recorder = Recorder(path, venue=venue, clock=lambda: 1767323045.678)
    for t, data in entries:
        recorder.frame(t, data)
    recorder.close()


async def collect(items: object) -> list[Item]:
    return [item async for item in items]  # type: ignore[attr-defined]


def test_recorder_writes_a_header_then_exact_frames(tmp_path: Path) -> None:
    """Header first (venue, no credentials); frames as their exact text or base64; mode 600."""
    path = tmp_path / "rec.jsonl"
    record(path, (1.5, FRAMES[0]), (2.25, b"\x00\x01"))
    header, first, second, end = path.read_bytes().splitlines()
    assert orjson.loads(header) == {
        "recording": "fillwatch",
        "version": 1,
        "venue": "kalshi",
        "started": "2026-01-02T03:04:05.678Z",
    }
    assert orjson.loads(first) == {"t": 1.5, "text": FRAMES[0]}
    assert orjson.loads(second) == {"t": 2.25, "binary": "AAE="}
    assert orjson.loads(end) == {"t": 1767323045.678, "end": {"last": None}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(read(path)) == [
        Header("kalshi"),
        Frame(1.5, FRAMES[0]),
        Frame(2.25, b"\x00\x01"),
        End(1767323045.678, None),
    ]


def test_history_pages_are_recorded_for_parse_history(tmp_path: Path) -> None:
    """A REST page keeps its kind, its `since`, its page token and its exact body (base64 when not UTF-8)."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(3.0, "fills", b'{"fills":[],"cursor":""}', SINCE, None)
    recorder.history(4.0, "orders", b"\xff\xfe", SINCE, "cursor-2")
    recorder.close()
    assert list(read(path))[1:-1] == [
        History(3.0, "fills", b'{"fills":[],"cursor":""}', SINCE, None),
        History(4.0, "orders", b"\xff\xfe", SINCE, "cursor-2"),
    ]


def test_sessions_append_each_with_its_header(tmp_path: Path) -> None:
    """A second run appends a new session; replay starts a fresh adapter at each header."""
    path = tmp_path / "rec.jsonl"
    record(path, (1.0, FRAMES[0]))
    record(path, (2.0, FRAMES[1]))
    assert [type(entry).__name__ for entry in read(path)] == ["Header", "Frame", "End", "Header", "Frame", "End"]


async def test_replay_parses_frames_exactly_as_the_live_stream(tmp_path: Path) -> None:
    """Every recorded frame goes through the Kalshi parser: same events, malformed ones skipped."""
    path = tmp_path / "rec.jsonl"
    record(path, *[(float(i), frame) for i, frame in enumerate(FRAMES)], (99.0, "{not json"))
    items = await collect(replay(read(path)))
    events = [item for item in items if isinstance(item, (Fill, Cancel))]
    parsed = [event for frame in FRAMES for event in parser().parse(frame) if isinstance(event, (Fill, Cancel))]
    assert len(parsed) == sum(len(case["lines"]) for case in CASES)
    ledger = Ledger()  # as live: each (id, order_id) once (the samples reuse ids across schemas)
    expected = [event for event in parsed if ledger.admit(event)]
    # a recording whose header names no account (older ones) shows its events under the venue's name
    assert [encode(e) for e in events] == [encode(replace(e, account="kalshi")) for e in expected]
    assert len(expected) < len(parsed)
    assert isinstance(items[-1], Skipped)
    assert items[-1].reason == "not JSON"


async def test_replay_with_raw_attaches_the_frames(tmp_path: Path) -> None:
    """--raw on replay gives the frame under "raw", byte for byte."""
    path = tmp_path / "rec.jsonl"
    record(path, (1.0, FRAMES[0]))
    (event,) = await collect(replay(read(path), raw=True))
    assert isinstance(event, Fill)
    assert encode_with_raw(event).endswith(b',"raw":' + FRAMES[0].encode() + b"}\n")


class HistoryVenue(Kalshi):
    """A parse-only Kalshi whose history pages each hold one known event."""

    seen: list[tuple[str, bytes, datetime, str | None]] = []  # noqa: RUF012 -- shared on purpose: the test reads it

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        self.seen.append((kind, body, since, page))
        return HistoryPage([FILL if kind == "fills" else CANCEL], None)


async def test_replay_feeds_history_pages_through_parse_history(tmp_path: Path) -> None:
    """Recorded REST pages reach the adapter's parse_history with their kind, body, since and page."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(1.0, "fills", b"page-1", SINCE, None)
    recorder.frame(2.0, FRAMES[0])
    recorder.history(3.0, "orders", b"page-2", SINCE, "next")
    recorder.event(CANCEL)  # what the run showed last
    recorder.close()
    HistoryVenue.seen = []
    items = await collect(replay(read(path), make_venue=lambda name: HistoryVenue.for_parsing()))
    assert [type(item).__name__ for item in items] == ["Fill", "Fill", "Cancel"]
    assert (items[0], items[2]) == (FILL, CANCEL)
    assert HistoryVenue.seen == [("fills", b"page-1", SINCE, None), ("orders", b"page-2", SINCE, "next")]


async def test_event_lines_replay_to_the_same_lines(tmp_path: Path) -> None:
    """An --output file (no header) gives back its events unchanged."""
    path = tmp_path / "out.jsonl"
    path.write_bytes(encode(FILL) + b"\n" + encode(CANCEL))
    assert [encode(e) for e in await collect(replay(read(path)))] == [encode(FILL), encode(CANCEL)]  # type: ignore[arg-type]


async def test_speed_paces_by_receive_time(tmp_path: Path) -> None:
    """--speed 20: frames recorded 2 s apart come out about 0.1 s apart."""
    path = tmp_path / "rec.jsonl"
    record(path, (100.0, FRAMES[0]), (102.0, FRAMES[0]))
    started = time.monotonic()
    await collect(replay(read(path), speed=20))
    assert 0.09 <= time.monotonic() - started < 1.0
    started = time.monotonic()
    await collect(replay(read(path)))
    assert time.monotonic() - started < 0.09


async def test_speed_paces_event_lines_by_event_time(tmp_path: Path) -> None:
    """For an --output file, the pace follows the events' ts."""
    path = tmp_path / "out.jsonl"
    later = replace(FILL, ts=FILL.ts.replace(second=9))
    path.write_bytes(encode(FILL) + encode(later))  # 4 s apart
    started = time.monotonic()
    await collect(replay(read(path), speed=40))
    assert 0.09 <= time.monotonic() - started < 1.0


async def test_long_replays_let_the_loop_run(tmp_path: Path) -> None:
    """As fast as possible still yields to the event loop, so output is flushed as it goes."""
    path = tmp_path / "rec.jsonl"
    record(path, *[(float(i), FRAMES[0].replace("d91bc706", f"{i:08x}")) for i in range(2000)])
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)  # a turn of the loop, not a wait: it counts how often replay yields

    ticker = asyncio.create_task(tick())
    assert len(await collect(replay(read(path)))) == 2000
    ticker.cancel()
    assert ticks >= 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json\n", "rec.jsonl:1: not a recording or an event line (not JSON)"),
        (b"[1]\n", "rec.jsonl:1: not a recording or an event line (not a JSON object)"),
        (b'{"t": 1, "text": "{}"}\n', "rec.jsonl:1: a recorded frame before the recording's header"),
        (b'\n{"recording":"fillwatch","version":9,"venue":"kalshi"}\n', "rec.jsonl:2: not a recording or an event"),
        (b'{"recording":"fillwatch","version":1,"venue":"kalshi"}\n{"t":1}\n', "rec.jsonl:2: not a recording"),
        (b'{"kind":"fill","venue":"kalshi"}\n', "rec.jsonl:1: not a recording or an event line"),
    ],
)
def test_files_that_are_not_recordings_are_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    """A line that is neither a recording entry nor an event line: exit 2, naming file and line."""
    path = tmp_path / "rec.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        list(read(path))
    assert message in str(caught.value)


@pytest.mark.parametrize("field", ["floor", "backfill_failed", "since"])
def test_a_recorded_time_without_a_time_zone_is_a_usage_error(tmp_path: Path, field: str) -> None:
    """A floor, failed backfill or page time without a zone (comparable with no event time): exit 2, naming the line."""
    path = tmp_path / "rec.jsonl"
    entry = {"t": 1, field: "2020-01-01T00:00:00"}
    if field == "since":
        entry |= {"history": "fills", "page": None, "body": "{}"}
    header = {"recording": "fillwatch", "version": 1, "venue": "kalshi"}
    path.write_bytes(orjson.dumps(header) + b"\n" + orjson.dumps(entry) + b"\n")
    with pytest.raises(ConfigError, match=r"rec\.jsonl:2: not a recording or an event line .*time zone"):
        list(read(path))


async def test_unknown_venues_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    """A header naming a venue fillwatch does not know, or no file at all: exit 2."""
    path = tmp_path / "rec.jsonl"
    record(path, (1.0, FRAMES[0]), venue="nasdaq")
    with pytest.raises(ConfigError, match="unknown venue 'nasdaq'"):
        await collect(replay(read(path)))
    with pytest.raises(ConfigError, match="cannot read"):
        list(read(tmp_path / "absent.jsonl"))


def test_a_parse_only_adapter_cannot_sign() -> None:
    """The replay adapter holds no key: asking it to sign is a clear error."""
    with pytest.raises(ConfigError, match="parsing only"):
        parser().handshake_headers(0)


class PagesVenue(Kalshi):
    """A parse-only Kalshi whose history page bodies name the hour of their one fill."""

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        event = replace(FILL, id=f"h{int(body)}", ts=FILL.ts.replace(hour=int(body)), source="history")
        return HistoryPage([event], None)


async def test_one_backfill_comes_out_in_time_order_and_deduplicated(tmp_path: Path) -> None:
    """Pages sharing a `since` are one backfill, sorted by time; the session's ledger drops repeats."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(1.0, "fills", b"9", SINCE, None)
    recorder.history(1.1, "orders", b"5", SINCE, None)
    recorder.history(2.0, "fills", b"10", SINCE.replace(hour=4), None)  # the next backfill
    recorder.history(2.1, "orders", b"9", SINCE.replace(hour=4), None)  # h9 again: a duplicate
    recorder.event(replace(FILL, id="h10"))
    recorder.close()
    items = await collect(replay(read(path), make_venue=lambda name: PagesVenue.for_parsing()))
    assert [item.id for item in items] == ["h5", "h9", "h10"]  # type: ignore[union-attr]


async def test_a_failed_backfill_shows_none_of_its_pages(tmp_path: Path) -> None:
    """A backfill that failed part-way showed nothing live, so replay drops its recorded pages."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(1.0, "fills", b"5", SINCE, None)
    recorder.status(BackfillFailed(SINCE, "HTTP 503"))
    recorder.history(2.0, "fills", b"6", SINCE, None)  # the retry, later
    recorder.event(replace(FILL, id="h6"))
    recorder.close()
    assert isinstance(list(read(path))[2], FailedBackfill)
    items = await collect(replay(read(path), make_venue=lambda name: PagesVenue.for_parsing()))
    assert [item.id for item in items] == ["h6"]  # type: ignore[union-attr]


async def test_the_starting_checkpoint_is_recorded_and_applied(tmp_path: Path) -> None:
    """A run from a --state checkpoint records it; replay skips what that run counted as printed."""
    path = tmp_path / "rec.jsonl"
    checkpoint = Checkpoint(newest=FILL.ts.replace(hour=6), seen=(("h6", "o1"),), resume_from=None)
    recorder = Recorder(path, venue="kalshi", checkpoint=checkpoint)
    recorder.history(1.0, "fills", b"5", SINCE, None)  # older than the checkpoint's window
    recorder.history(1.1, "fills", b"6", SINCE, None)  # printed by the previous run
    recorder.history(1.2, "fills", b"7", SINCE, None)
    recorder.event(replace(FILL, id="h7"))
    recorder.close()
    assert next(iter(read(path))) == Header("kalshi", checkpoint)
    assert "PRIVATE" not in path.read_text()
    items = await collect(replay(read(path), make_venue=lambda name: PagesVenue.for_parsing()))
    assert [item.id for item in items] == ["h7"]  # type: ignore[union-attr]


async def test_replay_stops_where_the_run_stopped(tmp_path: Path) -> None:
    """A run that stopped mid-backfill (--max-events, a signal) replays only what it showed."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    for hour in (b"5", b"6", b"7"):
        recorder.history(1.0, "fills", hour, SINCE, None)
    recorder.event(replace(FILL, id="h6"))  # --max-events 2: h5, h6 shown, then the run ended
    recorder.close()
    items = await collect(replay(read(path), make_venue=lambda name: PagesVenue.for_parsing()))
    assert [item.id for item in items] == ["h5", "h6"]  # type: ignore[union-attr]
    interrupted = tmp_path / "interrupted.jsonl"
    recorder = Recorder(interrupted, venue="kalshi")
    recorder.history(1.0, "fills", b"5", SINCE, None)  # stopped while reading the next page: none shown
    recorder.close()
    assert await collect(replay(read(interrupted), make_venue=lambda name: PagesVenue.for_parsing())) == []


class BatchVenue(Kalshi):
    """A parse-only Kalshi whose history page bodies list the hours of their fills."""

    def parse_history(self, kind: str, body: bytes, since: datetime, page: str | None) -> HistoryPage:
        events = [replace(FILL, id=f"h{h}", ts=FILL.ts.replace(hour=h), source="history") for h in orjson.loads(body)]
        return HistoryPage(events, None)


async def test_replay_stops_inside_the_last_page_where_the_run_stopped(tmp_path: Path) -> None:
    """A run stopped by --max-events part-way through the events of its last page replays only those it showed."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(1.0, "fills", b"[5]", SINCE, None)
    recorder.event(replace(FILL, id="h5"))
    recorder.history(2.0, "fills", b"[6, 7, 8]", SINCE.replace(hour=5), None)  # the next backfill: one page
    recorder.event(replace(FILL, id="h6"))  # --max-events 2: h7 and h8 were never shown
    recorder.close()
    items = await collect(replay(read(path), make_venue=lambda name: BatchVenue.for_parsing()))
    assert [item.id for item in items] == ["h5", "h6"]  # type: ignore[union-attr]


def test_a_stopped_recorder_records_no_further_frame_or_page_but_its_end(tmp_path: Path) -> None:
    """After the run stopped (the runner's stop hook), a frame or page read while it winds down is not recorded."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.frame(1.0, FRAMES[0])
    halted: list[bool] = []
    recorder.stopping(lambda: halted.append(True))()
    recorder.history(2.0, "fills", b"5", SINCE, None)
    recorder.frame(3.0, FRAMES[1])
    recorder.close()
    assert halted == [True]
    assert [type(entry).__name__ for entry in read(path)] == ["Header", "Frame", "End"]


async def test_replay_skips_a_recorded_page_the_run_could_not_read(tmp_path: Path) -> None:
    """A recorded history body that is no page (``{"fills": 5}``) is passed over, as the run did; the frames
    after it replay (protocols/kalshi.md §6.1: a page is ``{"fills": [...], "cursor": ...}``)."""
    path = tmp_path / "rec.jsonl"
    recorder = Recorder(path, venue="kalshi")
    recorder.history(1.0, "fills", b'{"fills": 5}', SINCE, None)
    recorder.frame(2.0, FRAMES[0])
    recorder.close()
    items = await collect(replay(read(path)))
    assert [type(item).__name__ for item in items] == ["Fill"]
