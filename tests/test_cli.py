"""The CLI run as a user runs it: real processes, real env vars, the simulator on loopback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fillwatch import __version__
from fillwatch.core.errors import ExitCode
from fillwatch.sim.kalshi import GARBAGE, Script
from tests.conftest import fillwatch, kalshi_args, write_key

pytestmark = pytest.mark.timeout(60)

KEYS = [
    "kind", "venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts",
    "taker", "fee", "position", "wash", "original_qty", "currency", "source", "reason", "account",
]  # fmt: skip


def lines_of(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_version_and_module_entry_point() -> None:
    """`python -m fillwatch --version` prints the version."""
    result = fillwatch(["--version"])
    assert (result.returncode, result.stdout) == (0, f"fillwatch {__version__}\n")


def test_help_lists_the_environment_variables() -> None:
    """`kalshi --help` names the env vars that can replace the flags."""
    result = fillwatch(["kalshi", "--help"], env={"COLUMNS": "200"})
    assert result.returncode == 0
    for name in ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH", "KALSHI_PRIVATE_KEY_PEM", "--max-retries"):
        assert name in result.stdout


def test_demo_prints_valid_json_lines_and_exits_0() -> None:
    """`demo --format jsonl --max-events 20` prints 20 complete event lines, offline."""
    result = fillwatch(["demo", "--format", "jsonl", "--max-events", "20", "--rate", "50"])
    assert result.returncode == 0, result.stderr
    events = lines_of(result.stdout)
    assert len(events) == 20
    assert all(list(e) == KEYS for e in events)
    assert {e["kind"] for e in events} <= {"fill", "cancel"}
    assert "connected to kalshi" in result.stderr


def test_events_match_what_the_venue_sent(kalshi_sim, key_file: Path) -> None:
    """Every event the simulator sent comes out once, in order, on stdout only."""
    sim = kalshi_sim(Script(rate=100, seed=11))
    result = fillwatch(kalshi_args(sim, key_file, "--max-events", "30"))
    assert result.returncode == 0, result.stderr
    got = [(e["kind"], e["id"], e["order_id"]) for e in lines_of(result.stdout)]
    assert got == sim.emitted[:30]
    assert result.stderr.startswith("+ connected to kalshi")


def test_output_file_gets_the_same_lines_appended(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """--output appends exactly the lines printed on stdout, across runs."""
    out = tmp_path / "events.jsonl"
    sim = kalshi_sim(Script(rate=100, seed=12))
    first = fillwatch(kalshi_args(sim, key_file, "--max-events", "5", "-o", str(out)))
    second = fillwatch(kalshi_args(sim, key_file, "--max-events", "5", "-o", str(out)))
    assert first.returncode == second.returncode == 0
    assert out.read_text() == first.stdout + second.stdout
    assert len(out.read_text().splitlines()) == 10


def test_wrong_key_exits_3_with_one_line_and_nothing_on_stdout(
    kalshi_sim, tmp_path: Path, wrong_key: rsa.RSAPrivateKey
) -> None:
    """A key the venue does not know: one retry, then exit 3."""
    sim = kalshi_sim()
    result = fillwatch(kalshi_args(sim, write_key(tmp_path / "wrong.pem", wrong_key)))
    assert result.returncode == ExitCode.AUTH
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("fillwatch: error:")]
    assert errors == ["fillwatch: error: kalshi rejected the credentials (HTTP 401 on the upgrade), twice in a row"]
    assert "Traceback" not in result.stderr
    assert sim.stats.upgrades == 2


def test_missing_key_exits_2(kalshi_sim, tmp_path: Path) -> None:
    """A key file that does not exist is a configuration error."""
    sim = kalshi_sim()
    result = fillwatch(kalshi_args(sim, tmp_path / "absent.pem"))
    assert (result.returncode, result.stdout) == (ExitCode.USAGE, "")
    assert result.stderr == f"fillwatch: error: private key file not found: {tmp_path / 'absent.pem'}\n"
    assert sim.stats.upgrades == 0


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["kalshi"], {}, "no Kalshi API key id"),
        (["kalshi", "--key-id", "k"], {}, "no Kalshi private key"),
        (["kalshi", "--key-id", "k"], {"KALSHI_PRIVATE_KEY_PEM": "junk"}, "KALSHI_PRIVATE_KEY_PEM: not a PEM"),
        (["kalshi", "--ws-url", "ws://example.com/x"], {}, "ws:// is allowed only for loopback"),
        (["kalshi", "--api-url", "http://10.0.0.1/trade-api/v2"], {}, "http:// is allowed only for loopback"),
        (["kalshi", "--duration", "soon"], {}, "invalid duration"),
    ],
)
def test_configuration_errors_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    """Missing or bad credentials and URLs: one line on stderr, exit 2, no traceback."""
    result = fillwatch(args, env=env)
    assert result.returncode == ExitCode.USAGE
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert "junk" not in result.stderr.replace("KALSHI_PRIVATE_KEY_PEM", "")


def test_non_pem_key_file_exits_2(kalshi_sim, tmp_path: Path) -> None:
    """A file that is not a PEM private key is refused before connecting."""
    bogus = tmp_path / "id.pem"
    bogus.write_text("-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n-----END RSA PRIVATE KEY-----\n")
    bogus.chmod(0o600)
    result = fillwatch(kalshi_args(kalshi_sim(), bogus))
    assert result.returncode == ExitCode.USAGE
    assert "not a PEM private key (Kalshi keys are RSA or Ed25519)" in result.stderr
    assert "c2VjcmV0" not in result.stderr


def test_unreachable_venue_exits_4_after_max_retries(key_file: Path) -> None:
    """--max-retries 2: three attempts in all, then exit 4."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["kalshi", "--ws-url", f"ws://127.0.0.1:{port}/trade-api/ws/v2", "--key-id", "k", "--private-key"]
    result = fillwatch([*args, str(key_file), "--max-retries", "2"])
    assert result.returncode == ExitCode.CONNECTION
    assert result.stderr.count("- disconnected:") == 2
    assert result.stderr.splitlines()[-1].startswith("fillwatch: error: gave up after 3 failed attempts")


