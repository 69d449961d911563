"""Key, config, state and replay paths must be regular files, and key/config reads are bounded (issue 11).

Each case runs the CLI as a user does, with a timeout: a regression fails, it does not hang.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fillwatch.core.errors import ExitCode
from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(60)

WS = ["--ws-url", "ws://127.0.0.1:9/trade-api/ws/v2", "--api-url", "http://127.0.0.1:9/trade-api/v2"]


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def zero(tmp_path: Path) -> Path:
    path = tmp_path / "zero"
    path.symlink_to("/dev/zero")
    return path


def big(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    path.write_bytes(b"#" * (2 << 20))
    path.chmod(0o600)
    return path


def kalshi(*args: str) -> list[str]:
    return ["kalshi", *WS, "--key-id", "k", "-f", "jsonl", *args]


def assert_refused(args: list[str], message: str) -> None:
    result = fillwatch(args, timeout=15)
    assert (result.returncode, result.stdout) == (ExitCode.USAGE, ""), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(("make", "kind"), [(fifo, "a FIFO"), (zero, "a character device")])
def test_a_key_path_that_is_not_a_file_exits_2(tmp_path: Path, make: Callable[[Path], Path], kind: str) -> None:
    """``--private-key`` naming a FIFO or /dev/zero: one line, exit 2, at once."""
    path = make(tmp_path)
    assert_refused(kalshi("--private-key", str(path)), f"private key file {path} is {kind}, not a regular file")


@pytest.mark.parametrize(("make", "kind"), [(fifo, "a FIFO"), (zero, "a character device")])
def test_a_config_path_that_is_not_a_file_exits_2(tmp_path: Path, make: Callable[[Path], Path], kind: str) -> None:
    """``--config`` naming a FIFO or /dev/zero: one line, exit 2, at once."""
    path = make(tmp_path)
    assert_refused(["kalshi", "--config", str(path), "--profile", "main"], f"config file {path} is {kind}")


@pytest.mark.parametrize(("make", "kind"), [(fifo, "a FIFO"), (zero, "a character device")])
def test_a_state_path_that_is_not_a_file_exits_2(
    tmp_path: Path, key_file: Path, make: Callable[[Path], Path], kind: str
) -> None:
    """``--state`` naming a FIFO or /dev/zero: one line, exit 2, before connecting."""
    path = make(tmp_path)
    assert_refused(kalshi("--private-key", str(key_file), "--state", str(path)), f"state file {path} is {kind}")


@pytest.mark.parametrize(("make", "kind"), [(fifo, "a FIFO"), (zero, "a character device")])
def test_a_replay_path_that_is_not_a_file_exits_2(tmp_path: Path, make: Callable[[Path], Path], kind: str) -> None:
    """``replay`` of a FIFO or /dev/zero: one line, exit 2, at once."""
    path = make(tmp_path)
    assert_refused(["replay", str(path)], f"replay file {path} is {kind}")


def test_key_and_config_reads_are_capped_at_1_mb(tmp_path: Path) -> None:
    """A 2 MB key or config file is refused (exit 2) without being parsed."""
    path = big(tmp_path)
    assert_refused(kalshi("--private-key", str(path)), f"private key file {path} is larger than 1 MB")
    assert_refused(["kalshi", "--config", str(path), "--profile", "main"], f"config file {path} is larger than 1 MB")
