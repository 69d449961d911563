"""The views' time of day: reusing the last minute's conversion shows what converting every time showed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from fillwatch.render.text import TimeOfDay


class Jumping(tzinfo):
    """A zone that moves 30 s ahead at 12:00:20 UTC on 2026-01-01: in the middle of a minute."""

    AT = datetime(2026, 1, 1, 12, 0, 20)
    JUMP = timedelta(seconds=30)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self.JUMP if dt is not None and dt.replace(tzinfo=None) >= self.AT + self.JUMP else timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def fromutc(self, dt: datetime) -> datetime:
        return dt + self.JUMP if dt.replace(tzinfo=None) >= self.AT else dt

    def __repr__(self) -> str:
        return "Jumping()"


ZONES = [
    Jumping(),
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-3, seconds=17)),  # an offset with seconds: local minutes start mid-UTC-minute
    timezone(timedelta(microseconds=500_000)),  # half a second: never reused
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),  # half an hour of summer time
    ZoneInfo("Asia/Kolkata"),  # local mean time +5:53:28 before 1880
    None,
]
# Around the jump, a spring-forward and a fall-back in New York and Lord Howe, before 1970 and 1900, near 2**32 s.
MOMENTS = [
    datetime(2026, 1, 1, 12, 0, 20, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 59, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 59, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 14, 59, 30, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 29, 30, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 0, tzinfo=UTC),
    datetime(1850, 6, 1, tzinfo=UTC),
    datetime(2106, 2, 7, 6, 27, 0, tzinfo=UTC),
    datetime(2026, 11, 21, 20, 33, 25, 762000, tzinfo=UTC),
]


class Converting:
    """The time of day as it was: converted (``astimezone`` and ``strftime``) whenever the second changes."""

    def __init__(self, tz: tzinfo | None) -> None:
        self._tz, self._second, self._text = tz, None, ""

    def __call__(self, ts: datetime) -> str:
        second = int(ts.timestamp())
        if second != self._second:
            self._second = second
            self._text = ts.astimezone(self._tz).strftime("%H:%M:%S")
        return self._text


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_every_second_of_a_stream_shows_the_converted_time(tz: tzinfo | None) -> None:
    """Around DST changes, odd offsets, 1970 and 2**32 s, times moving forward by up to 3 s (and at
    times back a minute) read the same text as a conversion of each, in every zone."""
    rng = random.Random(str(tz))
    for moment in MOMENTS:
        reused, converted = TimeOfDay(tz), Converting(tz)
        ts = moment - timedelta(minutes=3)
        for _ in range(1_500):
            ts += timedelta(microseconds=rng.randrange(0, 3_000_000))
            if rng.random() < 0.02:
                ts -= timedelta(seconds=rng.randrange(1, 90))
            assert reused(ts) == converted(ts), ts


def test_a_time_in_another_zone_reads_in_the_zone_asked_for() -> None:
    """An event time given in a non-UTC zone is shown in the view's zone, like a UTC one."""
    show = TimeOfDay(UTC)
    assert show(datetime(2026, 11, 21, 20, 33, 25, tzinfo=UTC)) == "20:33:25"
    assert show(datetime(2026, 11, 21, 15, 33, 26, tzinfo=ZoneInfo("America/New_York"))) == "20:33:26"
