"""The rules of --market globs and --kind, and of the warning when they hide everything (CONTRACT §2).

Market names are Kalshi tickers as in protocols/kalshi.md §4.3 (``KXFED-26DEC-T4.25``); the
events are the codec's own examples (tests/render/test_jsonl.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fillwatch.core.errors import ConfigError
from fillwatch.core.filters import FilterWatch, check_globs, selector
from tests.render.test_jsonl import CANCEL, FILL


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def refusal(glob: str) -> str:
    with pytest.raises(ConfigError) as raised:
        check_globs([glob])
    return str(raised.value)


def test_an_empty_glob_is_refused_with_the_reason() -> None:
    """An empty --market pattern is refused with a line saying it would match nothing."""
    assert refusal("") == "--market needs a pattern: an empty one matches nothing"


@pytest.mark.parametrize(
    ("glob", "column"),
    [
        ("[", 1),
        ("KX[", 3),
        ("KX[FED", 3),
        ("[]", 1),
        ("[!]", 1),
        ("[^]", 1),
        ("[!", 1),
        ("[X]A[", 5),
        ("[]]][", 5),
        ("A[", 2),
        ("[X][", 4),
        ("[A][]", 4),
    ],
)
def test_an_open_bracket_is_refused_naming_its_column(glob: str, column: int) -> None:
    """The refusal names the pattern and the 1-based column of the '[' that opens no complete set."""
    assert refusal(glob) == (f"bad --market pattern {glob!r}: '[' at {column} has no closing ']' (a literal [ is [[])")


@pytest.mark.parametrize("glob", ["[X]", "[!X]", "[^X]", "[]]", "[!]]", "[^]]", "KX[[]", "[X][Y]", "X]", "A[B]C"])
def test_complete_sets_pass_the_check(glob: str) -> None:
    """A set closed by ']' (a ']' first in a set, or first after '!' or '^', is a member) passes."""
    check_globs([glob])
    assert selector([glob]) is not None


def test_every_glob_is_checked_not_only_the_first() -> None:
    """A bad pattern after a good one is still refused."""
    with pytest.raises(ConfigError, match="'KX\\['"):
        check_globs(["KX*", "KX["])


def test_both_kinds_together_select_everything() -> None:
    """--kind fill --kind cancel (in any order, repeated or not) is no filter at all."""
    assert selector([], ["cancel", "fill", "fill"]) is None
    assert selector([], ["fill"]) is not None


@pytest.mark.parametrize(
    ("globs", "market", "kept"),
    [
        (["KXA*", "KXB*"], "KXB-1", True),
        (["KXA*", "KXB*"], "KXA-1", True),
        (["KXA*", "KXB*"], "KXC-1", False),
        (["KXA", "KXB"], "KXAKXB", False),
        (["KX*"], "KX\nFED", True),
        (["KX?FED"], "KX\nFED", True),
        (["kx*"], "KXFED", True),
        (["KX*"], "kxfed", True),
        (["Kx[f]*"], "kXFed", True),
    ],
)
def test_any_glob_matches_the_whole_name(globs: list[str], market: str, kept: bool) -> None:
    """Any one of several globs keeps an event; each matches the whole name, a newline in it too, ignoring case."""
    select = selector(globs)
    assert select is not None
    assert select(replace(FILL, market=market)) is kept


def test_the_remembered_answer_is_per_market() -> None:
    """A market's answer, remembered, is not given to another market."""
    select = selector(["KXFED*"])
    assert select is not None
    answers = [select(replace(FILL, market=m)) for m in ("KXFED-1", "KXBTC-1", "KXFED-1", "KXBTC-1")]
    assert answers == [True, False, True, False]


def test_answers_stay_right_past_the_number_of_markets_remembered() -> None:
    """After more distinct markets than are remembered, every answer is still the glob's."""
    select = selector(["KXFED*"])
    assert select is not None
    markets = [f"KXFED-{i}" if i % 2 else f"KXBTC-{i}" for i in range(10_050)]
    assert [select(replace(FILL, market=m)) for m in markets] == [bool(i % 2) for i in range(10_050)]
    assert select(replace(FILL, market="KXFED-1")) is True
    assert select(replace(FILL, market="KXBTC-0")) is False


def test_a_kind_and_a_glob_together_keep_only_events_passing_both() -> None:
    """--kind fill with --market: a cancel on a matching market and a fill elsewhere are both hidden."""
    select = selector(["KX*"], ["fill"])
    assert select is not None
    kept = [select(replace(e, market=m)) for e in (FILL, CANCEL) for m in ("KXA", "OTHER")]
    assert kept == [True, False, False, False]


def watch(globs: list[str], kinds: list[str], said: list[str], clock: Clock, **kw: object) -> FilterWatch:
    select = selector(globs, kinds)
    assert select is not None
    return FilterWatch(select, globs=globs, kinds=kinds, warn=said.append, clock=clock, **kw)  # type: ignore[arg-type]


