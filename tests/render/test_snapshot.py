"""The README's picture is made by code: rich's SVG export of a board fed by the simulator's feed."""

from __future__ import annotations

from tools.snapshot import OUT, SIZES, render


def test_snapshot_renders_the_live_table_as_svg() -> None:
    """The SVG shows the header, titled rows and the totals, and is reproducible."""
    svg = render()
    assert svg.startswith("<svg")
    for text in ("kalshi&#160;demo", "Fed&#160;funds", "KXNBAGAME", "realized", "position", "total"):
        assert text in svg
    assert render() == svg


def test_the_committed_pictures_are_what_the_tool_makes_now() -> None:
    """The README's SVGs (120×40 and 80×24) are the snapshot tool's current output: regenerated, not stale."""
    for name, (width, height) in SIZES.items():
        assert (OUT.parent / name).read_text(encoding="utf-8") == render(width=width, height=height), name
