"""`fillwatch watch`: several accounts (two Kalshi, one Novig v3) in one process, one stream of lines.

The Kalshi simulator speaks the protocol of Kalshi's AsyncAPI document (``kalshi-sdk`` ``specs/``, checked in
tests/test_sim_fidelity.py); the Novig v3 simulator that of ``Semionsr/novig-v3-kit`` ``fixtures/docs/``
(api_streaming_private.md, api-reference_execution_list-fills.md). CONTRACT §1–§5 (``watch``, ``account``,
per-account checkpoints, the exit rule).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fillwatch.sim.kalshi import KalshiSim, Script
from fillwatch.sim.novig_v3 import NovigV3Sim
from fillwatch.sim.novig_v3 import Script as V3Script
from fillwatch.sim.novig_v3_auth import ApiKey
from fillwatch.sim.thread import SimThread
from tests.conftest import fillwatch, write_key

pytestmark = pytest.mark.timeout(90)


@dataclass
class Desk:
    """Three simulated accounts and a config file naming them (profiles main, hedge, nv; group all)."""

    config: Path
    main: KalshiSim
    hedge: KalshiSim
    nv: NovigV3Sim

    def run(self, *args: str, timeout: float = 60) -> Any:
        return fillwatch(["watch", "--config", str(self.config), *args], timeout=timeout)


def _kalshi_profile(name: str, sim: KalshiSim, key: Path) -> str:
    return (
        f'[profiles.{name}]\nvenue = "kalshi"\nkey_id = "{sim.key_id}"\nprivate_key = "{key}"\n'
        f'ws_url = "{sim.url}"\napi_url = "{sim.api_url}"\n'
    )


@contextmanager
def desk(
    tmp_path: Path,
    venue_key: rsa.RSAPrivateKey,
    main: Script,
    hedge: Script,
    nv: dict[str, Any] | None = None,
    *,
    revoked: bool = False,
) -> Iterator[Desk]:
    """Start the three simulators (each its own key; nv's `revoked`) and write the config file."""
    ed = Ed25519PrivateKey.generate()
    ed_path = tmp_path / "novig.pem"
    ed_path.write_bytes(
        ed.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ed_path.chmod(0o600)
    key_id = str(uuid.uuid4())
    hedge_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with ExitStack() as stack:
        a = stack.enter_context(SimThread(KalshiSim(main, key=venue_key)))
        b = stack.enter_context(SimThread(KalshiSim(hedge, key=hedge_key)))
        script = V3Script(**{"seed": 7, "golive_every": None, "rate": 40.0, **(nv or {})})
        c = stack.enter_context(SimThread(NovigV3Sim(script, keys=[ApiKey(key_id, ed.public_key(), revoked=revoked)])))
        config = tmp_path / "config.toml"
        config.write_text(
            _kalshi_profile("main", a, write_key(tmp_path / "main.pem", venue_key))
            + _kalshi_profile("hedge", b, write_key(tmp_path / "hedge.pem", hedge_key))
            + f'[profiles.nv]\nvenue = "novig"\nkey_id = "{key_id}"\nprivate_key = "{ed_path}"\n'
            f'ws_url = "{c.url}"\napi_url = "{c.api_url}"\n'
            '[groups]\nall = ["main", "hedge", "nv"]\n'
        )
        config.chmod(0o600)
        yield Desk(config, a, b, c)


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_three_accounts_one_stream_each_event_once_with_its_account(tmp_path: Path, venue_key) -> None:
    """-g all over two Kalshi accounts and one Novig v3: every line names its account, none repeats."""
    with desk(tmp_path, venue_key, Script(rate=40, seed=1), Script(rate=40, seed=2)) as d:
        result = d.run("-g", "all", "-f", "jsonl", "--max-events", "60")
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert len(events) == 60
    accounts = Counter(e["account"] for e in events)
    assert set(accounts) == {"main", "hedge", "nv"}, accounts
    assert {(e["account"], e["venue"]) for e in events} <= {("main", "kalshi"), ("hedge", "kalshi"), ("nv", "novig")}
    keys = [(e["account"], e["kind"], e["id"], e["order_id"]) for e in events]
    assert len(keys) == len(set(keys))
    assert all(list(e)[-1] == "account" for e in events)


def test_drops_on_one_account_and_revoked_credentials_on_another(tmp_path: Path, venue_key) -> None:
    """hedge drops 3 times, nv's key is revoked: main and hedge give every event once, nv fails alone, exit 3."""
    main, hedge = Script(rate=60, seed=11, limit=40), Script(rate=25, seed=12, drop_after=8, drops=3, limit=60)
    with desk(tmp_path, venue_key, main, hedge, revoked=True) as d:
        result = d.run("-g", "all", "-f", "jsonl", "--max-events", "100", "-o", str(tmp_path / "all.jsonl"))
        truth = {"main": Counter(d.main.emitted), "hedge": Counter(d.hedge.emitted)}
        drops = d.hedge.stats.drops
    assert result.returncode == 3, result.stderr  # the highest of the accounts' codes: 0, 0 and 3
    assert drops == 3
    events = lines(result.stdout)
    got = {name: Counter((e["kind"], e["id"], e["order_id"]) for e in events if e["account"] == name) for name in truth}
    assert got == truth  # every event of the healthy accounts, each once
    assert {e["account"] for e in events} == {"main", "hedge"}
    assert any(e["source"] == "history" and e["account"] == "hedge" for e in events)  # the drops were backfilled
    assert (tmp_path / "all.jsonl").read_text() == result.stdout  # --output holds the same merged lines
    assert "nv: error:" in result.stderr
    assert "revoked" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cron_run_of_a_group_resumes_each_account_where_it_stopped(tmp_path: Path, venue_key) -> None:
    """--state DIR: one checkpoint per account; the second run prints no event of the first, and misses none."""
    main, hedge = Script(rate=50, seed=21, limit=30), Script(rate=50, seed=22, limit=30)
    state = tmp_path / "state"
    with desk(tmp_path, venue_key, main, hedge) as d:
        first = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--state", str(state), "--max-events", "20")
        assert first.returncode == 0, first.stderr
        assert sorted(p.name for p in state.glob("*.state")) == ["hedge.state", "main.state"]
        second = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--state", str(state), "--max-events", "40")
        assert second.returncode == 0, second.stderr
        truth = {"main": set(d.main.emitted), "hedge": set(d.hedge.emitted)}
    both = lines(first.stdout) + lines(second.stdout)
    keys = [(e["account"], e["kind"], e["id"], e["order_id"]) for e in both]
    assert len(keys) == len(set(keys)) == 60  # nothing twice across the two runs
    for name, emitted in truth.items():
        assert {(k, i, o) for a, k, i, o in keys if a == name} == emitted  # nothing missed either


def test_the_state_directory_is_locked_as_a_whole(tmp_path: Path, venue_key) -> None:
    """A second watch on the same --state DIR (even of other accounts) is refused at once, exit 2, one line."""
    from fillwatch.session.state import StateDirectory

    state = StateDirectory(tmp_path / "state")
    state.lock()
    try:
        with desk(tmp_path, venue_key, Script(rate=50, seed=1), Script(rate=50, seed=2)) as d:
            result = d.run("-p", "hedge", "-f", "jsonl", "--state", str(tmp_path / "state"), "--max-events", "1")
    finally:
        state.unlock()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"fillwatch: error: state directory {tmp_path / 'state'} is in use by another fillwatch process"
    ]


@pytest.mark.parametrize("where", ["flag", "profile"])
def test_an_account_given_up_on_counts_its_retries_alone(tmp_path: Path, venue_key, where: str) -> None:
    """--max-retries 1 (or the profile's max_retries) gives up on an account whose venue refuses every upgrade
    (exit 4, after 2 attempts); the other flows on."""
    with desk(
        tmp_path, venue_key, Script(rate=10, seed=31, limit=25), Script(rate=50, seed=32, reject=-1, reject_status=503)
    ) as d:
        retries = ["--max-retries", "1"]
        if where == "profile":
            d.config.write_text(
                d.config.read_text().replace("[profiles.hedge]\n", "[profiles.hedge]\nmax_retries = 1\n")
            )
            retries = []
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", *retries, "--max-events", "25")
        emitted = set(d.main.emitted)
        attempts = d.hedge.stats.rejected
    assert result.returncode == 4, result.stderr
    assert attempts == 2  # the first attempt and 1 retry, the main account's connection not counted
    events = lines(result.stdout)
    assert {(e["kind"], e["id"], e["order_id"]) for e in events} == emitted
    assert {e["account"] for e in events} == {"main"}
    assert "hedge: error:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "watch needs -p NAME or -g GROUP"),
        (["-g", "nope"], "no group 'nope' in [groups]"),
        (["-p", "main", "-g", "all"], "account 'main' is named twice"),
        (["-p", "ghost"], "no profile 'ghost'"),
    ],
)
def test_bad_account_lists_are_one_line_and_exit_2(tmp_path: Path, venue_key, args: list[str], message: str) -> None:
    """A watch with no account, an unknown group or profile, or one account twice: one line, exit 2."""
    with desk(tmp_path, venue_key, Script(rate=5, seed=1), Script(rate=5, seed=2)) as d:
        result = d.run(*args, "-f", "jsonl")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("fillwatch: error: ")
    assert message in line, line


