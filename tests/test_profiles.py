"""Profiles: reading the config file, and the precedence flag > env var > profile > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from fillwatch.cli.profiles import EnvRef, Profile, default_config_path, load, resolve
from fillwatch.core.errors import ConfigError, ExitCode

CONFIG = """
[profiles.main]
venue = "kalshi"
key_id = "k-main"
private_key = "keys/main.pem"
format = "jsonl"
output = "~/fills.jsonl"
markets = ["KXBTC*", "kxeth*"]
kinds = "fill"
max_retries = 5
stall_timeout = 12

[profiles.pem]
venue = "kalshi"
key_id_env = "MY_KEY_ID"
private_key_pem_env = "MY_PEM"

[profiles.nv]
venue = "novig"
client_id = "cid"
client_secret_env = "NV_SECRET"
"""

# What a kalshi command's parameters look like before any profile: Typer's defaults.
KALSHI_DEFAULTS: dict[str, object] = {
    "key_id": None,
    "private_key": None,
    "env": "prod",
    "ws_url": None,
    "api_url": None,
    "fmt": "auto",
    "output": None,
    "max_events": None,
    "duration": None,
    "max_retries": None,
    "stall_timeout": 30.0,
    "quiet": False,
    "markets": None,
    "kinds": None,
    "raw": False,
    "record": None,
}
NOVIG_DEFAULTS = {**KALSHI_DEFAULTS, "client_id": None, "client_secret": None, "token": None}
del NOVIG_DEFAULTS["key_id"], NOVIG_DEFAULTS["private_key"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    path.chmod(0o600)
    return path


def kalshi(
    profile: Profile | None, *, given: dict[str, object] | None = None, environ: dict[str, str] | None = None
) -> dict[str, object]:
    """Resolve like `fillwatch kalshi`: `given` are the values passed by flag or Typer env var."""
    values = {**KALSHI_DEFAULTS, **(given or {})}
    return resolve(values, given=set(given or {}), environ=environ or {}, profile=profile, venue="kalshi")


def test_a_profile_fills_in_everything_not_given(config: Path) -> None:
    """Settings come from the profile; paths are expanded and relative to the file."""
    values = kalshi(load(config, "main"))
    assert values["key_id"] == "k-main"
    assert values["private_key"] == config.parent / "keys" / "main.pem"
    assert values["output"] == Path.home() / "fills.jsonl"
    assert (values["fmt"], values["markets"], values["kinds"]) == ("jsonl", ["KXBTC*", "kxeth*"], ["fill"])
    assert (values["max_retries"], values["stall_timeout"], values["env"]) == (5, 12.0, "prod")
    assert values["private_key_pem"] is None


def test_flags_and_environment_variables_beat_the_profile(config: Path) -> None:
    """A value given by flag or Typer env var wins; the rest still comes from the profile."""
    values = kalshi(load(config, "main"), given={"key_id": "k-flag", "fmt": "lines", "max_retries": 0})
    assert (values["key_id"], values["fmt"], values["max_retries"]) == ("k-flag", "lines", 0)
    assert values["private_key"] == config.parent / "keys" / "main.pem"


def test_without_a_profile_the_defaults_stay() -> None:
    """No profile: the values are unchanged, plus the env-only PEM credential."""
    assert kalshi(None) == {**KALSHI_DEFAULTS, "private_key_pem": None}
    assert kalshi(None, environ={"KALSHI_PRIVATE_KEY_PEM": "pem"})["private_key_pem"] == "pem"


def test_the_pem_variable_beats_the_profile_key_file(config: Path) -> None:
    """KALSHI_PRIVATE_KEY_PEM (env) hides the profile's private_key: env > profile."""
    values = kalshi(load(config, "main"), environ={"KALSHI_PRIVATE_KEY_PEM": "env-pem"})
    assert (values["private_key"], values["private_key_pem"]) == (None, "env-pem")


def test_a_key_path_given_beats_the_profile_pem(config: Path) -> None:
    """A --private-key flag hides the profile's private_key_pem_env."""
    values = kalshi(load(config, "pem"), given={"private_key": Path("/k.pem")}, environ={"MY_KEY_ID": "k"})
    assert (values["private_key"], values["private_key_pem"]) == (Path("/k.pem"), None)


def test_credentials_can_be_read_from_named_variables(config: Path) -> None:
    """`<setting>_env` reads the variable it names when the setting is used."""
    values = kalshi(load(config, "pem"), environ={"MY_KEY_ID": "k-env", "MY_PEM": "pem-text"})
    assert (values["key_id"], values["private_key_pem"]) == ("k-env", "pem-text")
    assert load(config, "pem").settings["private_key_pem"] == EnvRef("MY_PEM")


