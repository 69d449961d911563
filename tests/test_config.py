"""Durations, URL rules and private keys: clear errors (exit 2), never key material."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from fillwatch.core.config import check_url, is_loopback, load_private_key, parse_duration, read_key_file
from fillwatch.core.errors import ConfigError, ExitCode
from tests.conftest import write_key


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("3d", 259200), ("45", 45), ("1.5h", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    """Durations accept s, m, h, d and bare seconds."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5w", "-3s", "0s", "1 2s"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    """Anything else is a configuration error with exit code 2."""
    with pytest.raises(ConfigError) as caught:
        parse_duration(text)
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("kalshi.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only localhost, 127.0.0.0/8 and ::1 count as loopback."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url",
    ["wss://external-api-ws.kalshi.com/trade-api/ws/v2", "ws://127.0.0.1:9/x", "ws://localhost/x", "ws://[::1]:80/x"],
)
def test_accepted_urls(url: str) -> None:
    """wss:// anywhere, ws:// on loopback."""
    assert check_url(url, option="--ws-url", secure="wss", plain="ws") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ws://example.com/x", "ws:// is allowed only for loopback hosts"),
        ("ws://10.1.2.3/x", "ws:// is allowed only for loopback hosts"),
        ("https://example.com/x", "is not a wss:// URL"),
        ("wss:///nohost", "is not a wss:// URL"),
    ],
)
def test_rejected_urls(url: str, message: str) -> None:
    """Clear text to a remote host, another scheme or no host: exit 2."""
    with pytest.raises(ConfigError, match=message):
        check_url(url, option="--ws-url", secure="wss", plain="ws")


@pytest.mark.parametrize("pkcs8", [False, True], ids=["pkcs1", "pkcs8"])
def test_pkcs1_and_pkcs8_keys_load(tmp_path: Path, venue_key: rsa.RSAPrivateKey, pkcs8: bool) -> None:
    """Both PEM flavours of an RSA key load to the same key."""
    data, warning = read_key_file(write_key(tmp_path / "k.pem", venue_key, pkcs8=pkcs8))
    assert warning is None
    assert load_private_key(data, origin="k.pem").private_numbers() == venue_key.private_numbers()


def test_readable_key_file_gets_a_warning(tmp_path: Path, venue_key: rsa.RSAPrivateKey) -> None:
    """A key file that group or others can read is named in a warning, with the fix."""
    path = write_key(tmp_path / "k.pem", venue_key, mode=0o644)
    _, warning = read_key_file(path)
    assert warning is not None
    assert "chmod 600" in warning
    assert str(path) in warning


def test_missing_key_file(tmp_path: Path) -> None:
    """A missing key file is a configuration error naming the path."""
    with pytest.raises(ConfigError, match="private key file not found"):
        read_key_file(tmp_path / "absent.pem")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "not a PEM private key"),
        (b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "not a PEM private key"),
    ],
)
def test_junk_is_not_a_key(content: bytes, message: str) -> None:
    """Non-PEM content fails with the origin named and the content not echoed."""
    with pytest.raises(ConfigError, match=message) as caught:
        load_private_key(content, origin="KALSHI_PRIVATE_KEY_PEM")
    assert "KALSHI_PRIVATE_KEY_PEM" in str(caught.value)
    assert "AAAA" not in str(caught.value)


def test_encrypted_and_other_key_types_are_refused(venue_key: rsa.RSAPrivateKey) -> None:
    """An encrypted key is refused with a reason; an EC key with the two types Kalshi accepts named."""
    encrypted = venue_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(ConfigError, match="encrypted"):
        load_private_key(encrypted, origin="k")
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="k: the key is neither RSA nor Ed25519, the two types Kalshi accepts"):
        load_private_key(ec_key, origin="k")


def test_ed25519_pkcs8_key_loads() -> None:
    """An Ed25519 key as Kalshi hands it out, PKCS#8 PEM (openapi.yaml GenerateApiKeyResponse), loads as Ed25519."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(pem, origin="k.pem")
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    assert loaded.private_bytes_raw() == key.private_bytes_raw()
