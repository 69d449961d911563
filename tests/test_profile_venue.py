"""One command from a profile: `fillwatch --profile NAME` (and `watch -p NAME`, one account) takes the venue from it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from fillwatch.cli.app import profile_argv
from fillwatch.core.errors import ConfigError
from fillwatch.sim.kalshi import KalshiSim, Script
from tests.conftest import fillwatch

pytestmark = pytest.mark.timeout(60)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    "head", [["--profile", "main"], ["watch", "--profile", "main"], ["watch", "-p", "main"], ["--profile=main"]]
)
def test_a_profile_run_needs_no_venue_name(kalshi_sim, key_file: Path, tmp_path: Path, head: list[str]) -> None:
    """The profile says venue = "kalshi": `fillwatch --profile main …` tails the Kalshi it points at."""
    sim: KalshiSim = kalshi_sim(Script(rate=50, seed=7))
    config = write_config(
        tmp_path,
        f'[profiles.main]\nvenue = "kalshi"\nkey_id = "{sim.key_id}"\nprivate_key = "{key_file}"\n'
        f'ws_url = "{sim.url}"\napi_url = "{sim.api_url}"\nformat = "jsonl"\n',
    )
    result = fillwatch([*head, "--max-events", "3", "-q"], env={"FILLWATCH_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(line["venue"], line["account"]) for line in lines] == [("kalshi", "main")] * 3  # the profile's name


def test_a_novig_profile_runs_novig(tmp_path: Path) -> None:
    """venue = "novig": the same command line is rewritten to `fillwatch novig --profile hedge …`."""
    config = write_config(tmp_path, '[profiles.hedge]\nvenue = "novig"\nclient_id = "c"\nclient_secret_env = "S"\n')
    argv = profile_argv(["--config", str(config), "--profile", "hedge", "-f", "jsonl"], {})
    assert argv == ["novig", "--config", str(config), "--profile", "hedge", "-f", "jsonl"]
    assert profile_argv(["watch", "-p", "hedge"], {"FILLWATCH_CONFIG": str(config)}) == ["watch", "-p", "hedge"]


def test_other_command_lines_are_left_alone() -> None:
    """A command first, or no --profile at the front: unchanged; `--profile X kalshi` puts the command first."""
    assert profile_argv(["kalshi", "--profile", "main"], {}) == ["kalshi", "--profile", "main"]
    assert profile_argv(["demo"], {}) == ["demo"]
    assert profile_argv(["--profile", "main", "kalshi", "-q"], {}) == ["kalshi", "--profile", "main", "-q"]
    assert profile_argv(["watch", "-q"], {}) == ["watch", "-q"]  # a command of its own
    with pytest.raises(ConfigError, match="--profile NAME"):
        profile_argv(["--config", "x.toml", "-q"], {})


def test_an_unknown_profile_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """`fillwatch --profile nope`: the config file's error in one line, exit 2."""
    config = write_config(tmp_path, '[profiles.main]\nvenue = "kalshi"\n')
    result = fillwatch(["--profile", "nope"], env={"FILLWATCH_CONFIG": str(config)})
    assert result.returncode == 2
    assert result.stderr == f"fillwatch: error: {config}: no profile 'nope' (profiles: main)\n"


def test_the_systemd_unit_names_no_venue(tmp_path: Path) -> None:
    """fillwatch@.service's ExecStart is `fillwatch --profile %i …`: a Novig instance runs `fillwatch novig`."""
    from tests.conftest import ROOT

    unit = (ROOT / "fillwatch/contrib/systemd/fillwatch@.service").read_text()
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = exec_start.removeprefix("ExecStart=").replace("%i", "hedge").replace("%S", str(tmp_path)).split()
    assert argv[0] == "%h/.local/bin/fillwatch"
    config = write_config(tmp_path, '[profiles.hedge]\nvenue = "novig"\nclient_id = "c"\nclient_secret_env = "S"\n')
    assert profile_argv(argv[1:], {"FILLWATCH_CONFIG": str(config)})[:3] == ["novig", "--profile", "hedge"]
