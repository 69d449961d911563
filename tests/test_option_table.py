"""The one table of shared options (the fields of RunOptions): the commands, profiles and --help come from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from fillwatch import venues
from fillwatch.cli import profiles
from fillwatch.cli.app import app
from fillwatch.cli.options import DEMO, REPLAY, VENUE, WATCH, Format, RunOptions, table
from fillwatch.core.errors import ConfigError
from tests.conftest import ROOT, fillwatch

KINDS = {**dict.fromkeys(venues.REGISTRY, VENUE), "demo": DEMO, "replay": REPLAY, "watch": WATCH}
"""Each command, and the kind of command it is in the table's ``commands``."""


def commands() -> dict[str, Any]:
    """The Click commands Typer builds (from its own copy of Click, in recent typers)."""
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_takes_exactly_the_options_the_table_gives_it() -> None:
    """Each table option is a parameter, with its flags and variable, of each command that takes it, and of no other."""
    built = commands()
    assert set(built) == set(KINDS)
    for name, click_command in built.items():
        params = {param.name: param for param in click_command.params}
        for option, spec in table().items():
            if KINDS[name] not in spec.commands:
                assert option not in params, (name, option)
                continue
            param = params[option]
            assert param.param_type_name == "option"
            assert sorted(param.opts) == sorted(spec.flags), (name, option)
            assert param.envvar == spec.envvar, (name, option)


def test_no_flag_is_declared_twice_in_a_command() -> None:
    """The table, a venue's own options and a command's own never give one flag twice."""
    for name, click_command in commands().items():
        flags = [flag for param in click_command.params for flag in param.opts]
        assert len(flags) == len(set(flags)), name


def test_each_option_is_declared_once_in_the_package() -> None:
    """No shared option's flag is written outside the table (the stall default, 30.0, once in cli/)."""
    sources = {path: path.read_text() for path in (ROOT / "fillwatch/cli").glob("*.py")}
    for spec in table().values():
        for flag in spec.flags:
            pattern = re.compile(rf"""["']{re.escape(flag)}["']\s*[,)]""")
            writers = [path.name for path, text in sources.items() if pattern.search(text)]
            assert writers == ["options.py"], (flag, writers)
    assert sum(text.count("30.0") for text in sources.values()) == 1


def test_help_shows_each_option_of_the_table_with_its_variable() -> None:
    """`COMMAND --help` shows every option the table gives the command, and the variables of those that have one."""
    for name, kind in KINDS.items():
        result = fillwatch([name, "--help"], env={"COLUMNS": "400"})
        assert result.returncode == 0, result.stderr
        text = " ".join(result.stdout.split())
        for spec in table().values():
            if kind in spec.commands:
                assert spec.flags[0] in text, (name, spec.flags)
                help_text = spec.per_command.get(kind, {}).get("help", spec.help)
                assert " ".join(help_text.split()[:3]) in text, (name, help_text)
                if spec.envvar is not None:
                    assert f"env var: {spec.envvar}" in text, (name, spec.envvar)


def test_run_options_take_their_defaults_from_the_table() -> None:
    """RunOptions.of fills in what a command does not take with the table's default; --json is folded into fmt."""
    options = RunOptions.of({"fmt": Format.auto, "json": True, "markets": ["KX*"], "kinds": None})
    assert options.fmt is Format.jsonl
    assert (options.stall_timeout, options.max_retries, options.markets, options.kinds) == (30.0, None, ("KX*",), ())
    assert options.env == "simulated"
    assert RunOptions.of({"env": "demo", "ws_url": "ws://127.0.0.1:1"}).env == "custom"
    with pytest.raises(AttributeError):
        options.quiet = True  # type: ignore[misc]


def write_profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.p]\nvenue = "kalshi"\n{body}\n')
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("key", sorted(spec.profile for spec in table().values() if spec.profile))
def test_each_profile_key_of_the_table_is_checked(tmp_path: Path, key: str) -> None:
    """A profile setting the table names is checked by its check: a TOML table is refused, the key named."""
    with pytest.raises(ConfigError, match=rf"profile 'p': {key} must"):
        profiles.load(write_profile(tmp_path, f"{key} = {{ a = 1 }}"), "p")


def test_options_without_a_profile_key_are_refused_in_a_profile(tmp_path: Path) -> None:
    """A shared option the table gives no profile key (--json, --verbose, --bell) is an unknown setting."""
    for key in (name for name, spec in table().items() if spec.profile is None):
        with pytest.raises(ConfigError, match="unknown setting"):
            profiles.load(write_profile(tmp_path, f"{key} = true"), "p")
