"""Which Novig API the credentials choose, and the hosts of each ``--env`` (protocols/novig-v3.md §1, CONTRACT §2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fillwatch.core.errors import ConfigError
from fillwatch.venues.novig.adapter import Novig
from fillwatch.venues.novig.spec import ENDPOINTS as NBX
from fillwatch.venues.novig.spec import SPEC
from fillwatch.venues.novig_v3.adapter import NovigV3
from fillwatch.venues.spec import BuildContext


def pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def values(env: str, **given: object) -> dict[str, object]:
    urls = {"ws_url": NBX[env]["ws"], "api_url": NBX[env]["api"], "token_url": NBX[env]["token"]}
    return {"env": env, **urls, **given}


@pytest.mark.parametrize(
    ("env", "ws", "api"),
    [("prod", "wss://api.novig.com/v3/ws", "https://api.novig.com"), ("demo", "wss://api.qa.novig.com/v3/ws", "https://api.qa.novig.com")],
)  # fmt: skip
def test_a_key_selects_v3_on_its_hosts(env: str, ws: str, api: str) -> None:
    """protocols/novig-v3.md §1: a key id and key choose v3, on production or QA by --env (not NBX's hosts)."""
    built = SPEC.build(values(env, key_id="k-1", private_key_pem=pem()), BuildContext(environ={}))
    assert isinstance(built.venue, NovigV3)
    assert (built.url, built.venue.api_url, built.account) == (ws, api, "k-1")
    assert built.auth is None


def test_given_urls_are_kept_for_v3(tmp_path: Path) -> None:
    """CONTRACT §2: --ws-url and --api-url override v3's endpoints as they do NBX's."""
    given = values(
        "prod", key_id="k-1", private_key_pem=pem(), ws_url="ws://127.0.0.1:1/v3/ws", api_url="http://127.0.0.1:2"
    )
    built = SPEC.build(given, BuildContext(environ={}))
    assert (built.url, built.venue.api_url) == ("ws://127.0.0.1:1/v3/ws", "http://127.0.0.1:2")  # type: ignore[attr-defined]


def test_client_credentials_still_select_nbx() -> None:
    """CONTRACT §2: a client id and secret choose NBX, unchanged."""
    built = SPEC.build(values("prod", client_id="c", client_secret="s"), BuildContext(environ={}))
    assert isinstance(built.venue, Novig)
    assert built.url == NBX["prod"]["ws"]


@pytest.mark.parametrize("nbx", [{"token": "t"}, {"client_id": "c", "client_secret": "s"}])
def test_both_kinds_are_a_usage_error(nbx: dict[str, str]) -> None:
    """CONTRACT §2: v3 and NBX credentials together are a usage error."""
    with pytest.raises(ConfigError, match="not both"):
        SPEC.build(values("prod", key_id="k-1", private_key_pem=pem(), **nbx), BuildContext(environ={}))


def test_a_key_that_is_not_ed25519_or_p256_is_refused() -> None:
    """protocols/novig-v3.md §2: only Ed25519 and P-256 keys; another is a configuration error naming its origin."""
    key = ec.generate_private_key(ec.SECP384R1())
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match="NOVIG_PRIVATE_KEY_PEM: Novig v3 keys are Ed25519 or P-256"):
        SPEC.build(values("prod", key_id="k-1", private_key_pem=text.decode()), BuildContext(environ={}))
