"""--market globs and --kind: which events reach the sinks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fillwatch.filters import selector
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