def test_server_errors_exit_4_after_max_retries(kalshi_sim, key_file: Path) -> None:
    """HTTP 503 on every upgrade: backoff, then exit 4."""
    sim = kalshi_sim(Script(reject=-1, reject_status=503))
    result = fillwatch(kalshi_args(sim, key_file, "--max-retries", "1"))
    assert result.returncode == ExitCode.CONNECTION
    assert sim.stats.upgrades == 2


def test_credentials_from_environment_and_precedence(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """Env vars work; the key path beats the PEM variable; a flag beats both."""
    sim = kalshi_sim(Script(rate=100))
    junk_pem = "not a key"
    base = ["kalshi", "--ws-url", sim.url, "-f", "jsonl", "--max-events", "1"]
    env = {
        "KALSHI_API_KEY_ID": sim.key_id,
        "KALSHI_PRIVATE_KEY_PATH": str(key_file),
        "KALSHI_PRIVATE_KEY_PEM": junk_pem,
    }
    assert fillwatch(base, env=env).returncode == 0
    pem_only = {"KALSHI_API_KEY_ID": sim.key_id, "KALSHI_PRIVATE_KEY_PEM": key_file.read_text()}
    assert fillwatch(base, env=pem_only).returncode == 0
    bad_path = {**env, "KALSHI_PRIVATE_KEY_PATH": str(tmp_path / "absent.pem")}
    assert fillwatch(base, env=bad_path).returncode == ExitCode.USAGE
    assert fillwatch([*base, "--private-key", str(key_file)], env=bad_path).returncode == 0
    wrong_id = fillwatch([*base, "--key-id", "someone-else"], env=env)
    assert wrong_id.returncode == ExitCode.AUTH


def test_world_readable_key_gets_a_warning(kalshi_sim, tmp_path: Path, venue_key: rsa.RSAPrivateKey) -> None:
    """The run goes on, with a warning naming the file and the fix."""
    sim = kalshi_sim(Script(rate=100))
    loose = write_key(tmp_path / "loose.pem", venue_key, mode=0o644)
    result = fillwatch(kalshi_args(sim, loose, "--max-events", "1"))
    assert result.returncode == 0
    assert f"fillwatch: warning: private key file {loose} is readable by other users" in result.stderr


def test_malformed_frames_are_skipped_and_all_fills_come_out(kalshi_sim, key_file: Path) -> None:
    """Garbage between fills is reported on stderr; the valid fills all come out, in order."""
    sim = kalshi_sim(Script(rate=200, seed=5, garbage_every=2))
    result = fillwatch(kalshi_args(sim, key_file, "--max-events", "20"))
    assert result.returncode == 0
    got = [(e["kind"], e["id"], e["order_id"]) for e in lines_of(result.stdout)]
    assert got == sim.emitted[:20]
    assert "! skipped a frame" in result.stderr
    assert len(GARBAGE) >= 4


def test_duration_bound_exits_0(kalshi_sim, key_file: Path) -> None:
    """--duration ends the run with status 0."""
    sim = kalshi_sim(Script(rate=20))
    started = time.monotonic()
    result = fillwatch(kalshi_args(sim, key_file, "--duration", "1s"))
    assert result.returncode == 0
    assert 1.0 <= time.monotonic() - started < 10
    assert len(result.stdout.splitlines()) >= 5


def test_closed_pipe_ends_quietly(kalshi_sim, key_file: Path) -> None:
    """`fillwatch kalshi | head -1`: status 0 and nothing on stderr but the status lines."""
    sim = kalshi_sim(Script(rate=500))
    with subprocess.Popen(
        [sys.executable, "-m", "fillwatch", *kalshi_args(sim, key_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        code = process.wait(timeout=20)
        stderr = process.stderr.read().decode()
    assert orjson.loads(first)["venue"] == "kalshi"
    assert code == 0
    assert [line for line in stderr.splitlines() if not line.startswith("+ ")] == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_flush_and_exit_130_or_143(kalshi_sim, key_file: Path, tmp_path: Path, signum: int, code: int) -> None:
    """SIGINT/SIGTERM: every event line is written whole, then exit 130/143."""
    out = tmp_path / "out.jsonl"
    sim = kalshi_sim(Script(rate=200))
    with subprocess.Popen(
        [sys.executable, "-m", "fillwatch", *kalshi_args(sim, key_file, "-o", str(out))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = b"".join(process.stdout.readline() for _ in range(10))  # the run is under way
        process.send_signal(signum)
        rest = process.stdout.read()  # through the same buffered reader readline() filled
        stderr = process.stderr.read()
        process.wait(timeout=20)
    assert process.returncode == code, stderr
    assert b"Traceback" not in stderr
    printed = (first + rest).splitlines()
    assert len(printed) >= 10
    assert out.read_bytes().splitlines() == printed
    assert all(orjson.loads(line)["kind"] in ("fill", "cancel") for line in printed)


def test_unopenable_output_file_is_a_usage_error(tmp_path: Path) -> None:
    """An --output path that cannot be opened: one line, exit 2, no key material."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    result = fillwatch(
        ["kalshi", "--key-id", "k", "-o", str(tmp_path / "no" / "such" / "dir.jsonl")],
        env={"KALSHI_PRIVATE_KEY_PEM": pem},
    )
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("fillwatch: error: cannot open output file")
    assert "PRIVATE KEY" not in result.stderr
    assert "Traceback" not in result.stderr


def test_verbose_output_carries_no_secrets(kalshi_sim, tmp_path: Path, wrong_key: rsa.RSAPrivateKey) -> None:
    """With -v, tracebacks appear, but neither signatures nor key material do."""
    sim = kalshi_sim()
    key = write_key(tmp_path / "wrong.pem", wrong_key)
    result = fillwatch(kalshi_args(sim, key, "-v"))
    assert result.returncode == ExitCode.AUTH
    assert "Traceback" in result.stderr
    for secret in ("KALSHI-ACCESS-SIGNATURE", "PRIVATE KEY", key.read_text().splitlines()[1]):
        assert secret not in result.stderr
