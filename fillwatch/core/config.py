"""Turning flags, environment variables and key files into usable settings.

Everything here validates up front and raises :class:`ConfigError` with a
one-line, actionable message (exit 2). Key material is never echoed: messages
name the file or the variable, not its content.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fillwatch.core.errors import ConfigError
from fillwatch.core.files import read_regular

if TYPE_CHECKING:  # cryptography is imported where a key is loaded (start-up time), and core imports no venue
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "check_url",
    "is_loopback",
    "load_private_key",
    "parse_duration",
    "parse_since",
    "read_key_file",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``3d`` (a bare number is seconds).

    Raises:
        ConfigError: for anything else, or a zero duration.
    """
    match = _DURATION.match(text)
    if match is None or float(match[1]) <= 0:
        raise ConfigError(f"invalid duration {text!r}: use a positive number with s, m, h or d (90s, 15m, 2h)")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: a duration back from `now` (``15m``, ``3d``) or an ISO 8601 date or date-time.

    A date-time without an offset is UTC; a date is its midnight, UTC.

    Raises:
        ConfigError: for anything else, or a time in the future.
    """
    if _DURATION.match(text):
        return now - parse_duration(text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"invalid --since {text!r}: use a duration (15m, 2h, 3d) or an ISO 8601 date or date-time"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise ConfigError(f"--since {text!r} is in the future")
    return moment.astimezone(UTC)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, option: str, secure: str, plain: str) -> str:
    """Accept `url` if it is ``secure://`` anywhere or ``plain://`` on loopback.

    Args:
        url: the URL given by the user.
        option: the flag it came from, for the message.
        secure: the TLS scheme (``wss`` or ``https``).
        plain: the clear-text scheme, allowed only for loopback hosts.

    Raises:
        ConfigError: for another scheme, no host, or clear text to a remote host.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in (secure, plain) or not host:
        raise ConfigError(f"{option}: {url!r} is not a {secure}:// URL")
    if parts.scheme == plain and not is_loopback(host):
        raise ConfigError(f"{option}: {plain}:// is allowed only for loopback hosts; use {secure}://")
    return url


def read_key_file(path: Path) -> tuple[bytes, str | None]:
    """Read a private key file; return its bytes and a warning if others can read it.

    Raises:
        ConfigError: if the file is missing or unreadable.
    """
    try:
        data, status = read_regular(path, "private key file")
        mode = status.st_mode
    except FileNotFoundError:
        raise ConfigError(f"private key file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"private key path is a directory: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read private key file {path}: {exc.strerror}") from None
    warning = None
    if mode & (stat.S_IRGRP | stat.S_IROTH) and os.name == "posix":
        warning = f"private key file {path} is readable by other users; run: chmod 600 {path}"
    return data, warning


def load_private_key(pem: bytes, *, origin: str) -> RSAPrivateKey | Ed25519PrivateKey:
    """Load an unencrypted PEM private key of a type Kalshi issues: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8).

    The key type is read from the PEM (OpenAPI ``ApiKeyType``: ``rsa``, ``ed25519``).

    Args:
        pem: the PEM text.
        origin: where it came from (a path or a variable name), for the message.

    Raises:
        ConfigError: if it is not an unencrypted PEM private key, or of another type.
    """
    # Imported here: cryptography costs start-up time that --version and --help need not pay.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(f"{origin}: the private key is encrypted; give an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{origin}: not a PEM private key (Kalshi keys are RSA or Ed25519)") from None
    if not isinstance(key, (RSAPrivateKey, Ed25519PrivateKey)):
        raise ConfigError(f"{origin}: the key is neither RSA nor Ed25519, the two types Kalshi accepts")
    return key
