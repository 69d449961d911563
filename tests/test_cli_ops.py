"""Operations from the command line: profiles, filters, --raw, --record and replay."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from fillwatch.core.errors import ExitCode
from fillwatch.session.recording import Recorder
from fillwatch.sim.kalshi import Script
from tests.conftest import fillwatch, kalshi_args
from tests.render.test_jsonl import CANCEL

pytestmark = pytest.mark.timeout(60)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    path.chmod(0o600)
    return path


def profile(sim: object, key: Path, extra: str = "") -> str:
    """A [profiles.main] table that reaches `sim` with `key`."""
    return (
        f'[profiles.main]\nvenue = "kalshi"\nkey_id = "{sim.key_id}"\nprivate_key = "{key}"\n'  # type: ignore[attr-defined]
        f'ws_url = "{sim.url}"\nformat = "jsonl"\n{extra}'  # type: ignore[attr-defined]
    )


def test_a_profile_run_needs_no_flag_but_the_profile(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """`fillwatch kalshi --profile main`: credentials, URL, format, bound and output all from the file."""
    sim = kalshi_sim(Script(rate=100, seed=3))
    config = write_config(tmp_path, profile(sim, key_file, 'max_events = 4\noutput = "out.jsonl"\n'))
    result = fillwatch(["kalshi", "--profile", "main"], env={"FILLWATCH_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert [tuple(json.loads(line)[k] for k in ("kind", "id", "order_id")) for line in result.stdout.splitlines()] == (
        sim.emitted[:4]
    )
    assert (tmp_path / "out.jsonl").read_text() == result.stdout  # relative to the config file


def test_the_default_config_file_and_fillwatch_profile(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """FILLWATCH_PROFILE picks the profile from config.toml in the user config directory."""
    sim = kalshi_sim(Script(rate=100))
    (tmp_path / "fillwatch").mkdir()
    write_config(tmp_path / "fillwatch", profile(sim, key_file, "max_events = 2\n"))
    result = fillwatch(["kalshi"], env={"XDG_CONFIG_HOME": str(tmp_path), "FILLWATCH_PROFILE": "main"})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_flags_beat_environment_variables_beat_the_profile(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A wrong key id in the profile is overridden by the env var; the flag bound beats the profile's."""
    sim = kalshi_sim(Script(rate=100))
    config = write_config(tmp_path, profile(sim, key_file, "max_events = 5\n").replace(sim.key_id, "stale-id"))
    args = ["kalshi", "--profile", "main", "--config", str(config)]
    assert fillwatch(args).returncode == ExitCode.AUTH  # the profile's stale key id is used, and refused
    result = fillwatch([*args, "--max-events", "2"], env={"KALSHI_API_KEY_ID": sim.key_id})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_secrets_named_by_variable_are_read_from_the_environment(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """private_key_pem_env: the PEM comes from the variable; the file holds only its name."""
    sim = kalshi_sim(Script(rate=100))
    body = profile(sim, key_file, 'max_events = 1\nprivate_key_pem_env = "MY_PEM"\n')
    config = write_config(tmp_path, body.replace(f'private_key = "{key_file}"\n', ""))
    args = ["kalshi", "--profile", "main", "--config", str(config)]
    assert fillwatch(args, env={"MY_PEM": key_file.read_text()}).returncode == 0
    unset = fillwatch(args)
    assert (unset.returncode, unset.stdout) == (ExitCode.USAGE, "")
    assert unset.stderr.endswith("private_key_pem_env names MY_PEM, which is not set\n")


@pytest.mark.parametrize(
    ("body", "args", "message"),
    [
        ("[profiles.main\n", ["--profile", "main"], "not valid TOML"),
        ('[profiles.other]\nvenue = "kalshi"\n', ["--profile", "main"], "no profile 'main' (profiles: other)"),
        ('[profiles.main]\nvenue = "novig"\n', ["--profile", "main"], "is for novig, not kalshi"),
        ('[profiles.main]\nvenue = "kalshi"\nformat = 3\n', ["--profile", "main"], "format must be one of"),
        ('[profiles.main]\nvenue = "kalshi"\n', ["--profile", "main"], "no Kalshi API key id"),
    ],
)
def test_bad_profiles_exit_2_with_one_line(tmp_path: Path, body: str, args: list[str], message: str) -> None:
    """Malformed file, unknown profile, wrong venue, bad value: one line on stderr, exit 2."""
    config = write_config(tmp_path, body)
    result = fillwatch(["kalshi", "--config", str(config), *args])
    assert (result.returncode, result.stdout) == (ExitCode.USAGE, "")
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    """--profile with no config file: exit 2, naming the file looked for."""
    result = fillwatch(["kalshi", "--profile", "main"], env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == ExitCode.USAGE
    assert result.stderr == (
        f"fillwatch: error: config file not found: {tmp_path}/fillwatch/config.toml (needed for --profile main)\n"
    )


def test_filters_apply_before_every_sink(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """--market and --kind: stdout and --output hold only matching events; --max-events counts those."""
    sim = kalshi_sim(Script(rate=300, seed=21))
    out = tmp_path / "out.jsonl"
    selection = ["--market", "kxfed*", "--market", "*CPI*", "--kind", "fill"]
    result = fillwatch(kalshi_args(sim, key_file, *selection, "--max-events", "10", "-o", str(out)))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 10
    assert all(e["kind"] == "fill" for e in events)
    assert all(fnmatch.fnmatchcase(e["market"], "KXFED*") or "CPI" in e["market"] for e in events)
    assert out.read_text() == result.stdout


def test_raw_adds_the_venue_message(kalshi_sim, key_file: Path) -> None:
    """--raw: each line carries the frame it came from, as JSON, ids agreeing."""
    sim = kalshi_sim(Script(rate=100))
    result = fillwatch(kalshi_args(sim, key_file, "--raw", "--max-events", "5"))
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        event = json.loads(line)
        assert list(event)[-1] == "raw"
        message = event["raw"]["msg"]
        assert message.get("trade_id", message["order_id"]) == event["id"]


def test_record_then_replay_prints_exactly_the_live_lines(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """The recording of a live run (garbage frames included) replays to the same bytes, in every format."""
    sim = kalshi_sim(Script(rate=200, seed=8, garbage_every=7))
    rec = tmp_path / "session.rec"
    live = fillwatch(kalshi_args(sim, key_file, "--record", str(rec), "--max-events", "40"))
    assert live.returncode == 0, live.stderr
    assert len(live.stdout.splitlines()) == 40
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    assert "! skipped a frame" in replayed.stderr
    # The same recording, re-rendered with --raw and as lines, matches live runs of those formats.
    raw = fillwatch(["replay", str(rec), "-f", "jsonl", "--raw"])
    assert [{k: v for k, v in json.loads(line).items() if k != "raw"} for line in raw.stdout.splitlines()] == [
        json.loads(line) for line in live.stdout.splitlines()
    ]
    lines = fillwatch(["replay", str(rec), "-f", "lines"])
    assert len(lines.stdout.splitlines()) == 40


def test_record_then_replay_with_raw_and_filters(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A filtered --raw live run and the replay of its recording with the same options agree byte for byte."""
    sim = kalshi_sim(Script(rate=200, seed=9))
    rec = tmp_path / "session.rec"
    options = ["--raw", "--market", "KX*", "--kind", "cancel", "--max-events", "5"]
    live = fillwatch(kalshi_args(sim, key_file, "--record", str(rec), *options))
    assert live.returncode == 0, live.stderr
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl", *options])
    assert replayed.stdout == live.stdout
    assert {json.loads(line)["kind"] for line in live.stdout.splitlines()} == {"cancel"}


def test_recordings_hold_no_credentials(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A recording holds frames only: no key material, no signature header, no key id, no URL."""
    sim = kalshi_sim(Script(rate=200))
    rec = tmp_path / "session.rec"
    result = fillwatch(kalshi_args(sim, key_file, "--record", str(rec), "--max-events", "20"))
    assert result.returncode == 0
    text = rec.read_text()
    key_lines = [line for line in key_file.read_text().splitlines() if not line.startswith("-----")]
    for secret in ["PRIVATE KEY", "KALSHI-ACCESS", "SIGNATURE", sim.key_id, sim.url, *key_lines]:
        assert secret not in text
    assert oct(rec.stat().st_mode & 0o777) == "0o600"


def test_replay_of_an_output_file_gives_the_same_lines(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """`replay events.jsonl` re-renders an --output file: the same lines, and filters apply."""
    sim = kalshi_sim(Script(rate=200, seed=4))
    out = tmp_path / "events.jsonl"
    live = fillwatch(kalshi_args(sim, key_file, "-o", str(out), "--max-events", "30"))
    assert live.returncode == 0
    assert fillwatch(["replay", str(out), "-f", "jsonl"]).stdout == live.stdout
    fills = fillwatch(["replay", str(out), "-f", "jsonl", "--kind", "fill", "--max-events", "3"]).stdout
    assert fills.splitlines() == [line for line in live.stdout.splitlines() if '"kind":"fill"' in line][:3]


def test_demo_records_and_replays_too(tmp_path: Path) -> None:
    """`demo --record` writes a recording that replays to the demo's lines."""
    rec = tmp_path / "demo.rec"
    live = fillwatch(["demo", "-f", "jsonl", "--rate", "100", "--max-events", "10", "--record", str(rec)])
    assert live.returncode == 0, live.stderr
    assert fillwatch(["replay", str(rec), "-f", "jsonl"]).stdout == live.stdout
    assert orjson.loads(rec.read_bytes().splitlines()[0])["venue"] == "kalshi"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"hello\n", "session.rec:1: not a recording or an event line (not JSON)"),
        (b'{"recording":"fillwatch","version":1,"venue":"nasdaq"}\n', "unknown venue 'nasdaq'"),
    ],
)
def test_replay_of_a_bad_file_exits_2(tmp_path: Path, content: bytes | None, message: str) -> None:
    """A missing or foreign file: one line, exit 2, nothing on stdout."""
    rec = tmp_path / "session.rec"
    if content is not None:
        rec.write_bytes(content)
    result = fillwatch(["replay", str(rec)])
    assert (result.returncode, result.stdout) == (ExitCode.USAGE, "")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_help_lists_the_new_options_and_their_variables() -> None:
    """`kalshi --help` shows the profile variables and the selection options; a bad --kind exits 2."""
    result = fillwatch(["kalshi", "--help"], env={"COLUMNS": "200"})
    for text in ("FILLWATCH_PROFILE", "FILLWATCH_CONFIG", "--market GLOB", "--kind fill|cancel", "--raw", "--record"):
        assert text in result.stdout
    assert "--speed X" in fillwatch(["replay", "--help"], env={"COLUMNS": "200"}).stdout
    assert fillwatch(["kalshi", "--kind", "trade"]).returncode == ExitCode.USAGE


def test_replay_is_exact_across_backfills_and_checkpoints(kalshi_sim, key_file: Path, tmp_path: Path) -> None:
    """A run from a --state checkpoint, with history and reconnect backfills, replays to its own bytes."""
    sim = kalshi_sim(Script(rate=40, seed=31, drop_after=12))
    state, rec = tmp_path / "main.state", tmp_path / "session.rec"
    args = kalshi_args(sim, key_file, "--api-url", sim.api_url, "--state", str(state))
    first = fillwatch([*args, "--max-events", "10"])
    assert first.returncode == 0, first.stderr
    live = fillwatch([*args, "--record", str(rec), "--max-events", "160"])  # live events too, after a slow start
    assert live.returncode == 0, live.stderr
    sources = [json.loads(line)["source"] for line in live.stdout.splitlines()]
    assert "history" in sources  # backfills happened and were recorded
    assert "live" in sources
    assert '"history":"fills"' in rec.read_text()
    assert '"checkpoint":{' in rec.read_text()
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout


def _order_id(n: int) -> str:
    return f"0000000{n}-0000-4000-8000-000000000000"


def _canceled_order(n: int) -> dict[str, object]:
    """A Kalshi ``orders`` history item: order n, cancelled with half a contract left, at 14:3n:01."""
    fields = "side=yes action=buy outcome_side=yes book_side=bid type=limit status=canceled yes_price_dollars=0.5150"
    counts = "no_price_dollars=0.4850 fill_count_fp=2.00 remaining_count_fp=0.00 initial_count_fp=2.50"
    order: dict[str, object] = dict(item.split("=") for item in f"{fields} {counts}".split())
    return order | {
        "order_id": _order_id(n), "ticker": "KXFED-26DEC-T4.25",
        "created_time": f"2026-12-01T14:3{n}:00.000Z", "last_update_time": f"2026-12-01T14:3{n}:01.000Z",
    }  # fmt: skip


def test_replay_stops_inside_a_page_where_a_max_events_run_stopped(tmp_path: Path) -> None:
    """A backfill's last page gave three cancels and --max-events stopped the run after two: replay prints two."""
    rec = tmp_path / "session.rec"
    since = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    recorder = Recorder(rec, venue="kalshi")
    recorder.history(1.0, "fills", b'{"fills": [], "cursor": ""}', since, None)
    orders = orjson.dumps({"orders": [_canceled_order(3), _canceled_order(2), _canceled_order(1)], "cursor": ""})
    recorder.history(1.1, "orders", orders, since, None)
    recorder.event(replace(CANCEL, id=_order_id(2), order_id=_order_id(2)))
    recorder.close()
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert [(line["id"][:8], line["ts"]) for line in map(json.loads, replayed.stdout.splitlines())] == [
        ("00000001", "2026-12-01T14:31:01.000Z"),
        ("00000002", "2026-12-01T14:32:01.000Z"),
    ]