def test_a_state_file_is_not_a_state_directory(tmp_path: Path, venue_key) -> None:
    """--state FILE (a single run's checkpoint) given to watch: exit 2, the one-line reason."""
    single = tmp_path / "main.state"
    single.write_text("{}")
    with desk(tmp_path, venue_key, Script(rate=5, seed=1), Script(rate=5, seed=2)) as d:
        result = d.run("-p", "main", "-f", "jsonl", "--state", str(single))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_profiles_output_settings_give_way_to_the_watch(tmp_path: Path, venue_key) -> None:
    """A profile's own format and output are the watch's to set: warned about once, not used."""
    with desk(tmp_path, venue_key, Script(rate=50, seed=41, limit=5), Script(rate=50, seed=42)) as d:
        solo = _kalshi_profile("solo", d.main, tmp_path / "main.pem")
        d.config.write_text(d.config.read_text() + solo + f'format = "table"\noutput = "{tmp_path / "solo.jsonl"}"\n')
        result = d.run("-p", "solo", "--max-events", "5")  # not a terminal: jsonl, whatever the profile says
    assert result.returncode == 0, result.stderr
    assert len(lines(result.stdout)) == 5
    assert not (tmp_path / "solo.jsonl").exists()
    assert "profile 'solo': format, output ignored" in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_a_signal_stops_every_account_after_flushing_and_checkpointing(
    tmp_path: Path, venue_key, signum: int, code: int
) -> None:
    """SIGINT/SIGHUP stop all accounts: every line whole in stdout and --output, each checkpoint saved, 130/129."""
    out, state = tmp_path / "out.jsonl", tmp_path / "state"
    with desk(tmp_path, venue_key, Script(rate=100, seed=51), Script(rate=100, seed=52)) as d:
        args = ["watch", "--config", str(d.config), "-g", "all", "-f", "jsonl", "-o", str(out), "--state", str(state)]
        with subprocess.Popen(
            [sys.executable, "-m", "fillwatch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            first, seen = [], set()
            while seen != {"main", "hedge", "nv"} and len(first) < 2000:  # until every account is under way
                first.append(process.stdout.readline())
                seen.add(json.loads(first[-1])["account"])
            process.send_signal(signum)
            rest = process.stdout.read()
            stderr = process.stderr.read().decode()
            process.wait(timeout=20)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    printed = b"".join(first).splitlines() + rest.splitlines()
    assert out.read_bytes().splitlines() == printed
    accounts = {json.loads(line)["account"] for line in printed}
    assert accounts == {"main", "hedge", "nv"}
    for name in accounts:  # each account's checkpoint covers its newest line
        saved = json.loads((state / f"{name}.state").read_text())
        newest = max(json.loads(line)["ts"] for line in printed if json.loads(line)["account"] == name)
        assert saved["newest"][:23] == newest[:23].replace("Z", ""), (name, saved["newest"], newest)


def test_one_accounts_slow_backfill_does_not_hold_back_another(tmp_path: Path, venue_key) -> None:
    """--since with main's REST history failing (503, retried): hedge's live lines come out meanwhile, in order."""
    main, hedge = Script(rate=50, seed=61, limit=20, rest_failures=3), Script(rate=50, seed=62, limit=20)
    with desk(tmp_path, venue_key, main, hedge) as d:
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--since", "1h", "--max-events", "40")
        truth = {"main": set(d.main.emitted), "hedge": set(d.hedge.emitted)}
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    order = [e["account"] for e in events]
    assert order[0] == "hedge"  # main was still reading its history
    assert order.index("main") > 5, order
    for name, emitted in truth.items():
        assert {(e["kind"], e["id"], e["order_id"]) for e in events if e["account"] == name} == emitted


def _accounts_seen(args: list[str], want: set[str]) -> tuple[int, set[str], str]:
    """Run a demo until every account of `want` printed a line (or 400 lines): exit code, accounts, stderr."""
    with subprocess.Popen(
        [sys.executable, "-m", "fillwatch", "demo", *args, "-f", "jsonl", "--rate", "20", "--max-events", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        seen: set[str] = set()
        for line in process.stdout:
            seen.add(json.loads(line)["account"])
            if seen >= want:
                break
        process.send_signal(signal.SIGTERM)
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=20)
    return code, seen, stderr


def test_the_demo_of_every_venue_merges_kalshi_and_novig() -> None:
    """`demo --venue all`: simulated Kalshi and Novig side by side, each line under its venue's name."""
    code, seen, stderr = _accounts_seen(["--venue", "all"], {"kalshi", "novig"})
    assert seen == {"kalshi", "novig"}, stderr
    assert code == 143, stderr
    assert "Traceback" not in stderr


def test_the_demo_of_three_accounts_names_each() -> None:
    """`demo --accounts 3`: the venues in turn (two Kalshi accounts and a Novig one), numbered when a venue repeats."""
    code, seen, stderr = _accounts_seen(["--accounts", "3"], {"kalshi-1", "kalshi-2", "novig"})
    assert seen == {"kalshi-1", "kalshi-2", "novig"}, stderr
    assert code == 143, stderr


def _keyed(lines_: list[str]) -> list[tuple[str, str, str, str]]:
    return [(e["account"], e["kind"], e["id"], e["order_id"]) for e in map(json.loads, lines_)]


def test_a_full_output_file_stops_every_account_with_exit_5(tmp_path: Path, venue_key) -> None:
    """The one --output fails (a file size limit): every account stops, exit 5, one error line; no checkpoint
    covers a line the file lacks, so the next run prints each of those once."""
    from tests.test_durable import Client, file_size_limit, whole_lines

    out, state = tmp_path / "out.jsonl", tmp_path / "state"
    with desk(tmp_path, venue_key, Script(rate=200, seed=71), Script(rate=200, seed=72)) as d:
        args = ["watch", "--config", str(d.config), "-p", "main", "-p", "hedge", "-f", "jsonl"]
        args += ["-o", str(out), "--state", str(state)]
        client = Client(args, preexec=file_size_limit(30_000))
        code = client.finish(60)
        assert code == 5, client.stderr
        errors = [line for line in client.stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1, client.stderr
        assert f"cannot write to output file {out}: File too large" in errors[0]
        written = whole_lines(out)
        assert {a for a, *_ in _keyed(written)} == {"main", "hedge"}
        again = fillwatch([*args, "--duration", "4s"], timeout=60)  # each account's backfill, then live lines
        assert again.returncode == 0, again.stderr
    everything = _keyed(whole_lines(out))
    assert len(everything) == len(set(everything))
    assert set(_keyed(client.lines)) <= set(everything), "a line the first run could not write was lost"


def test_after_kill_9_a_watch_prints_nothing_twice(tmp_path: Path, venue_key) -> None:
    """kill -9 of a watch with --state and --output: the next run reads each account's lines back, none repeats."""
    from tests.test_durable import Client

    out, state = tmp_path / "out.jsonl", tmp_path / "state"
    with desk(tmp_path, venue_key, Script(rate=150, seed=81), Script(rate=150, seed=82)) as d:
        args = ["watch", "--config", str(d.config), "-g", "all", "-f", "jsonl", "-o", str(out), "--state", str(state)]
        client = Client(args)
        client.wait_for(lambda: len({a for a, *_ in _keyed(client.lines[:-1])}) == 3 and len(client.lines) > 200)
        client.stop(signal.SIGKILL)
        first = out.read_text().splitlines()
        again = fillwatch([*args, "--max-events", "60"], timeout=60)
        assert again.returncode == 0, again.stderr
    everything = _keyed(out.read_text().splitlines())
    assert len(everything) > len(first)
    assert len(everything) == len(set(everything)), "a line was printed twice after kill -9"


def test_record_keeps_one_recording_per_account_each_replaying_its_lines(tmp_path: Path, venue_key) -> None:
    """--record DIR: DIR/NAME.rec per account; replaying one gives exactly that account's lines of the watch."""
    rec = tmp_path / "rec"
    with desk(tmp_path, venue_key, Script(rate=50, seed=91, limit=15), Script(rate=50, seed=92, limit=15)) as d:
        live = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--record", str(rec), "--max-events", "30")
    assert live.returncode == 0, live.stderr
    assert sorted(p.name for p in rec.iterdir()) == ["hedge.rec", "main.rec"]
    for name in ("main", "hedge"):
        replayed = fillwatch(["replay", str(rec / f"{name}.rec"), "-f", "jsonl"])
        assert replayed.returncode == 0, replayed.stderr
        own = [line for line in live.stdout.splitlines() if json.loads(line)["account"] == name]
        assert replayed.stdout.splitlines() == own
        assert len(own) == 15


def test_a_silent_account_is_replaced_while_the_others_flow(tmp_path: Path, venue_key) -> None:
    """hedge goes silent (no frame, no ping): its connection is replaced after --stall-timeout; main never waits."""
    main, hedge = Script(rate=20, seed=95, limit=40), Script(rate=20, seed=96, silent_after=3, limit=10)
    with desk(tmp_path, venue_key, main, hedge) as d:
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--stall-timeout", "1", "--max-events", "50")
        truth = {"main": set(d.main.emitted), "hedge": set(d.hedge.emitted)}
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    for name, emitted in truth.items():
        assert {(e["kind"], e["id"], e["order_id"]) for e in events if e["account"] == name} == emitted
    assert "hedge: - disconnected" in result.stderr
    assert "main: - disconnected" not in result.stderr


def test_the_group_systemd_unit_runs_a_watch_of_its_group(tmp_path: Path, venue_key) -> None:
    """fillwatch-watch@.service's ExecStart, instance "all": a watch of the group, one checkpoint per account."""
    from tests.conftest import ROOT

    unit = (ROOT / "fillwatch/contrib/systemd/fillwatch-watch@.service").read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = exec_start.removeprefix("ExecStart=").replace("%i", "all").replace("%S", str(tmp_path)).split()
    assert argv[0] == "%h/.local/bin/fillwatch"
    with desk(tmp_path, venue_key, Script(rate=50, seed=97), Script(rate=50, seed=98)) as d:
        result = fillwatch([*argv[1:], "--config", str(d.config), "--max-events", "40"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert {e["account"] for e in lines(result.stdout)} == {"main", "hedge", "nv"}
    assert sorted(p.name for p in (tmp_path / "fillwatch" / "all.watch").glob("*.state")) == [
        "hedge.state",
        "main.state",
        "nv.state",
    ]


def test_no_follow_prints_each_accounts_history_and_ends(tmp_path: Path, venue_key) -> None:
    """--since 1h --no-follow: each account's history, then the run ends with 0 once every account has."""
    with desk(tmp_path, venue_key, Script(rate=80, seed=99, limit=12), Script(rate=80, seed=100, limit=12)) as d:
        warm = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--max-events", "24")  # the venues trade first
        assert warm.returncode == 0, warm.stderr
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--since", "1h", "--no-follow")
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert {e["source"] for e in events} == {"history"}
    assert Counter(e["account"] for e in events) == {"main": 12, "hedge": 12}


def test_two_accounts_may_see_the_same_trade_id(tmp_path: Path, venue_key) -> None:
    """main and hedge trade the same simulated book (one seed): each id is printed once per account, not once in all."""
    with desk(tmp_path, venue_key, Script(rate=50, seed=7, limit=20), Script(rate=50, seed=7, limit=20)) as d:
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--max-events", "40")
        same = d.main.emitted == d.hedge.emitted
    assert result.returncode == 0, result.stderr
    assert same  # the two venues sent the very same events
    events = lines(result.stdout)
    per_account = Counter((e["kind"], e["id"], e["order_id"]) for e in events)
    assert set(per_account.values()) == {2}  # every event once for each account
    assert Counter(e["account"] for e in events) == {"main": 20, "hedge": 20}


def test_duration_ends_every_account_with_0(tmp_path: Path, venue_key) -> None:
    """--duration 2s: every account stops when it is reached, exit 0, each account's lines whole."""
    with desk(tmp_path, venue_key, Script(rate=20, seed=101), Script(rate=20, seed=102)) as d:
        result = d.run("-p", "main", "-p", "hedge", "-f", "jsonl", "--duration", "2s", timeout=30)
    assert result.returncode == 0, result.stderr
    assert {e["account"] for e in lines(result.stdout)} == {"main", "hedge"}


def test_a_closed_stdout_ends_every_account_quietly(tmp_path: Path, venue_key) -> None:
    """`fillwatch watch … | head -3`: the pipe closes, every account stops, exit 0, no error."""
    with desk(tmp_path, venue_key, Script(rate=100, seed=103), Script(rate=100, seed=104)) as d:
        args = [sys.executable, "-m", "fillwatch", "watch", "--config", str(d.config), "-g", "all", "-f", "jsonl"]
        with subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            head = [process.stdout.readline() for _ in range(3)]
            process.stdout.close()  # as head does once it has its lines
            stderr = process.stderr.read().decode()
            code = process.wait(timeout=20)
    assert len(head) == 3
    assert code == 0, stderr
    assert "error" not in stderr


def test_a_profile_name_that_cannot_name_a_file_is_refused_with_state(tmp_path: Path, venue_key) -> None:
    """--state DIR needs profile names that are file names: one line, exit 2."""
    with desk(tmp_path, venue_key, Script(rate=5, seed=105), Script(rate=5, seed=106)) as d:
        d.config.write_text(d.config.read_text().replace("[profiles.hedge]", '[profiles."he dge"]'))
        result = d.run("-p", "he dge", "-f", "jsonl", "--state", str(tmp_path / "state"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "profile name 'he dge' cannot name its checkpoint file" in line
