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
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fillwatch import venues
from fillwatch.core.errors import ConfigError
from fillwatch.core.files import read_regular
from fillwatch.venues.spec import Check, check_string

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


# How each setting is checked, and the command parameter it fills in: the shared
# options' from their table (fillwatch.cli.options), each venue's from its spec
# (every one of those may be given as ``<setting>_env``). Paths are resolved
# relative to the config file's directory.


def _shared() -> dict[str, tuple[str, Check]]:
    """Setting → (command parameter, check) of the shared options a profile may set."""
    from fillwatch.cli.options import table  # the table imports this module

    return {spec.profile: (name, spec.check) for name, spec in table().items() if spec.profile is not None}


def _credentials(venue: str) -> dict[str, tuple[str, Check]]:
    """Setting → (command parameter, check) of `venue`'s own options."""
    return {option.name: (option.name, option.check) for option in venues.spec(venue).options}


def _secrets(venue: str) -> frozenset[str]:
    """`venue`'s settings that should not sit in a file others can read."""
    return frozenset(option.name for option in venues.spec(venue).options if option.secret)


def _env_only(venue: str) -> dict[str, str]:
    """`venue`'s options with a variable but no flag: parameter → variable."""
    spec = venues.REGISTRY.get(venue)
    found = () if spec is None else spec.options
    return {option.name: option.envvar for option in found if not option.flags and option.envvar}


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
    data, mode = _read(path, f"--profile {name}")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(table, dict) for table in profiles.values()):
        raise ConfigError(f"{path}: 'profiles' must hold tables, like [profiles.{name}]")
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"{path}: no profile {name!r} (profiles: {known})")
    return _check(profiles[name], name=name, path=path, shared=bool(mode & (stat.S_IRGRP | stat.S_IROTH)))


def _read(path: Path, needed_for: str) -> tuple[dict[str, object], int]:
    """The config file's tables and its mode bits."""
    try:
        text, status = read_regular(path, "config file")
        return tomllib.loads(text.decode("utf-8")), status.st_mode
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path} (needed for {needed_for})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def group(path: Path, name: str) -> tuple[str, ...] | None:
    """The profile names of ``[groups] NAME = ["main", "hedge"]`` in the config file at `path`.

    Returns:
        The names, in the file's order; None when the file has no group `name`
        (``default`` may be absent: ``watch`` then needs ``-p`` or ``-g``).

    Raises:
        ConfigError: the file cannot be read, or ``[groups]`` is not a table of lists of profile names.
    """
    data, _ = _read(path, f"--group {name}")
    groups = data.get("groups", {})
    if not isinstance(groups, dict):
        raise ConfigError(f'{path}: \'groups\' must be a table, like [groups] {name} = ["main", "hedge"]')
    if name not in groups:
        return None
    members = groups[name]
    if not isinstance(members, list) or not members or not all(isinstance(m, str) and m for m in members):
        raise ConfigError(f'{path}: group {name!r} must be a list of profile names, like ["main", "hedge"]')
    return tuple(members)


def _check(table: dict[str, object], *, name: str, path: Path, shared: bool) -> Profile:
    where = f"{path}: profile {name!r}"
    venue = table.get("venue")
    if not isinstance(venue, str) or venue not in venues.REGISTRY:
        raise ConfigError(f"{where}: venue must be one of {', '.join(venues.REGISTRY)}")
    own = _credentials(venue)
    known, secrets = {**_shared(), **own}, _secrets(venue)
    settings: dict[str, object] = {}
    warnings: list[str] = []
    for key, value in table.items():
        if key == "venue":
            continue
        setting = key.removesuffix("_env") if key.endswith("_env") else key
        if setting not in known or (setting != key and setting not in own):
            raise ConfigError(f"{where}: unknown setting {key!r} for {venue}")
        if setting in settings:
            raise ConfigError(f"{where}: give {setting} or {setting}_env, not both")
        settings[setting] = _setting(key, setting, value, known, where=where, base=path.parent)
        if setting == key and setting in secrets and shared and os.name == "posix":
            warnings.append(f"{where} holds {key} in a file others can read; run: chmod 600 {path}")
    return Profile(name=name, venue=venue, path=path, settings=settings, warnings=tuple(warnings))


def _setting(
    key: str, setting: str, value: object, known: Mapping[str, tuple[str, Check]], *, where: str, base: Path
) -> object:
    """One setting's checked value (an :class:`EnvRef` for ``<setting>_env``)."""
    try:
        return EnvRef(str(check_string(value, base))) if setting != key else known[key][1](value, base)
    except ValueError as exc:
        raise ConfigError(f"{where}: {key} {exc}") from None


def resolve(
    values: Mapping[str, object],
    *,
    given: Collection[str],
    environ: Mapping[str, str],
    profile: Profile | None,
    venue: str,
    implicit: bool = True,
) -> dict[str, object]:
    """A command's values with the profile filled in: flag > environment variable > profile > default.

    Args:
        values: the command's parameters as parsed (defaults included).
        given: the parameters the user gave, by flag or environment variable.
        environ: the environment, for ``<setting>_env`` references and the
            credentials that have a variable but no flag (``KALSHI_PRIVATE_KEY_PEM``).
        profile: the profile in use, if any.
        venue: the command's venue.
        implicit: whether the credentials that have a variable but no flag are read from `environ`
            (False for an account of a ``watch``: a variable cannot tell two accounts apart).

    Returns:
        Every parameter of `values`, plus the environment-only credentials of `venue`.

    Raises:
        ConfigError: the profile is for another venue, holds a setting this
            command has no use for, or names an environment variable that is not set.
    """
    merged = dict(values)
    given = set(given)
    for parameter, variable in _env_only(venue).items():
        merged[parameter] = (environ.get(variable) or None) if implicit else None
        if merged[parameter] is not None:
            given.add(parameter)
    if profile is None:
        return merged
    if profile.venue != venue:
        raise ConfigError(f"{profile.where()} is for {profile.venue}, not {venue}")
    hidden = {
        parameter
        for ways in venues.spec(venue).alternatives
        for way in ways
        if given.intersection(way)
        for other in ways
        if other is not way
        for parameter in other
    }
    table = {**_shared(), **_credentials(venue)}
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
