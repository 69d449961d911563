"""--market globs and --kind: which events reach the sinks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fillwatch.core.filters import selector
from tests.render.test_jsonl import CANCEL, FILL


def test_no_filter_is_no_predicate() -> None:
    """Without --market or --kind there is nothing to call per event."""
    assert selector() is None
    assert selector([], ["fill", "cancel"]) is None


@pytest.mark.parametrize(
    ("globs", "market", "kept"),
    [
        (["KXBTC*"], "KXBTC-26DEC31-B100000", True),
        (["kxbtc*"], "KXBTC-26DEC31-B100000", True),
        (["KXBTC*"], "kxbtc-lower", True),
        (["KXBTC*"], "XKXBTC", False),
        (["KXBTC"], "KXBTC-26DEC31", False),
        (["*-T4.2?"], "KXFED-26DEC-T4.25", True),
        (["*-T4.2?"], "KXFED-26DEC-T4.5", False),
        (["KX[CF]*"], "KXFED-26DEC", True),
        (["KX[CF]*"], "KXBTC", False),
        (["nope", "KXFED*"], "KXFED-26DEC", True),
        (["*"], "anything at all", True),
    ],
)
def test_market_globs_match_the_whole_name_case_insensitively(globs: list[str], market: str, kept: bool) -> None:
    """Shell-style globs, any of several, anchored at both ends, ignoring case."""
    select = selector(globs)
    assert select is not None
    assert select(replace(FILL, market=market)) is kept
    assert select(replace(FILL, market=market)) is kept  # the remembered answer agrees


def test_kinds_select_fills_or_cancels() -> None:
    """--kind fill keeps fills only; --kind cancel keeps cancels only."""
    fills, cancels = selector([], ["fill"]), selector([], ["cancel"])
    assert fills is not None
    assert cancels is not None
    assert (fills(FILL), fills(CANCEL), cancels(FILL), cancels(CANCEL)) == (True, False, False, True)


def test_market_and_kind_must_both_match() -> None:
    """Both options together: an event must pass both."""
    select = selector(["m"], ["cancel"])
    assert select is not None
    assert (select(FILL), select(CANCEL), select(replace(CANCEL, market="x"))) == (False, True, False)


@pytest.mark.parametrize("glob", ["[KX", "KX[FED", "", "KX[]"])
def test_a_malformed_glob_is_refused(glob: str) -> None:
    """An open '[' (or an empty pattern) is a usage error, not a filter that never matches."""
    from fillwatch.core.errors import ConfigError

    with pytest.raises(ConfigError, match="--market"):
        selector([glob])


@pytest.mark.parametrize("glob", ["KX[CF]*", "[!A]*", "[]]x", "KX[[]"])
def test_well_formed_brackets_are_accepted(glob: str) -> None:
    """Closed sets, negated sets, a ']' first in a set and an escaped '[' are fine."""
    assert selector([glob]) is not None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_filter_that_hides_everything_for_30_s_says_so_once_with_a_hint() -> None:
    """After 30 s of nothing shown: one warning, naming the glob and suggesting KXFED*; never again."""
    from fillwatch.core.filters import FilterWatch

    clock, said, hidden = Clock(), [], []
    select = selector(["KXFED"])
    assert select is not None
    watch = FilterWatch(
        select, globs=["KXFED"], kinds=[], warn=said.append, on_hidden=lambda: hidden.append(1), clock=clock
    )
    for second in range(60):
        clock.now = float(second)
        assert watch(replace(FILL, market="KXFED-26DEC-T4.25")) is False
    watch.close()
    assert len(said) == 1
    assert said[0] == "--market KXFED hid all 31 events in 30 s; globs match whole tickers: try --market 'KXFED*'"
    assert len(hidden) == 60


def test_a_filter_that_shows_something_stays_silent_and_a_silent_run_is_reported_at_its_end() -> None:
    """One event shown: no warning ever; a short run that hid all: the warning comes at close."""
    from fillwatch.core.filters import FilterWatch

    clock, said = Clock(), []
    select = selector(["KX*"])
    assert select is not None
    watch = FilterWatch(select, globs=["KX*"], kinds=[], warn=said.append, clock=clock)
    watch(replace(FILL, market="KXA"))
    clock.now = 100
    watch(replace(FILL, market="OTHER"))
    watch.close()
    assert said == []
    short = FilterWatch(select, globs=["KX*"], kinds=[], warn=said.append, clock=clock)
    short(replace(FILL, market="OTHER"))
    short.close()
    assert said == ["--market KX* hid all 1 event in this run"]
