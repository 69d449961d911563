"""Untrusted text in the terminal views: bidi and C1 controls are escaped like every control character."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC

import pytest

from fillwatch.core.events import Skipped
from fillwatch.render.lines import LineFormatter
from fillwatch.render.session import Session
from fillwatch.render.status import StatusSink
from fillwatch.render.table import FillBoard
from fillwatch.render.text import sanitize
from tests.render.helpers import cancel, console, fill, output

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
"""The embeddings and overrides (LRE RLE PDF LRO RLO) and the isolates (LRI RLI FSI PDI)."""
C1 = [chr(c) for c in range(0x80, 0xA0)]
"""C1 controls: CSI (U+009B), OSC (U+009D), ST (U+009C), NEL (U+0085) among them."""
# A ticker that reverses the rest of the line as shown, then opens an OSC the 8-bit way.
HOSTILE = "KX\u202eDEF\u2066x\u2069\x9d0;pwned\x9c\x9b2J"


@pytest.mark.parametrize("char", BIDI + C1, ids=lambda c: f"U+{ord(c):04X}")
def test_sanitize_writes_each_bidi_and_c1_control_as_a_visible_escape(char: str) -> None:
    """Each such character becomes its escape (``\\u202e``, ``\\x9b``), and nothing else changes."""
    code = ord(char)
    assert sanitize(f"a{char}b") == (f"a\\x{code:02x}b" if code < 0x100 else f"a\\u{code:04x}b")


def test_sanitize_leaves_ordinary_unicode_alone() -> None:
    """Accents, other scripts and symbols are text, not controls."""
    text = "Zürich — São Paulo ≥ 53°, מכבי, 東京"
    assert sanitize(text) == text


def raw_controls(text: str) -> list[str]:
    return [c for c in BIDI + C1 if c in text]


def test_lines_view_escapes_bidi_and_c1_controls() -> None:
    """A hostile ticker, side, title and cancel reason reach the lines view escaped."""
    fmt = LineFormatter(console(), titles={("kalshi", HOSTILE): "t\u202bx\u2067"}, tz=UTC)
    text = fmt(fill(HOSTILE, side="y\u202d")) + fmt(replace(cancel(HOSTILE), reason="r\u202ax\x85"))
    assert raw_controls(text) == []
    assert "KX\\u202eDEF\\u2066x\\u2069\\x9d0;pwned\\x9c\\x9b2J" in text


def test_table_view_escapes_bidi_and_c1_controls() -> None:
    """A hostile ticker, side and title reach the live table escaped."""
    session = Session(venue="kalshi", env="prod")
    board = FillBoard(session, titles={("kalshi", HOSTILE): "t\u202bx\u2067"}, tz=UTC, wall_clock=lambda: 1000.0)
    for event in (fill(HOSTILE, side="y\u202d"), cancel(HOSTILE)):
        session.add(event)
        board.add(event)
    target = console(width=200)
    target.print(board)
    text = output(target)
    assert raw_controls(text) == []
    assert "KX\\u202eDEF" in text


def test_skipped_frame_line_escapes_its_reason() -> None:
    """The reason of a skipped frame (a venue's own error text) reaches stderr escaped."""
    out = io.StringIO()
    StatusSink(out, venue="novig").status(Skipped("venue error: \x1b]0;pwned\x07\u202e", "{}", 1))
    line = out.getvalue()
    assert line == "! skipped a frame (venue error: \\x1b]0;pwned\\x07\\u202e; 1 so far): {}\n"
