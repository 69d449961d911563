"""`fillwatch novig` run as a user runs it, against the simulated Novig on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from fillwatch.core.errors import ExitCode
from fillwatch.sim.novig import LEGACY_TOKEN_PATH, TOKEN_PATH, NovigSim, Script
from tests.conftest import SimThread, fillwatch, trades_on
from tests.novig_lines import as_the_venue_implies, emitted_of

pytestmark = pytest.mark.timeout(60)

KEYS = [
    "kind", "venue", "id", "order_id", "market", "side", "action", "price", "qty", "ts",
    "taker", "fee", "position", "wash", "original_qty", "currency", "source", "reason", "account",
]  # fmt: skip

StartSim = Callable[..., NovigSim]


@pytest.fixture
def novig_sim() -> Iterator[StartSim]:
    """Start simulators with ``novig_sim(Script(...))``; all are stopped after the test."""
    running: list[SimThread] = []

    def start(script: Script | None = None, **kwargs: object) -> NovigSim:
        thread = SimThread(NovigSim(script or Script(rate=100, seed=7), **kwargs))  # type: ignore[arg-type]
        running.append(thread)
        return thread.__enter__()  # type: ignore[return-value]

    yield start
    for thread in running:
        thread.__exit__(None, None, None)


def urls(sim: NovigSim, *, token_url: str | None = None) -> list[str]:
    return ["--ws-url", sim.url, "--api-url", sim.api_url, "--token-url", token_url or sim.token_url]


def client_env(sim: NovigSim) -> dict[str, str]:
    return {"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret}


def novig(sim: NovigSim, *extra: str, env: dict[str, str] | None = None, timeout: float = 30):
    """``novig`` against `sim` with the client id and secret from the environment, as JSON lines."""
    return fillwatch(["novig", *urls(sim), "-f", "jsonl", *extra], env=env or client_env(sim), timeout=timeout)


def lines_of(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_demo_novig_prints_valid_json_lines_offline() -> None:
    """`demo --venue novig --format jsonl --max-events 20` prints 20 complete Novig lines."""
    result = fillwatch(["demo", "--venue", "novig", "--format", "jsonl", "--max-events", "20", "--rate", "50"])
    assert result.returncode == 0, result.stderr
    events = lines_of(result.stdout)
    assert len(events) == 20
    assert all(list(e) == KEYS and e["venue"] == "novig" and e["action"] == "buy" for e in events)
    assert {e["kind"] for e in events} <= {"fill", "cancel"}
    assert all(0 < e["price"] < 1 and isinstance(e["qty"], int) for e in events)  # type: ignore[operator]
    assert "connected to novig" in result.stderr


def test_every_event_comes_out_once_with_currency_and_implicit_cancels(novig_sim: StartSim) -> None:
    """Fills, cancels and the implicit cancels of CLOSE ticks come out exactly as the venue implies."""
    sim = novig_sim(Script(rate=200, seed=21))
    result = novig(sim, "--max-events", "150")
    assert result.returncode == 0, result.stderr
    events = lines_of(result.stdout)
    assert as_the_venue_implies(sim, events) >= 140  # see there for what may differ, and why
    # The sample exercises what the test is about: every case appears at least once.
    reasons = {(e["kind"], e["reason"]) for e in events}
    assert {("fill", None), ("cancel", None), ("cancel", "market_closed")} <= reasons
    assert {e["currency"] for e in events} == {"CASH", "COIN", None}
    assert None in {e["currency"] for e in events if e["kind"] == "fill"}  # orders placed after the start
    assert "CASH" in {e["currency"] for e in events if e["kind"] == "fill"}  # orders read at the start
    assert any(e["wash"] for e in events)
    assert {e["taker"] for e in events if e["kind"] == "fill"} == {True, False}
    assert "skipped" not in result.stderr
    assert sim.stats.rest[0][:2] == ("GET", "/nbx/v2/emm/orders/all")


def test_token_request_shape(novig_sim: StartSim) -> None:
    """One POST to emm-token with exactly grant_type, client_id and client_secret as JSON."""
    sim = novig_sim()
    result = novig(sim, "--max-events", "1")
    assert result.returncode == 0, result.stderr
    body = {"grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret}
    assert sim.stats.token_requests == [{"path": TOKEN_PATH, "body": body}]


def test_legacy_token_endpoint_gets_the_audience(novig_sim: StartSim) -> None:
    """--token-url …/oauth/token adds the production audience, which the legacy endpoint demands."""
    sim = novig_sim()
    args = ["novig", *urls(sim, token_url=sim.legacy_token_url), "-f", "jsonl", "--max-events", "1"]
    result = fillwatch(args, env=client_env(sim))
    assert result.returncode == 0, result.stderr
    (request,) = sim.stats.token_requests
    assert request["path"] == LEGACY_TOKEN_PATH
    assert request["body"] == {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "audience": "https://api.novig.us",
    }


def test_rejected_client_secret_exits_3_without_connecting(novig_sim: StartSim) -> None:
    """A wrong secret: one line on stderr, exit 3, no upgrade attempted, the secret nowhere."""
    sim = novig_sim()
    wrong = "wrong-secret-f00dfeed"
    result = novig(sim, env={"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": wrong})
    assert (result.returncode, result.stdout) == (ExitCode.AUTH, "")
    assert result.stderr.splitlines() == [
        "fillwatch: error: novig rejected the client id and secret (POST /nbx/v1/auth/emm-token: HTTP 401)"
    ]
    assert sim.stats.upgrades == 0
    assert wrong not in result.stderr


@pytest.mark.parametrize("orders_delay", [0.0, 0.5])
def test_token_expiring_mid_stream_is_renewed_and_nothing_is_lost_or_repeated(
    novig_sim: StartSim, orders_delay: float
) -> None:
    """Tokens that expire every 6 s: 14 s of streaming, every event the venue made printed exactly once.

    The venue trades on while the client reconnects: what it did meanwhile comes from the backfill. With
    `orders_delay`, live fills cross the orders/all read that first shows their order (the rare case that
    once failed under load): printed without a currency, as the client cannot know it yet.
    """
    script = Script(rate=20, seed=3, token_lifetime=6, orders_delay=orders_delay)
    sim = novig_sim(script)  # renewed after 5 s: the floor (CONTRACT §5)
    result = novig(sim, "--duration", "14s")
    assert result.returncode == 0, result.stderr
    lines = lines_of(result.stdout)
    printed = [(e["kind"], e["id"], e["order_id"]) for e in lines]
    assert len(printed) == len(set(printed))  # none twice
    made = {(e[0], e[1], e[2]): n for n, e in enumerate(sim.emitted)}
    # Everything the venue did up to the last line printed was printed (none lost); the only
    # lines beyond what it requires are cancels of CLOSEs of orders the stream could not know.
    last = max(made[key] for key in printed if key in made)
    assert {(e[0], e[1], e[2]) for e in sim.emitted[: last + 1]} <= set(printed)
    assert set(printed) - set(made) <= {(e[0], e[1], e[2]) for e in sim.feed.unseen_closes}
    for line in lines:
        key = (line["kind"], line["id"], line["order_id"])
        own = sim.feed.orders[str(line["order_id"])].currency
        if key not in made:
            continue
        emitted = sim.emitted[made[key]]
        assert line["qty"] == emitted.qty
        # REST says an order was cancelled, not why: the reason comes from the CLOSE tick, live, or from
        # a market fillwatch saw closing when history shows the order later; never a reason not given.
        if line["source"] == "live":
            assert line["reason"] == emitted.reason
        else:
            assert line["reason"] in (None, emitted.reason)
        # A currency is never guessed: it is the order's own, or null until fillwatch could know it
        # (the simulator's record says what a connected client knew; backfills may learn more).
        assert line["currency"] in (emitted.currency, own, *([None] if emitted.unsure else []))
    assert len(printed) >= 100  # it kept streaming (20 steps/s, minus short reconnects)
    assert sim.stats.expired >= 2  # the venue closed the socket on expiry, again…
    assert sim.stats.tokens_issued >= 3  # …and every reconnect had a fresh token
    assert sim.stats.rejected == 0  # never presented an expired one
    assert result.stderr.count("closed by the venue (1008 token expired)") >= 2


def test_json_ping_is_answered(novig_sim: StartSim) -> None:
    """Every JSON ping the venue sends gets the JSON pong, and no line on stdout."""
    sim = novig_sim(Script(rate=0.5, json_ping=0.2, seed=1))
    result = novig(sim, "--duration", "1.5s")
    assert result.returncode == 0, result.stderr
    assert sim.stats.pings >= 4
    assert sim.stats.pongs[:4] == [{"event": "pong", "data": {"message": "pong"}}] * 4
    # Pongs answer pings, never more; the last pings may cross the end of the run (more so on a busy machine).
    assert 4 <= len(sim.stats.pongs) <= sim.stats.pings
    assert all(e["kind"] in ("fill", "cancel") for e in lines_of(result.stdout))


def test_unknown_events_are_ignored(novig_sim: StartSim) -> None:
    """Unknown private events and public ticks make no line and no diagnostic; the fill after them does."""
    fill = {
        "event": "fill",
        "data": {
            "id": "f-1", "orderId": "o-1", "price": 0.5, "qty": 100, "createdAt": "2026-01-01T00:00:00Z",
            "isWash": False, "isTaker": True, "marketId": "m-1", "outcomeId": "x-1",
        },
    }  # fmt: skip
    frames = [
        '{"event":"place","data":{"id":"o-2"}}',
        '{"event":"position","data":{"marketId":"m-1"}}',
        '{"type":"PLACE","order":{"id":"o-3","currency":"CASH"}}',
        '{"type":"EVENT_GOLIVE","market":{"id":"m-1"}}',
        json.dumps(fill),
    ]
    sim = novig_sim(Script(rate=50, frames=frames))
    result = novig(sim, "--max-events", "1")
    assert result.returncode == 0, result.stderr
    assert [e["id"] for e in lines_of(result.stdout)] == ["f-1"]
    assert "skipped" not in result.stderr


def test_garbage_is_skipped_and_the_rest_comes_out(novig_sim: StartSim) -> None:
    """Malformed frames are reported on stderr; every real event still comes out once, in order."""
    sim = novig_sim(Script(rate=200, seed=5, garbage_every=2))
    result = novig(sim, "--max-events", "20")
    assert result.returncode == 0, result.stderr
    assert emitted_of(lines_of(result.stdout)) == [tuple(e)[:6] for e in sim.emitted[:20]]  # without `unsure`
    assert "! skipped a frame" in result.stderr


def test_a_ready_token_is_used_as_is_and_its_rejection_exits_3_at_once(novig_sim: StartSim) -> None:
    """NOVIG_TOKEN works until it expires; then the run stops with exit 3, with no renewal attempted."""
    sim = novig_sim(Script(rate=50, seed=2, token_lifetime=1.5))
    body = {"grant_type": "client_credentials", "client_id": sim.client_id, "client_secret": sim.client_secret}
    token = httpx.post(sim.token_url, json=body).json()["access_token"]
    result = fillwatch(["novig", *urls(sim), "-f", "jsonl", "-v"], env={"NOVIG_TOKEN": token})
    assert result.returncode == ExitCode.AUTH
    assert len(lines_of(result.stdout)) >= 20  # it streamed with the token while it was valid
    assert sim.stats.tokens_issued == 1  # only the one this test asked for
    # One refusal, no second try. Whichever call comes first after expiry meets it: the
    # reconnect's upgrade, or a REST read (the backfill before it, or a market close's orders read).
    assert sim.stats.rejected + sim.stats.rest_rejected == 1
    assert "a ready token cannot be renewed" in result.stderr.splitlines()[-1]
    assert token not in result.stderr + result.stdout


def test_a_bad_ready_token_exits_3_before_connecting(novig_sim: StartSim) -> None:
    """A token the venue does not know: the first REST call is refused, exit 3, no retry."""
    sim = novig_sim()
    result = fillwatch(["novig", *urls(sim)], env={"NOVIG_TOKEN": "not-a-token"})
    assert result.returncode == ExitCode.AUTH
    assert result.stderr.splitlines()[-1] == (
        "fillwatch: error: novig rejected the token given with NOVIG_TOKEN; "
        "a ready token cannot be renewed (give the client id and secret instead)"
    )
    assert (sim.stats.upgrades, len(sim.stats.rest)) == (0, 1)


def test_credential_precedence(novig_sim: StartSim) -> None:
    """A flag beats every variable; among variables the client id and secret beat NOVIG_TOKEN."""
    sim = novig_sim()
    base = ["novig", *urls(sim), "-f", "jsonl", "--max-events", "1"]
    both = {**client_env(sim), "NOVIG_TOKEN": "stale-token"}
    assert fillwatch(base, env=both).returncode == 0  # the renewable pair wins over NOVIG_TOKEN
    assert fillwatch([*base, "--token", "stale-token"], env=client_env(sim)).returncode == ExitCode.AUTH
    flags = ["--client-id", sim.client_id, "--client-secret", sim.client_secret]
    assert fillwatch([*base, *flags], env={"NOVIG_TOKEN": "stale-token"}).returncode == 0
    assert fillwatch([*base, "--client-id", "someone-else"], env=both).returncode == ExitCode.AUTH


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["novig"], {}, "no Novig credentials"),
        (["novig"], {"NOVIG_CLIENT_ID": "c"}, "no Novig client secret"),
        (["novig", "--client-secret", "hush-hush"], {}, "no Novig client id"),
        (["novig", "--token", "t0k", "--client-id", "c"], {}, "either --token or --client-id"),
        (["novig", "--token", "t0k", "--token-url", "http://10.0.0.1/oauth/token"], {}, "--token-url: http://"),
        (["novig", "--token", "t0k", "--ws-url", "ws://example.com/tape"], {}, "ws:// is allowed only for loopback"),
    ],
)
def test_configuration_errors_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    """Missing credentials and bad URLs: one line, exit 2, no secret echoed."""
    result = fillwatch(args, env=env)
    assert result.returncode == ExitCode.USAGE
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr
    assert "hush-hush" not in result.stderr
    assert "t0k" not in result.stderr


def test_help_lists_the_environment_variables() -> None:
    """`novig --help` names the variables that can replace the credential flags."""
    result = fillwatch(["novig", "--help"], env={"COLUMNS": "200"})
    assert result.returncode == 0
    for name in ("NOVIG_CLIENT_ID", "NOVIG_CLIENT_SECRET", "NOVIG_TOKEN", "--token-url", "--env"):
        assert name in result.stdout


def test_verbose_output_carries_no_secrets(novig_sim: StartSim) -> None:
    """With -v, through renewals and a final rejection, no secret or token reaches stdout or stderr."""
    sim = novig_sim(Script(rate=50, seed=4, token_lifetime=6))  # renewed after 5 s: the floor
    ok = novig(sim, "-v", "--duration", "5.5s")
    bad = novig(sim, "-v", env={"NOVIG_CLIENT_ID": sim.client_id, "NOVIG_CLIENT_SECRET": sim.client_secret + "x"})
    assert (ok.returncode, bad.returncode) == (0, ExitCode.AUTH)
    assert "Traceback" in bad.stderr  # -v does show the details…
    assert sim.stats.tokens_issued >= 2
    output = ok.stdout + ok.stderr + bad.stdout + bad.stderr
    for secret in (sim.client_secret, *sim.tokens):  # …but none of these
        assert secret not in output
    assert "Bearer" not in output


def test_a_recording_with_drops_and_closes_replays_to_the_same_lines(novig_sim: StartSim, tmp_path: Path) -> None:
    """The orders read before connecting, the reads CLOSE ticks ask for and the backfills after drops
    are all recorded, with the times the run learned things at: replay prints the very same bytes."""
    sim = novig_sim(Script(rate=200, seed=23, drop_after=15, drops=3))
    rec = tmp_path / "novig.rec"
    live = novig(sim, "--record", str(rec), "--max-events", "400")
    assert live.returncode == 0, live.stderr
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    events = lines_of(live.stdout)
    assert {"live", "history"} <= {e["source"] for e in events}
    assert any(e["reason"] == "market_closed" and e["source"] == "live" for e in events)
    assert sim.client_secret not in rec.read_text()


def test_since_with_no_follow_prints_the_fill_history_and_exits_0(novig_sim: StartSim) -> None:
    """History first needs a token (and your orders) before any connection: every fill the venue
    made in the last hour comes out once, from history, in time order, with its currency."""
    sim = novig_sim(Script(rate=200, seed=24, limit=0))
    for _ in range(120):
        sim.feed.next_event()
    result = novig(sim, "--since", "1h", "--no-follow")
    assert result.returncode == 0, result.stderr
    fills = lines_of(result.stdout)
    made = {f["id"]: f for f in sim.feed.fills}
    assert sorted(e["id"] for e in fills) == sorted(made)
    assert {e["source"] for e in fills} == {"history"}
    times = [datetime.fromisoformat(e["ts"]) for e in fills]
    assert times == sorted(times)
    assert all(e["currency"] == sim.feed.orders[e["order_id"]].currency for e in fills)
    assert "+ history since" in result.stderr


def test_two_runs_with_one_state_file_print_each_fill_and_cancel_once(novig_sim: StartSim, tmp_path: Path) -> None:
    """Run, pause while the venue trades on, run again from the checkpoint: every fill and every
    cancel once in all, those made while nobody listened included (the state file keeps the orders
    the first run knew open)."""
    sim = novig_sim(Script(rate=150, seed=25))
    state = tmp_path / "novig.state"
    first = novig(sim, "--state", str(state), "--max-events", "40")
    assert first.returncode == 0, first.stderr
    trades_on(sim, 60)  # the venue trades on while nobody listens: only REST history has it
    rec = tmp_path / "second.rec"
    second = novig(sim, "--state", str(state), "--max-events", "250", "--record", str(rec))
    assert second.returncode == 0, second.stderr
    replayed = fillwatch(["replay", str(rec), "-f", "jsonl"])  # the recording keeps the memory it began with
    assert replayed.stdout == second.stdout, replayed.stderr
    events = lines_of(first.stdout) + lines_of(second.stdout)
    keys = [(e["kind"], e["id"], e["order_id"]) for e in events]
    assert len(keys) == len(set(keys))
    fills = {e["id"] for e in events if e["kind"] == "fill"}
    last = max(e["ts"] for e in lines_of(second.stdout) if e["source"] == "live")
    made_before = {f["id"] for f in sim.feed.fills if f["createdAt"] < last[:19]}
    assert made_before <= fills
    assert sum(e["source"] == "history" for e in lines_of(second.stdout)) >= 10
    check_cancels(sim, events, before=last[:19])
    assert any(e["kind"] == "cancel" and e["source"] == "history" for e in lines_of(second.stdout))


def check_cancels(sim: NovigSim, events: list[dict[str, object]], *, before: str) -> None:
    """Every cancel the venue made `before` is in `events`, with what was left of its order; no other
    but those of orders closed unseen (a client may report them)."""
    cancels = {e["id"]: e for e in events if e["kind"] == "cancel"}
    orders = sim.feed.orders
    made = {e.id for e in sim.emitted if e.kind == "cancel"}
    owed = {k for k in made if orders[k].updated < before}
    assert owed <= set(cancels) <= made | {e.id for e in sim.feed.unseen_closes}
    assert all(cancels[k]["qty"] == orders[str(k)].remaining for k in cancels)


def test_a_state_file_with_a_damaged_memory_exits_2(novig_sim: StartSim, tmp_path: Path) -> None:
    """What the adapter keeps in the state file is checked like the rest of it: one line, exit 2."""
    sim = novig_sim()
    state = tmp_path / "novig.state"
    assert novig(sim, "--state", str(state), "--max-events", "5").returncode == 0
    document = json.loads(state.read_text())
    assert document["memory"]["open"]  # the first run knew orders open
    document["memory"]["open"][0][2] = "EUR"
    state.write_text(json.dumps(document))
    result = novig(sim, "--state", str(state))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.splitlines() == [
        f"fillwatch: error: state file {state} is malformed (not a Novig order memory (unknown currency 'EUR'))"
    ]
