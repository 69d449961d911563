"""`fillwatch demo --venue novig` (the v3 simulator) on a terminal: the live table names markets and outcomes."""

from __future__ import annotations

import re
import sys

import pytest

from tests.test_terminal import in_terminal

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TEAMS = ("Celtics", "Lakers", "Suns", "Heat", "Bulls", "Knicks")


def test_the_v3_demo_table_shows_names_not_uuids() -> None:
    """issue 14 "Done when" (api-reference_catalog_get-a-market.md: description, outcome name): names, no UUIDs."""
    code, text = in_terminal(["demo", "--venue", "novig", "--rate", "40", "--seed", "3"], interrupt_after=2.5)
    assert code == 130
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    last = plain[plain.rindex("novig simulated") : plain.index("fillwatch: session")]  # the final redraw
    rows = [line for line in last.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert len(rows) >= 5
    assert all(re.search(r" \S+ @ \S+ ", row) for row in rows), rows  # each market by its description
    assert {team for team in TEAMS if any(f" {team} " in row for row in rows)}  # outcomes by name
    assert not UUID.search(last), last
    assert "USD" not in last  # contracts, not dollars
