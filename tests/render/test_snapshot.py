"""The README's picture is made by code: rich's SVG export of a board fed by the simulator's feed."""

from __future__ import annotations

from fillwatch.render.snapshot import OUT, render


def test_snapshot_renders_the_live_table_as_svg() -> None:
    """The SVG shows the header, titled rows and the totals, and is reproducible."""
    svg = render()
    assert svg.startswith("<svg")
    for text in ("kalshi&#160;demo", "Fed&#160;funds", "KXNBAGAME", "realized", "position", "total"):
        assert text in svg
    assert render() == svg


def test_the_committed_picture_lives_in_the_package() -> None:
    """fillwatch/render/table.svg exists and is an SVG of the table."""
    assert OUT.read_text(encoding="utf-8").startswith("<svg")
