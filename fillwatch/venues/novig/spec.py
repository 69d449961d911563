"""Novig as a unit: its endpoints, credential options, adapter builder, simulator and display.

Novig has two APIs (CONTRACT §2, issue 14), chosen by the credentials given: a v3 key id and
private key select v3 (:mod:`fillwatch.venues.novig_v3`: signed requests, the ``orders``
channel with its ``seq``); a client id and secret, or a ready token, select the older NBX API
(:mod:`fillwatch.venues.novig.adapter`). Both kinds at once are a usage error. Either way the
venue is ``novig`` in event lines; the endpoints of ``--env`` are the chosen API's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fillwatch.core.errors import ConfigError
from fillwatch.venues.spec import (
    BuildContext,
    Built,
    Display,
    Simulator,
    SimulatorOption,
    TokenAuth,
    TokenCell,
    VenueOption,
    VenueSpec,
)

if TYPE_CHECKING:
    from fillwatch.core.secret import Secret
    from fillwatch.venues.base import Venue

__all__ = ["ENDPOINTS", "SPEC", "NovigCredentials", "credentials"]

ENDPOINTS: dict[str, dict[str, str]] = {
    # The newest docs' production hosts; the current token endpoint is documented on api.novig.us.
    "prod": {
        "ws": "wss://api.novig.com/tape",
        "api": "https://api.novig.com/nbx/v2",
        "token": "https://api.novig.us/nbx/v1/auth/emm-token",
    },
    "demo": {
        "ws": "wss://api-qa.novig.us/tape",
        "api": "https://api-qa.novig.us/nbx/v2",
        "token": "https://api-qa.novig.us/nbx/v1/auth/emm-token",
    },
}

V3_CREDENTIALS = ("key_id", "private_key", "private_key_pem")
NBX_CREDENTIALS = ("client_id", "client_secret", "token")
_PEM_VARIABLE = "NOVIG_PRIVATE_KEY_PEM"

OPTIONS = (
    VenueOption(name="key_id", flags=("--key-id",), envvar="NOVIG_KEY_ID", help="Novig v3 API key id (selects v3)."),
    VenueOption(
        name="private_key",
        flags=("--private-key",),
        envvar="NOVIG_PRIVATE_KEY_PATH",
        path=True,
        help="Novig v3 PEM private key file, Ed25519 or P-256 (or the PEM text in NOVIG_PRIVATE_KEY_PEM).",
    ),
    VenueOption(name="private_key_pem", flags=(), envvar=_PEM_VARIABLE, secret=True),
    VenueOption(name="client_id", flags=("--client-id",), envvar="NOVIG_CLIENT_ID", help="OAuth client id."),
    VenueOption(
        name="client_secret",
        flags=("--client-secret",),
        envvar="NOVIG_CLIENT_SECRET",
        secret=True,
        show_default=False,
        help="OAuth client secret (prefer the variable: flags are visible to other users in ps).",
    ),
    VenueOption(
        name="token",
        flags=("--token",),
        envvar="NOVIG_TOKEN",
        secret=True,
        show_default=False,
        help="A ready Bearer token (used as is, never renewed).",
    ),
    VenueOption(
        name="token_url",
        flags=("--token-url",),
        endpoint="token",
        help="Override the token endpoint's URL (http:// only on loopback).",
    ),
)


@dataclass(frozen=True)
class NovigCredentials:
    """Either a client id and secret (renewable tokens) or a ready token, and where it came from."""

    client_id: str | None
    secret: Secret
    origin: str

    @property
    def account(self) -> str:
        """Who the credentials belong to, for a ``--state`` file (a ready token names no one)."""
        return self.client_id or "ready-token"


def credentials(values: Mapping[str, Any], *, from_flags: frozenset[str]) -> NovigCredentials:
    """Resolve Novig credentials (CONTRACT §2): a flag beats every variable; among
    variables (and profile settings) the renewable client id and secret beat a ready token."""
    from fillwatch.core.secret import Secret

    client_id, client_secret, token = values.get("client_id"), values.get("client_secret"), values.get("token")
    token_flag = "token" in from_flags
    client_flag = bool({"client_id", "client_secret"} & from_flags)
    if token_flag and client_flag:
        raise ConfigError("give either --token or --client-id/--client-secret, not both")
    if token_flag and token:
        return NovigCredentials(None, Secret(token), "--token")
    if client_id and client_secret:
        return NovigCredentials(client_id, Secret(client_secret), "client id and secret")
    if token and not client_flag:
        return NovigCredentials(None, Secret(token), "NOVIG_TOKEN")
    if client_id:
        raise ConfigError("no Novig client secret: use --client-secret or set NOVIG_CLIENT_SECRET")
    if client_secret:
        raise ConfigError("no Novig client id: use --client-id or set NOVIG_CLIENT_ID")
    raise ConfigError(
        "no Novig credentials: use --client-id and --client-secret (or NOVIG_CLIENT_ID and NOVIG_CLIENT_SECRET), "
        "or a ready token with --token (NOVIG_TOKEN)"
    )


def build(values: Mapping[str, Any], context: BuildContext, *, clock: Callable[[], float] | None = None) -> Built:
    """The adapter of the API the credentials in `values` select (see the module's docstring)."""
    v3 = [name for name in V3_CREDENTIALS if values.get(name)]
    nbx = [name for name in NBX_CREDENTIALS if values.get(name)]
    if v3 and nbx:
        raise ConfigError(
            "give either a Novig v3 key (--key-id with --private-key, or their variables) or NBX credentials"
            " (--client-id/--client-secret or --token), not both"
        )
    if v3:
        from fillwatch.venues.novig_v3.build import build_v3

        return build_v3(values, context, clock=clock)
    return build_nbx(values, context, clock=clock)


def build_nbx(values: Mapping[str, Any], context: BuildContext, *, clock: Callable[[], float] | None = None) -> Built:
    """The NBX adapter, with a token cell the token glue fills from the credentials in `values`."""
    from fillwatch.venues.novig.adapter import Novig

    found = credentials(values, from_flags=context.from_flags)
    cell = TokenCell()
    api_url, token_url = str(values["api_url"]), str(values["token_url"])
    venue = Novig(api_url=api_url, token_url=token_url, token=cell, **({} if clock is None else {"clock": clock}))
    client_id = found.client_id
    if client_id is None:
        auth = TokenAuth(cell=cell, origin=found.origin, ready=found.secret)
    else:
        auth = TokenAuth(
            cell=cell,
            origin=found.origin,
            request=lambda: venue.token_request(client_id, found.secret),
            parse=venue.parse_token,
        )
    return Built(venue, str(values["ws_url"]), account=found.account, auth=auth)


def parser(*, clock: Callable[[], float] | None = None) -> Venue:
    """An adapter for recorded frames and pages (no credentials), NBX's or v3's by what the recording holds."""
    from fillwatch.venues.novig_v3.sniff import EitherNovig

    return EitherNovig(clock=clock)


SPEC = VenueSpec(
    name="novig",
    title="Novig",
    help=(
        "Tail your Novig fills and cancels: the v3 API with a key id and private key (the orders channel,"
        " gaps detected by seq), or the NBX API with a client id and secret or a token."
    ),
    endpoints=ENDPOINTS,
    options=OPTIONS,
    build=build,
    parser=parser,
    simulator=Simulator(
        "fillwatch.venues.novig_v3.demo:simulate",
        options=(
            SimulatorOption(
                name="novig_api",
                flags=("--novig-api",),
                choices=("v3", "nbx"),
                help="The simulated Novig API: v3 (default) or nbx.",
                purpose="chooses the simulated Novig API",
            ),
        ),
    ),
    display=Display(
        units_per_contract={"CASH": Decimal(100)}, currencies=True, plain=frozenset({"USD"}), outcome_lines=True
    ),
    alternatives=((("client_id", "client_secret"), ("token",)), (("private_key",), ("private_key_pem",))),
)