def test_an_unset_variable_is_an_error_only_when_needed(config: Path) -> None:
    """A named variable that is not set: exit 2 naming it, unless a flag gave the value."""
    with pytest.raises(ConfigError, match="key_id_env names MY_KEY_ID, which is not set") as caught:
        kalshi(load(config, "pem"), environ={"MY_PEM": "x"})
    assert caught.value.exit_code == ExitCode.USAGE
    assert kalshi(load(config, "pem"), given={"key_id": "k"}, environ={"MY_PEM": "x"})["key_id"] == "k"


def test_novig_profiles_hold_client_credentials(config: Path) -> None:
    """A Novig profile gives client id and secret; a token given by env hides both."""
    profile = load(config, "nv")
    values = resolve(NOVIG_DEFAULTS, given=set(), environ={"NV_SECRET": "s"}, profile=profile, venue="novig")
    assert (values["client_id"], values["client_secret"], values["token"]) == ("cid", "s", None)
    token = {**NOVIG_DEFAULTS, "token": "tok"}
    values = resolve(token, given={"token"}, environ={}, profile=profile, venue="novig")
    assert (values["client_id"], values["client_secret"], values["token"]) == (None, None, "tok")


def test_a_profile_for_another_venue_is_refused(config: Path) -> None:
    """`fillwatch kalshi --profile nv` (a Novig profile): exit 2."""
    with pytest.raises(ConfigError, match="profile 'nv' is for novig, not kalshi"):
        kalshi(load(config, "nv"))


def test_a_setting_the_command_lacks_is_refused(tmp_path: Path) -> None:
    """A known setting that this command has no option for is an error, not silently dropped."""
    path = tmp_path / "c.toml"
    path.write_text('[profiles.p]\nvenue = "kalshi"\nstate = "s.json"\n')
    with pytest.raises(ConfigError, match="state does not apply to this command"):
        kalshi(load(path, "p"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.main\nvenue = 1", "not valid TOML: "),
        ("profiles = 3", "'profiles' must hold tables"),
        ('[profiles.other]\nvenue = "kalshi"', "no profile 'main' (profiles: other)"),
        ("", "no profile 'main' (profiles: none)"),
        ("[profiles.main]\nkey_id = 'k'", "venue must be one of kalshi, novig"),
        ('[profiles.main]\nvenue = "kalshi"\nformt = "jsonl"', "unknown setting 'formt' for kalshi"),
        ('[profiles.main]\nvenue = "kalshi"\nclient_id = "c"', "unknown setting 'client_id' for kalshi"),
        ('[profiles.main]\nvenue = "kalshi"\nformat_env = "X"', "unknown setting 'format_env'"),
        ('[profiles.main]\nvenue = "kalshi"\nformat = "xml"', "format must be one of auto, table, lines, jsonl"),
        ('[profiles.main]\nvenue = "kalshi"\nmax_retries = -1', "max_retries must be an integer ≥ 0"),
        ('[profiles.main]\nvenue = "kalshi"\nkinds = ["fill", "trade"]', "kinds must be one of fill, cancel"),
        ('[profiles.main]\nvenue = "kalshi"\nmarkets = []', "markets must be a string or a non-empty list"),
        ('[profiles.main]\nvenue = "kalshi"\nraw = "yes"', "raw must be true or false"),
        ('[profiles.main]\nvenue = "kalshi"\nkey_id = "a"\nkey_id_env = "B"', "give key_id or key_id_env, not both"),
    ],
)
def test_bad_config_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    """Malformed files, unknown profiles and bad settings: one clear line, exit 2."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path, "main")
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


def test_a_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    """--profile without a config file names the file it looked for."""
    with pytest.raises(ConfigError, match=r"config file not found: .*absent\.toml \(needed for --profile p\)"):
        load(tmp_path / "absent.toml", "p")


def test_secrets_in_a_readable_file_get_a_warning(tmp_path: Path) -> None:
    """A literal secret in a file others can read is flagged; a variable name is not."""
    path = tmp_path / "config.toml"
    path.write_text('[profiles.p]\nvenue = "novig"\nclient_secret = "hunter2"\n[profiles.q]\nvenue = "novig"\n')
    path.chmod(0o644)
    (warning,) = load(path, "p").warnings
    assert "holds client_secret in a file others can read" in warning
    assert "hunter2" not in warning
    assert load(path, "q").warnings == ()
    path.chmod(0o600)
    assert load(path, "p").warnings == ()


def test_profiles_hide_their_secrets_from_repr(config: Path) -> None:
    """A profile's repr shows no setting values (they may be secrets)."""
    path = config.parent / "s.toml"
    path.write_text('[profiles.p]\nvenue = "novig"\nclient_secret = "hunter2"\n')
    assert "hunter2" not in repr(load(path, "p"))


def test_the_default_config_file_is_in_the_user_config_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Linux the default follows XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")
    assert default_config_path() == Path("/somewhere/fillwatch/config.toml")
