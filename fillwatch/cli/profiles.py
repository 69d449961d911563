"""Profiles: named sets of options in a TOML config file (``--profile NAME``).

The config file (``--config FILE`` / ``FILLWATCH_CONFIG``, default
``config.toml`` in the platform's user config directory) holds one
``[profiles.NAME]`` table per account::

    [profiles.main]
    venue = "kalshi"
    key_id = "8f0c…"
    private_key = "~/.kalshi/main.pem"   # paths: ~ expanded, relative to this file
    format = "jsonl"
    output = "~/fills/main.jsonl"
    markets = ["KXBTC*"]

    [profiles.novig]
    venue = "novig"
    client_id = "…"
    client_secret_env = "NOVIG_SECRET_MAIN"   # read from this environment variable

Every credential may be given by the *name* of an environment variable
(``<key>_env``), so the file itself need not hold a secret.

:func:`resolve` merges a command's values with a profile: a value given by
flag or by environment variable beats the profile, which beats the built-in
default (CONTRACT §2). It is pure: the caller passes the parsed values, which
of them were given, and the environment.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fillwatch.core.errors import ConfigError
from fillwatch.core.files import read_regular

__all__ = ["EnvRef", "Profile", "default_config_path", "load", "resolve"]


@dataclass(frozen=True, slots=True)
class EnvRef:
    """A setting to read from an environment variable when it is used."""

    variable: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """One validated ``[profiles.NAME]`` table."""

    name: str
    venue: str
    path: Path
    settings: Mapping[str, object] = field(repr=False)
    """Setting name (as written in the file, without ``_env``) → value or :class:`EnvRef`."""
    warnings: tuple[str, ...] = field(default=())

    def where(self) -> str:
        """``config.toml: profile 'main'``, for messages."""
        return f"{self.path}: profile {self.name!r}"


# How each setting is checked, and the command parameter it fills in. Paths are
# resolved relative to the config file's directory.

Check = Callable[[object, Path], object]


def _string(value: object, _: Path) -> object:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _path(value: object, base: Path) -> object:
    return base / Path(str(_string(value, base))).expanduser()


def _flag(value: object, _: Path) -> object:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _choice(*choices: str) -> Check:
    def check(value: object, _: Path) -> object:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return check


def _integer(minimum: int) -> Check:
    def check(value: object, _: Path) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be an integer ≥ {minimum}")
        return value

    return check


def _seconds(value: object, _: Path) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError("must be a positive number of seconds")
    return float(value)


def _strings(each: Check) -> Check:
    def check(value: object, base: Path) -> object:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise ValueError("must be a string or a non-empty list of strings")
        return [each(item, base) for item in items]

    return check


# setting → (command parameter, check). Settings a command has no parameter for
# are refused when the profile is used with it (resolve()).
OPTIONS: dict[str, tuple[str, Check]] = {
    "env": ("env", _choice("prod", "demo")),
    "ws_url": ("ws_url", _string),
    "api_url": ("api_url", _string),
    "format": ("fmt", _choice("auto", "table", "lines", "jsonl")),
    "color": ("color", _choice("auto", "always", "never")),
    "output": ("output", _path),
    "raw": ("raw", _flag),
    "record": ("record", _path),
    "markets": ("markets", _strings(_string)),
    "kinds": ("kinds", _strings(_choice("fill", "cancel"))),
    "max_events": ("max_events", _integer(1)),
    "duration": ("duration", _string),
    "since": ("since", _string),
    "state": ("state", _path),
    "max_retries": ("max_retries", _integer(0)),
    "stall_timeout": ("stall_timeout", _seconds),
    "quiet": ("quiet", _flag),
}

CREDENTIALS: dict[str, dict[str, tuple[str, Check]]] = {
    "kalshi": {
        "key_id": ("key_id", _string),
        "private_key": ("private_key", _path),
        "private_key_pem": ("private_key_pem", _string),
    },
    "novig": {
        "client_id": ("client_id", _string),
        "client_secret": ("client_secret", _string),
        "token": ("token", _string),
        "token_url": ("token_url", _string),
    },
}
"""Each venue's credential settings; any of them may be given as ``<setting>_env``."""

SECRETS = frozenset({"private_key_pem", "client_secret", "token"})
"""Settings that should not sit in a file others can read."""

ENV_ONLY: dict[str, dict[str, str]] = {"kalshi": {"private_key_pem": "KALSHI_PRIVATE_KEY_PEM"}}
"""Credentials with an environment variable but no flag: parameter → variable."""

