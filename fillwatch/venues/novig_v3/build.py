"""Building the Novig v3 adapter from a command's values: the key, the endpoints of ``--env``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fillwatch.core.errors import ConfigError
from fillwatch.venues.novig_v3.adapter import ENDPOINTS, NovigV3
from fillwatch.venues.spec import BuildContext, Built, private_key_pem

__all__ = ["build_v3"]

_PEM_VARIABLE = "NOVIG_PRIVATE_KEY_PEM"


def _urls(values: Mapping[str, Any]) -> tuple[str, str]:
    """The WebSocket URL and REST base: those given, else v3's of ``--env`` (protocols/novig-v3.md §1).

    The command resolves the NBX defaults of ``--env`` for URLs not given; those are not v3's.
    """
    from fillwatch.venues.novig.spec import ENDPOINTS as NBX

    env = str(values.get("env") or "prod")
    ws, api = values.get("ws_url"), values.get("api_url")
    ws = ENDPOINTS[env]["ws"] if not ws or ws == NBX[env]["ws"] else str(ws)
    api = ENDPOINTS[env]["api"] if not api or api == NBX[env]["api"] else str(api)
    return ws, api


def build_v3(values: Mapping[str, Any], context: BuildContext, *, clock: Callable[[], float] | None = None) -> Built:
    """The v3 adapter for the key in `values`: the key path beats the PEM text (CONTRACT §2).

    `context.warn` is told when the key file is readable by others (the run goes on).
    """
    from fillwatch.venues.novig_v3.signing import load_private_key

    key_id = values.get("key_id")
    if not key_id:
        raise ConfigError("no Novig v3 key id: use --key-id, set NOVIG_KEY_ID, or key_id in a profile")
    pem, origin = private_key_pem(
        values,
        context,
        pem_variable=_PEM_VARIABLE,
        missing="no Novig v3 private key: use --private-key FILE, set NOVIG_PRIVATE_KEY_PATH or NOVIG_PRIVATE_KEY_PEM,"
        " or private_key in a profile",
    )
    try:
        key = load_private_key(pem)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    ws, api = _urls(values)
    venue = NovigV3(str(key_id), key, ws_url=ws, api_url=api, **({"clock": clock} if clock else {}))
    return Built(venue, ws, account=str(key_id))