def test_the_warning_comes_at_the_patience_not_before() -> None:
    """With the default patience, an event hidden at 29.9 s says nothing; one at 30 s warns, once."""
    clock, said = Clock(), []
    w = watch(["KXFED"], [], said, clock)
    clock.now = 29.9
    assert w(replace(FILL, market="KXFED-1")) is False
    assert said == []
    clock.now = 30.0
    w(replace(FILL, market="KXFED-1"))
    clock.now = 45.0
    w(replace(FILL, market="KXFED-1"))
    w.close()
    assert said == ["--market KXFED hid all 2 events in 30 s; globs match whole tickers: try --market 'KXFED*'"]


def test_the_clock_starts_when_the_watch_is_made() -> None:
    """Patience counts from the watch's creation, not from the clock's zero."""
    clock, said = Clock(), []
    clock.now = 1000.0
    w = watch(["A*"], [], said, clock, patience=5.0)
    clock.now = 1004.0
    w(replace(FILL, market="B"))
    assert said == []
    clock.now = 1006.4
    w(replace(FILL, market="B"))
    assert said == ["--market A* hid all 2 events in 6 s"]


def test_the_warning_names_every_glob_and_kind_and_hints_only_plain_globs() -> None:
    """The warning lists the globs, then the kinds; only globs without '*', '?' or '[' get a hint."""
    clock, said = Clock(), []
    w = watch(["KXFED", "KX*", "KXB?", "KX[A]", "KXBTC"], ["cancel"], said, clock, patience=0.0)
    assert w(FILL) is False
    assert said == [
        "--market KXFED --market KX* --market KXB? --market KX[A] --market KXBTC and --kind cancel"
        " hid all 1 event in 0 s; globs match whole tickers: try --market 'KXFED*' --market 'KXBTC*'"
    ]


def test_a_kind_alone_is_named_without_a_hint() -> None:
    """A --kind that hid everything is named alone, with no glob hint."""
    clock, said = Clock(), []
    select = selector([], ["cancel"])
    assert select is not None
    w = FilterWatch(select, globs=[], kinds=["cancel"], warn=said.append, clock=clock)
    w(FILL)
    w(FILL)
    w.close()
    assert said == ["--kind cancel hid all 2 events in this run"]


def test_counts_and_the_hidden_callback_follow_each_event() -> None:
    """`shown` and `hidden` count events; the callback is told once per hidden event; no callback is fine."""
    clock, said, told = Clock(), [], []
    w = watch(["KX*"], [], said, clock, on_hidden=lambda: told.append(1))
    results = [w(replace(FILL, market=m)) for m in ("KXA", "B", "KXC", "D", "E")]
    assert results == [True, False, True, False, False]
    assert (w.shown, w.hidden, len(told)) == (2, 3, 3)
    quiet = watch(["KX*"], [], said, clock)
    assert quiet(replace(FILL, market="B")) is False
    assert quiet.hidden == 1


def test_something_shown_before_the_patience_keeps_the_watch_silent() -> None:
    """One event shown, then a long time of hidden ones: no warning during the run or at its end."""
    clock, said = Clock(), []
    w = watch(["KX*"], [], said, clock, patience=1.0)
    w(replace(FILL, market="KXA"))
    for second in range(2, 10):
        clock.now = float(second)
        w(replace(FILL, market="B"))
    w.close()
    assert said == []


def test_close_warns_once_and_not_after_the_run_already_warned() -> None:
    """A run that already warned says nothing more at close; a run that hid nothing says nothing."""
    clock, said = Clock(), []
    w = watch(["KX*"], [], said, clock, patience=0.0)
    w(replace(FILL, market="B"))
    w.close()
    w.close()
    assert said == ["--market KX* hid all 1 event in 0 s"]
    idle = watch(["KX*"], [], said, clock)
    idle.close()
    assert said == ["--market KX* hid all 1 event in 0 s"]


def test_the_watch_is_a_sink_that_passes_everything_through_quietly() -> None:
    """As a sink it takes events, statuses and flushes without a word; it speaks only at close."""
    clock, said = Clock(), []
    w = watch(["KX*"], [], said, clock)
    w.event(FILL)
    w.flush()
    assert said == []
    assert (w.shown, w.hidden) == (0, 0)


def test_both_kinds_given_are_both_named() -> None:
    """The warning names the --kind options as given, each with its flag, after the globs."""
    clock, said = Clock(), []
    select = selector(["KX*"], ["fill", "cancel"])
    assert select is not None
    w = FilterWatch(select, globs=["KX*"], kinds=["fill", "cancel"], warn=said.append, clock=clock)
    w(FILL)
    w.close()
    assert said == ["--market KX* and --kind fill --kind cancel hid all 1 event in this run"]
