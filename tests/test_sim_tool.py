"""`python -m fillwatch.sim` as a tool: a venue flag, fault flags, and one fixed address across restarts."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(60)


def free_port_pair() -> int:
    """A port P with P and P + 1 free just now."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free ports in a row")


@contextmanager
def sim(*args: str) -> Iterator[dict[str, str]]:
    """Run the simulator; yield what it printed (name → value) once it serves; stop it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fillwatch.sim", *args], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
    )
    assert process.stdout is not None
    printed: dict[str, str] = {}
    try:
        for line in process.stdout:
            name, _, value = line.partition(" ")
            printed[name] = value.strip()
            if name.startswith("try:"):
                break
        yield printed
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_a_fixed_port_gives_the_same_urls_on_every_start(tmp_path: Path) -> None:
    """--port P: the WebSocket on P and REST on P + 1, the same after a restart (a profile keeps working)."""
    port = free_port_pair()
    key = tmp_path / "sim.pem"
    with sim("--port", str(port), "--key-out", str(key)) as first:
        pass
    with sim("--port", str(port), "--key-out", str(key)) as second:
        assert second["ws_url"] == first["ws_url"] == f"ws://127.0.0.1:{port}/trade-api/ws/v2"
        assert second["api_url"] == first["api_url"] == f"http://127.0.0.1:{port + 1}/trade-api/v2"


def test_fault_flags_reach_the_client(tmp_path: Path) -> None:
    """--drop-after 3 --drops 1: fillwatch sees one drop, reconnects and still prints every event."""
    key = tmp_path / "sim.pem"
    with sim("--rate", "50", "--seed", "4", "--drop-after", "3", "--drops", "1", "--key-out", str(key)) as urls:
        args = ["kalshi", "--ws-url", urls["ws_url"], "--api-url", urls["api_url"], "--key-id", urls["key_id"]]
        result = fillwatch([*args, "--private-key", str(key), "-f", "jsonl", "--max-events", "8"])
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("- disconnected") == 1
    assert len(result.stdout.splitlines()) == 8


def test_the_novig_simulator_serves_fillwatch_novig() -> None:
    """--venue novig: the printed URLs and client credentials work with `fillwatch novig`."""
    with sim("--venue", "novig", "--rate", "50", "--seed", "2") as urls:
        args = ["novig", "--ws-url", urls["ws_url"], "--api-url", urls["api_url"], "--token-url", urls["token_url"]]
        result = fillwatch(
            [*args, "--client-id", urls["client_id"], "-f", "jsonl", "--max-events", "3"],
            env={"NOVIG_CLIENT_SECRET": urls["secret"]},
        )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_the_tool_speaks_the_current_schema_unless_told_otherwise() -> None:
    """`python -m fillwatch.sim` sends Kalshi's current schema by default (issue 18); legacy fields only on request."""
    from fillwatch.sim.__main__ import parser, script_fields
    from fillwatch.sim.kalshi import Script

    assert script_fields(parser().parse_args([]), Script)["schema"] == "current"
    assert script_fields(parser().parse_args(["--schema", "mixed"]), Script)["schema"] == "mixed"