ALTERNATIVES: dict[str, tuple[tuple[tuple[str, ...], ...], ...]] = {
    "kalshi": ((("private_key",), ("private_key_pem",)),),
    "novig": ((("client_id", "client_secret"), ("token",)),),
}
"""Each venue's credentials that can be given in more than one way, and those ways.

Once a flag or variable gives one way, the profile's other ways are ignored:
a profile never overrides a credential given another way.
"""


def default_config_path() -> Path:
    """``config.toml`` in the user config directory (``~/.config/fillwatch`` on Linux)."""
    import platformdirs  # only when a profile is used: keeps start-up quick

    return platformdirs.user_config_path("fillwatch", appauthor=False) / "config.toml"


def load(path: Path, name: str) -> Profile:
    """Read profile `name` from the config file at `path`, checking every setting.

    Raises:
        ConfigError: the file is missing, unreadable or not TOML, the profile
            does not exist, or a setting is unknown or has a wrong value.
    """
    try:
        text, status = read_regular(path, "config file")
        data = tomllib.loads(text.decode("utf-8"))
        mode = status.st_mode
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path} (needed for --profile {name})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(table, dict) for table in profiles.values()):
        raise ConfigError(f"{path}: 'profiles' must hold tables, like [profiles.{name}]")
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"{path}: no profile {name!r} (profiles: {known})")
    return _check(profiles[name], name=name, path=path, shared=bool(mode & (stat.S_IRGRP | stat.S_IROTH)))


def _check(table: dict[str, object], *, name: str, path: Path, shared: bool) -> Profile:
    where = f"{path}: profile {name!r}"
    venue = table.get("venue")
    if venue not in CREDENTIALS:
        raise ConfigError(f"{where}: venue must be one of {', '.join(CREDENTIALS)}")
    known = {**OPTIONS, **CREDENTIALS[str(venue)]}
    base = path.parent
    settings: dict[str, object] = {}
    warnings: list[str] = []
    for key, value in table.items():
        if key == "venue":
            continue
        setting = key.removesuffix("_env") if key.endswith("_env") else key
        if setting not in known or (setting != key and setting not in CREDENTIALS[str(venue)]):
            raise ConfigError(f"{where}: unknown setting {key!r} for {venue}")
        if setting in settings:
            raise ConfigError(f"{where}: give {setting} or {setting}_env, not both")
        try:
            settings[setting] = EnvRef(str(_string(value, base))) if setting != key else known[key][1](value, base)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key} {exc}") from None
        if setting == key and setting in SECRETS and shared and os.name == "posix":
            warnings.append(f"{where} holds {key} in a file others can read; run: chmod 600 {path}")
    return Profile(name=name, venue=str(venue), path=path, settings=settings, warnings=tuple(warnings))


def resolve(
    values: Mapping[str, object],
    *,
    given: Collection[str],
    environ: Mapping[str, str],
    profile: Profile | None,
    venue: str,
) -> dict[str, object]:
    """A command's values with the profile filled in: flag > environment variable > profile > default.

    Args:
        values: the command's parameters as parsed (defaults included).
        given: the parameters the user gave, by flag or environment variable.
        environ: the environment, for ``<setting>_env`` references and the
            credentials that have a variable but no flag (``KALSHI_PRIVATE_KEY_PEM``).
        profile: the profile in use, if any.
        venue: the command's venue.

    Returns:
        Every parameter of `values`, plus the environment-only credentials of `venue`.

    Raises:
        ConfigError: the profile is for another venue, holds a setting this
            command has no use for, or names an environment variable that is not set.
    """
    merged = dict(values)
    given = set(given)
    for parameter, variable in ENV_ONLY.get(venue, {}).items():
        merged[parameter] = environ.get(variable) or None
        if merged[parameter] is not None:
            given.add(parameter)
    if profile is None:
        return merged
    if profile.venue != venue:
        raise ConfigError(f"{profile.where()} is for {profile.venue}, not {venue}")
    hidden = {
        parameter
        for ways in ALTERNATIVES.get(venue, ())
        for way in ways
        if given.intersection(way)
        for other in ways
        if other is not way
        for parameter in other
    }
    table = {**OPTIONS, **CREDENTIALS[venue]}
    for setting, value in profile.settings.items():
        parameter = table[setting][0]
        if parameter not in merged:
            raise ConfigError(f"{profile.where()}: {setting} does not apply to this command")
        if parameter in given or parameter in hidden:
            continue
        if isinstance(value, EnvRef):
            if not environ.get(value.variable):
                raise ConfigError(f"{profile.where()}: {setting}_env names {value.variable}, which is not set")
            # A path read from a variable is taken as given (relative to the working directory).
            merged[parameter] = table[setting][1](environ[value.variable], Path())
        else:
            merged[parameter] = value
    return merged
