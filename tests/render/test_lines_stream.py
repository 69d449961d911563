"""The lines view on a fixed stream of varied events writes the bytes it wrote before it was made faster."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from fillwatch.core.events import Cancel, Event, Fill
from fillwatch.render.lines import LineFormatter
from fillwatch.render.text import number
from tests.render.helpers import EVIL, TS, console

MARKETS = ("KXFED-26DEC-T4.25", "KXBTCD-26NOV2117-T98499.99", "KXHIGHNY-26NOV21-B53.5", "A" * 40, EVIL, "KX∑深")
NOVIG_MARKET, NOVIG_OUTCOME = "123e4567-e89b-12d3-a456-426614174002", "123e4567-e89b-12d3-a456-426614174003"
NUMBERS = ("0.7500", "278.00", "0", "-0", "-0.00", "1E+2", "12345678901", "0.000001", "1e-7", "-3.5", "10", "0.01")


def maybe(rng: random.Random, value: object) -> object:
    """`value` three times in four, else None."""
    return value if rng.random() < 0.75 else None


def event(rng: random.Random, n: int) -> Event:
    """A fill or cancel of Kalshi or Novig with every field varied, hostile text and odd numbers included."""
    venue = "novig" if rng.random() < 0.15 else rng.choice(("kalshi", "kalshi", "kalshi", "x\x1b[2Jvenue"))
    market, side = (NOVIG_MARKET, NOVIG_OUTCOME) if venue == "novig" else (rng.choice(MARKETS), "yes")
    side = rng.choice((side, side, "no", "NO", "y\u202e"))
    common = {
        "venue": venue,
        "id": f"t{n}",
        "order_id": f"o{n}",
        "market": market,
        "side": side,
        "action": rng.choice(("buy", "buy", "sell", None, "hold")),
        "price": Decimal(rng.choice(("0.75", "0.0300", "1", "0", "0.667", "0.12345"))),
        "qty": Decimal(rng.choice(NUMBERS[:-1])),
        "ts": TS + timedelta(milliseconds=rng.randrange(0, 400_000)) * rng.choice((1, 1, 1, -1000)),
        "currency": rng.choice(("USD", "CASH", "COIN", None)),
        "source": rng.choice(("live", "live", "history")),
    }
    if rng.random() < 0.2:
        reason = rng.choice(("expired", "user", "r\u202ax\x85", "a long reason for cancelling " * 3))
        original = maybe(rng, Decimal(rng.choice(NUMBERS)))
        return Cancel(**common, original_qty=original, reason=maybe(rng, reason))  # type: ignore[arg-type]
    fee, position = maybe(rng, Decimal(rng.choice(NUMBERS))), maybe(rng, Decimal(rng.choice(NUMBERS)))
    taker = rng.choice((True, False, None))
    return Fill(**common, taker=taker, fee=fee, position=position)  # type: ignore[arg-type]


def written(color_system: str | None, width: int | None, count: int = 2_000) -> bytes:
    """What a formatter writes for the fixed stream, titles arriving halfway and the width changing at 3/4."""
    rng = random.Random(13)
    titles: dict[tuple[str, str], str] = {}
    outcomes = {("novig", NOVIG_OUTCOME): "Over 47.5"}
    fmt = LineFormatter(console(color_system=color_system), titles=titles, outcomes=outcomes, tz=UTC, width=width)
    out = []
    for n in range(count):
        if n == count // 2:
            titles.update({("kalshi", m): f"Title of {m} with \x1b[5m in it" for m in MARKETS})
            titles[("novig", NOVIG_MARKET)] = "KC Chiefs vs BUF Bills — Total"
        if n == count * 3 // 4 and width is not None:
            fmt.resize(width - 40)
        out.append(fmt(event(rng, n)))
    return "".join(out).encode()


# sha256 of what the formatter of main at 890b0a5 (before the fast path) wrote for each case, but for Novig's
# "USD" (v3 contracts), no longer labelled: every line that changed differs only by " USD" become spaces.
EXPECTED = {
    (None, None): "98f684984a814f8c7249482ea1a3cb0df8326362ccb7e1517775318fe30d423c",
    (None, 160): "c1d952b8ff3ae7c33fd381b5a65503498599d1779bb9017779ed84ae5bffb3c8",
    (None, 100): "12a436df898af373afb111f4ab710781d5882e77391fd01d092a5c5e2368f428",
    ("standard", None): "33a306cff2c265d0d49e3003704c380793db67531d80554538ece7f4782a277e",
    ("standard", 160): "9cf10121115b7743918f483461c0474671c26b1731c4f009d9cd555b3a9ffe03",
    ("truecolor", 120): "6bc63f196c0f1e19a778e205b6c17e98ec880c8ea8ef3d6431ce1a9f3624bb1f",
    ("truecolor", 72): "4fb6073f9efd250e1833d440caa0da0abcdf0e71ae6ba682538d4234192219b6",
}


@pytest.mark.parametrize(("color_system", "width"), list(EXPECTED))
def test_a_fixed_stream_writes_the_same_bytes_as_before(color_system: str | None, width: int | None) -> None:
    """Every line of 2,000 varied events, in colour or not, on a pipe or fitted to a width, is unchanged."""
    assert hashlib.sha256(written(color_system, width)).hexdigest() == EXPECTED[(color_system, width)]


def test_numbers_read_as_fixed_point_formatting_read_them() -> None:
    """`number` gives the text of ``f"{value:f}"`` less trailing zeros, for exponents, zeros and specials too."""
    rng = random.Random(7)
    values = [Decimal(text) for text in (*NUMBERS, "NaN", "sNaN", "-Infinity", "0E+5", "-0E-3", "1e-6", "123.4500")]
    values += [Decimal(f"{rng.randrange(10 ** rng.randrange(1, 25)) * rng.choice((1, -1))}E{rng.randrange(-30, 25)}")
               for _ in range(20_000)]  # fmt: skip
    for value in values:
        fixed = f"{value:f}"
        assert number(value) == (fixed.rstrip("0").rstrip(".") if "." in fixed else fixed), value
