"""Habits from other tools: --format json, --json, -o json, and Click's errors in one line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import fillwatch

DEMO = ["demo", "--rate", "50", "--seed", "2", "--max-events", "2", "-q"]


@pytest.mark.parametrize("flags", [["--format", "json"], ["-f", "json"], ["--json"]])
def test_json_is_jsonl(flags: list[str]) -> None:
    """`--format json`, `-f json` and `--json` all print JSON lines."""
    result = fillwatch([*DEMO, *flags])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(orjson.loads(line)["kind"] in ("fill", "cancel") for line in lines)


def test_json_with_another_format_is_a_usage_error() -> None:
    """`--json -f table` asks for two formats: one line, exit 2."""
    result = fillwatch([*DEMO, "--json", "-f", "table"])
    assert result.returncode == 2
    assert result.stderr.startswith("fillwatch: error: --json and --format table")
    assert len(result.stderr.splitlines()) == 1


def test_output_named_like_a_format_warns(tmp_path: Path) -> None:
    """`-o json` (no such file yet) writes the file with a warning; once the file exists, no warning."""
    import subprocess
    import sys

    run = [sys.executable, "-m", "fillwatch", *DEMO, "-f", "jsonl", "-o", "json"]
    result = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=30, check=False)
    assert result.returncode == 0
    assert "fillwatch: warning: --output json writes the events to a new file named 'json'" in result.stderr
    assert (tmp_path / "json").read_text().count("\n") == 2
    again = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=30, check=False)
    assert "warning" not in again.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["demo", "--frmat", "x"],
            "fillwatch: error: no such option: --frmat (did you mean --format?); see 'fillwatch demo --help'",
        ),
        (["kalsh"], "fillwatch: error: no such command 'kalsh' (did you mean 'kalshi'?); see 'fillwatch --help'"),
        (["demo", "-f", "xml"], "fillwatch: error: invalid value for '--format' / '-f': 'xml' is not one of"),
    ],
)
def test_click_errors_are_one_line_with_a_suggestion(args: list[str], expected: str) -> None:
    """A mistyped option, command or value: one `fillwatch: error:` line with a hint, exit 2."""
    result = fillwatch(args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(expected)
    assert "Usage:" not in result.stderr


def test_a_bad_glob_is_exit_2() -> None:
    """`--market '[KX'` stops at once with one line and exit 2 (it used to run forever)."""
    result = fillwatch(["demo", "--market", "[KX", "-q"])
    assert result.returncode == 2
    assert result.stderr.startswith("fillwatch: error: bad --market pattern '[KX'")
    assert len(result.stderr.splitlines()) == 1


def test_a_filter_that_hid_everything_says_so_and_the_summary_counts_what_it_hid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--market KXFED (no such whole ticker): a warning with the KXFED* hint; a log file gets time-stamped,
    full-width lines, and the summary of a run with KXFED* counts the events filtered out."""
    import re

    monkeypatch.setenv("FILLWATCH_LOG_TIMES", "auto")  # what a user has
    log = tmp_path / "main.log"
    with log.open("w") as err:
        import subprocess
        import sys

        args = [sys.executable, "-m", "fillwatch", "demo", "--rate", "40", "--seed", "5", "--duration", "1.5"]
        subprocess.run([*args, "--market", "KXFED", "-f", "jsonl"], stderr=err, stdout=subprocess.DEVNULL, check=False)
        subprocess.run([*args, "--market", "KXFED*", "-f", "lines"], stderr=err, stdout=subprocess.DEVNULL, check=False)
    lines = log.read_text().splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
    warning = [line for line in lines if "hid all" in line]
    assert len(warning) == 1
    assert re.match(
        stamp + r"fillwatch: warning: --market KXFED hid all \d+ events in this run; .*'KXFED\*'", warning[0]
    )
    assert any(re.match(stamp + r"\+ connected to kalshi", line) for line in lines)
    summary = next(line for line in lines if line.startswith("fillwatch: session"))
    assert re.search(r"skipped 0 malformed frames · \d+ events filtered out$", summary)  # whole, on one line
    assert any(
        line.startswith("KXFED-26DEC-T4.25  Fed funds upper bound above 4.25% after the December") for line in lines
    )


NOVIG_OUTCOMES = ("Over 46.5", "Under 46.5", "KC Chiefs", "BUF Bills", "BOS -4.5", "LAL +4.5", "BOS Celtics",
                  "LAL Lakers", "Over 8.5", "Under 8.5", "EDM Oilers", "TOR Maple Leafs")  # fmt: skip


def test_novig_lines_name_the_outcomes_and_count_contracts_with_their_currency() -> None:
    """`demo --venue novig -f lines`: outcomes by name once looked up, quantities labelled CASH or COIN."""
    demo = ["demo", "--venue", "novig", "--novig-api", "nbx", "--rate", "30", "--seed", "3"]
    result = fillwatch([*demo, "--max-events", "60", "-f", "lines"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(name in line for line in lines for name in NOVIG_OUTCOMES)
    assert any(" CASH @ " in line or " COIN @ " in line for line in lines)


def test_one_failed_attempt_is_singular(key_file: Path) -> None:
    """--max-retries 0 against a port nobody listens on: 'gave up after 1 failed attempt', exit 4."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/trade-api/ws/v2"
    args = ["kalshi", "--ws-url", url, "--api-url", f"http://127.0.0.1:{port}/trade-api/v2", "--key-id", "k"]
    result = fillwatch([*args, "--private-key", str(key_file), "--max-retries", "0", "-f", "jsonl"])
    assert result.returncode == 4
    assert "fillwatch: error: gave up after 1 failed attempt in a row" in result.stderr


def test_summary_grammar_for_ones() -> None:
    """One cancel, one backfill, one failed attempt: singular nouns in the summary."""
    from datetime import UTC, datetime

    from fillwatch.core.events import Backfilled, BackfillFailed
    from fillwatch.render.session import Session
    from fillwatch.render.summary import summary
    from tests.render.helpers import cancel, console, output

    session = Session(venue="kalshi", env="prod")
    session.add(cancel())
    since = datetime(2026, 11, 21, tzinfo=UTC)
    session.status(BackfillFailed(since, "HTTP 503"))
    session.status(Backfilled(since, fills=1, cancels=0, seconds=0.1))
    target = console(color_system=None, width=300)
    target.print(summary(session))
    head = output(target).splitlines()[0]
    assert "1 event (0 fills, 1 cancel)" in head
    assert "1 recovered from history in 1 backfill (1 attempt failed and retried)" in head
