"""Every command runs through the one Session: the CLI assembles no run of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import fillwatch

CLI = Path(fillwatch.__file__).parent / "cli"
PARTS = {"fillwatch.session.runner", "fillwatch.session.follower", "fillwatch.net.stream", "fillwatch.net.http"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_cli_module_imports_the_parts_of_a_run_the_session_assembles():
    """tail, demo and replay go through Session: no CLI module reaches for the runner, follower, stream or REST."""
    offenders = {path.name: _imports(path) & PARTS for path in CLI.glob("*.py")}
    assert {name: parts for name, parts in offenders.items() if parts} == {}
    assert any("fillwatch.session.session" in _imports(path) for path in CLI.glob("*.py"))
