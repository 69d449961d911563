"""Kalshi as a unit: its endpoints, credential options, adapter builder, simulator and display."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fillwatch.core.errors import ConfigError
from fillwatch.venues.spec import (
    BuildContext,
    Built,
    Display,
    Simulator,
    SimulatorOption,
    VenueOption,
    VenueSpec,
    private_key_pem,
)

if TYPE_CHECKING:
    from fillwatch.venues.kalshi.adapter import Kalshi

__all__ = ["ENDPOINTS", "SPEC"]

ENDPOINTS: dict[str, dict[str, str]] = {
    # env → endpoint → URL: the recommended hosts of protocols/kalshi.md §1.
    "prod": {
        "ws": "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "api": "https://external-api.kalshi.com/trade-api/v2",
    },
    "demo": {
        "ws": "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "api": "https://external-api.demo.kalshi.co/trade-api/v2",
    },
}

_PEM_VARIABLE = "KALSHI_PRIVATE_KEY_PEM"

OPTIONS = (
    VenueOption(name="key_id", flags=("--key-id",), envvar="KALSHI_API_KEY_ID", help="API key id."),
    VenueOption(
        name="private_key",
        flags=("--private-key",),
        envvar="KALSHI_PRIVATE_KEY_PATH",
        path=True,
        help="PEM private key file, RSA or Ed25519 (or the PEM text in KALSHI_PRIVATE_KEY_PEM).",
    ),
    VenueOption(name="private_key_pem", flags=(), envvar=_PEM_VARIABLE, secret=True),
)


def build(values: Mapping[str, Any], context: BuildContext, *, clock: Callable[[], float] | None = None) -> Built:
    """The adapter for the key in `values`: the key path beats the PEM text (CONTRACT §2).

    `context.warn` is told when the key file is readable by others (the run goes on).
    """
    from fillwatch.core.config import load_private_key
    from fillwatch.venues.kalshi.adapter import Kalshi

    key_id = values.get("key_id")
    if not key_id:
        raise ConfigError("no Kalshi API key id: use --key-id, set KALSHI_API_KEY_ID, or key_id in a profile")
    pem, origin = private_key_pem(
        values,
        context,
        pem_variable=_PEM_VARIABLE,
        missing="no Kalshi private key: use --private-key FILE, set KALSHI_PRIVATE_KEY_PATH or KALSHI_PRIVATE_KEY_PEM,"
        " or private_key in a profile",
    )
    key = load_private_key(pem, origin=origin)
    venue = Kalshi(str(key_id), key, api_url=str(values["api_url"]), **({"clock": clock} if clock else {}))
    return Built(venue, str(values["ws_url"]), account=str(key_id))


def parser(*, clock: Callable[[], float] | None = None) -> Kalshi:
    """An adapter for recorded frames and pages: it parses, and cannot sign."""
    from fillwatch.venues.kalshi.adapter import Kalshi

    return Kalshi.for_parsing() if clock is None else Kalshi.for_parsing(clock=clock)


SPEC = VenueSpec(
    name="kalshi",
    title="Kalshi",
    help="Tail your Kalshi fills (channel fill) and cancels (channel user_orders).",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    build=build,
    parser=parser,
    simulator=Simulator(
        "fillwatch.venues.kalshi.demo:simulate",
        options=(
            SimulatorOption(
                name="key_type",
                flags=("--key-type",),
                choices=("rsa", "ed25519"),
                help="The simulated Kalshi key: rsa (default) or ed25519.",
                purpose="chooses the simulated Kalshi key",
            ),
        ),
    ),
    display=Display(),
    alternatives=((("private_key",), ("private_key_pem",)),),
)
