"""The README's picture is made by code: rich's SVG export of a board fed by the simulator's feed."""

from __future__ import annotations

from tools.snapshot import DESK, OUT, SIZES, render, render_desk


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


def test_the_watch_picture_shows_three_accounts_in_one_table() -> None:
    """The watch's SVG: a header line per account, the account column, Novig's names and the per-account totals."""
    text = render_desk(text=True)
    lines = text.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["main", "hedge", "nv"]
    assert "account" in lines[4]
    for needed in (" hedge ", " nv ", "Bulls @ Knicks", "all "):
        assert needed in text
    assert render_desk() == render_desk()
    for name, (width, height) in DESK.items():
        assert (OUT.parent / name).read_text(encoding="utf-8") == render_desk(width=width, height=height), name
