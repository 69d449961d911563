"""Shared fixtures: a clean environment, real RSA keys, the simulator on loopback, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.novig import NovigSim
from fillwatch.sim.thread import SimThread

ROOT = Path(__file__).resolve().parent.parent

_SCRUBBED_PREFIXES = ("FILLWATCH_", "KALSHI_", "NOVIG_", "TTY_")
_SCRUBBED = {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"}
_PROXIES = {"http_proxy", "https_proxy", "ws_proxy", "wss_proxy", "socks_proxy", "all_proxy"}


def _scrubbed(name: str) -> bool:
    return name.startswith(_SCRUBBED_PREFIXES) or name in _SCRUBBED or name.lower() in _PROXIES


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's credentials, proxies or terminal settings."""
    for name in list(os.environ):
        if _scrubbed(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # Tests read diagnostics bare; the rule for their times has tests of its own (tests/render/test_log_times.py).
    monkeypatch.setenv("FILLWATCH_LOG_TIMES", "never")


@pytest.fixture(scope="session")
def venue_key() -> rsa.RSAPrivateKey:
    """The API key the simulated venue knows (a real 2048-bit RSA key)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def wrong_key() -> rsa.RSAPrivateKey:
    """A valid RSA key that the venue does not know."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_key(path: Path, key: rsa.RSAPrivateKey, *, pkcs8: bool = False, mode: int = 0o600) -> Path:
    """Write `key` as PEM (PKCS#1 by default, as Kalshi hands it out)."""
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))
    path.chmod(mode)
    return path


@pytest.fixture
def key_file(tmp_path: Path, venue_key: rsa.RSAPrivateKey) -> Path:
    """The venue's key in a private PEM file."""
    return write_key(tmp_path / "kalshi.pem", venue_key)


@pytest.fixture
def kalshi_sim(venue_key: rsa.RSAPrivateKey) -> Iterator[type[KalshiSim]]:
    """Start simulators with ``kalshi_sim(Script(...))``; all are stopped after the test."""
    running: list[SimThread[KalshiSim]] = []

    def start(script: Script | None = None) -> KalshiSim:
        thread = SimThread(KalshiSim(script or Script(rate=50, seed=7), key=venue_key))
        running.append(thread)
        return thread.__enter__()

    yield start  # type: ignore[misc]
    for thread in running:
        thread.__exit__(None, None, None)


def fillwatch(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user does, in its own process, and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "fillwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def kalshi_args(sim: KalshiSim, key: Path, *extra: str) -> list[str]:
    """``kalshi`` against `sim`, with JSON lines and quick failure detection."""
    return ["kalshi", "--ws-url", sim.url, "--key-id", sim.key_id, "--private-key", str(key), "-f", "jsonl", *extra]


def wait_until(condition: Callable[[], object], limit: float = 10.0, *, what: str = "the condition") -> None:
    """Poll `condition` (a plain attribute of another thread or process: no event to wait on) until it holds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come within {limit:g} s"
        time.sleep(0.01)  # the poll's period, not a wait for time to pass


def trades_on(sim: KalshiSim | NovigSim, steps: int) -> None:
    """Wait until the venue made `steps` more steps on its own clock (while no client listens, say)."""
    target = sim.stats.events + steps
    wait_until(lambda: sim.stats.events >= target, what=f"{steps} more venue steps")
