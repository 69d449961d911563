"""The registry of venues: each venue a package exporting one spec; nothing outside venues/ names a venue."""

from __future__ import annotations

import ast
import importlib
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fillwatch import venues
from fillwatch.core.errors import ConfigError
from fillwatch.core.secret import Secret
from fillwatch.venues.kalshi.adapter import Kalshi
from fillwatch.venues.novig.adapter import Novig
from fillwatch.venues.spec import BuildContext, Display
from tests.conftest import ROOT
from tests.venues.kalshi_shapes import user_order

NAMES = tuple(venues.REGISTRY)


def test_an_unknown_venue_is_a_config_error() -> None:
    """spec() and parser() of a venue fillwatch does not know raise ConfigError; display() is neutral."""
    with pytest.raises(ConfigError, match="unknown venue 'nope'"):
        venues.spec("nope")
    with pytest.raises(ConfigError, match="unknown venue 'nope'"):
        venues.parser("nope")
    assert venues.display("nope") == Display()


@pytest.mark.parametrize("name", NAMES)
def test_each_venue_package_exports_its_spec(name: str) -> None:
    """fillwatch.venues.<name> exports SPEC, registered under its own name, with prod and demo endpoints."""
    spec = importlib.import_module(f"fillwatch.venues.{name}").SPEC
    assert venues.spec(name) is spec
    assert spec.name == name
    assert set(spec.endpoints) == {"prod", "demo"}
    assert all({"ws", "api"} <= set(urls) for urls in spec.endpoints.values())
    module, _, function = spec.simulator.target.partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_displays_say_what_the_views_used_to_compare_names_for() -> None:
    """Novig counts CASH in cents, has currencies (v3's USD plain contracts) and outcome lines; Kalshi none of these."""
    novig = Display({"CASH": Decimal(100)}, currencies=True, plain=frozenset({"USD"}), outcome_lines=True)
    assert venues.display("novig") == novig
    assert venues.display("kalshi") == Display()


def _compared_names(tree: ast.AST) -> list[int]:
    """Lines where a venue's name is compared (==, !=, in, not in) with anything."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                for leaf in ast.walk(operand):
                    if isinstance(leaf, ast.Constant) and leaf.value in NAMES:
                        found.append(node.lineno)
        if isinstance(node, ast.MatchValue) and isinstance(node.value, ast.Constant) and node.value.value in NAMES:
            found.append(node.lineno)
    return found


def test_no_venue_name_is_compared_outside_venues() -> None:
    """No module of the client outside fillwatch/venues/ compares anything with a venue's name.

    The simulators (fillwatch/sim/) are not the client: their tool chooses the venue it serves.
    """
    offenders = {}
    for path in sorted((ROOT / "fillwatch").rglob("*.py")):
        relative = path.relative_to(ROOT / "fillwatch").parts
        if relative[0] in ("venues", "sim"):
            continue
        lines = _compared_names(ast.parse(path.read_text()))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}


def test_the_kalshi_adapter_dates_with_the_clock_it_is_built_with() -> None:
    """Kalshi(clock=…) dates a cancel without a time by that clock: nobody assigns venue.clock."""
    venue = Kalshi.for_parsing(clock=lambda: 1733047260.25)
    frame = user_order(created_ts_ms=None, created_time=None, last_update_time=..., last_updated_ts_ms=...)
    [cancel] = venue.parse(frame)
    assert cancel.ts == datetime(2024, 12, 1, 10, 1, 0, 250000, tzinfo=UTC)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", NAMES)
def test_a_parser_and_a_built_venue_take_the_clock_given(name: str) -> None:
    """venues.parser(name, clock=c) and a spec's build(…, clock=c) give adapters whose clock is c."""

    def clock() -> float:
        return 5.0

    assert venues.parser(name, clock=clock).clock is clock
    assert venues.parser(name).clock is time.time


def test_a_built_novig_reads_its_token_from_the_cell_it_was_given() -> None:
    """Novig's spec builds the adapter with a token cell; what the glue puts in the cell is what it sends."""
    spec = venues.spec("novig")
    urls = {"ws_url": "ws://127.0.0.1:1/tape", "api_url": "http://127.0.0.1:1", "token_url": "http://127.0.0.1:1/t"}
    values = {**urls, "client_id": "c", "client_secret": "s", "token": None}
    built = spec.build(values, BuildContext(environ={}), clock=lambda: 7.0)
    assert isinstance(built.venue, Novig)
    assert built.auth is not None
    assert (built.venue.clock(), built.account, built.url) == (7.0, "c", urls["ws_url"])
    built.auth.cell.value = Secret("tok-1")
    assert built.venue.handshake_headers(0)["Authorization"] == "Bearer tok-1"
    request = built.auth.request() if built.auth.request else None
    assert request is not None
    assert request.url == urls["token_url"]
