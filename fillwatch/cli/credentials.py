"""Each venue's credentials, from resolved options (CONTRACT §2 precedence).

Kalshi: an API key id and an RSA or Ed25519 private key (file, or PEM text). Novig:
OAuth client credentials (tokens fetched and renewed) or a ready token.
Secrets stay in :class:`~fillwatch.core.secret.Secret` and are never echoed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fillwatch.cli import profiles
from fillwatch.cli.options import RunOptions
from fillwatch.core.config import load_private_key, read_key_file
from fillwatch.core.errors import ConfigError, ExitCode
from fillwatch.core.secret import Secret
from fillwatch.net.http import RestClient
from fillwatch.net.token import ClientCredentials, FixedToken, TokenSource, bearer_authenticator
from fillwatch.session.pipeline import tail
from fillwatch.venues.kalshi import adapter as kalshi
from fillwatch.venues.novig import adapter as novig

__all__ = ["NovigCredentials", "kalshi_venue", "novig_credentials", "novig_session"]


def kalshi_venue(
    values: dict[str, Any], profile: profiles.Profile | None, api_url: str, *, warn: Callable[[str], None]
) -> kalshi.Kalshi:
    """Kalshi credentials from resolved values: the key path beats the PEM text (CONTRACT §2).

    `warn` is told when the key file is readable by others (the run goes on).
    """
    key_id, private_key, pem_text = values["key_id"], values["private_key"], values["private_key_pem"]
    if not key_id:
        raise ConfigError("no Kalshi API key id: use --key-id, set KALSHI_API_KEY_ID, or key_id in a profile")
    if private_key is not None:
        private_key = Path(private_key)
        pem, warning = read_key_file(private_key.expanduser())
        origin = str(private_key)
        if warning:
            warn(warning)
    elif pem_text:
        pem = pem_text.encode()
        from_env = bool(os.environ.get("KALSHI_PRIVATE_KEY_PEM"))
        origin = "KALSHI_PRIVATE_KEY_PEM" if from_env or profile is None else f"{profile.where()}: private_key_pem"
    else:
        raise ConfigError(
            "no Kalshi private key: use --private-key FILE, set KALSHI_PRIVATE_KEY_PATH or KALSHI_PRIVATE_KEY_PEM,"
            " or private_key in a profile"
        )
    return kalshi.Kalshi(key_id, load_private_key(pem, origin=origin), api_url=api_url)


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

    def tokens(self, venue: novig.Novig, rest: RestClient) -> TokenSource:
        if self.client_id is None:
            return FixedToken(self.secret, venue=venue.name, origin=self.origin)
        client_id = self.client_id

        def on_token(token: Secret) -> None:
            venue.token = token

        return ClientCredentials(
            rest,
            lambda: venue.token_request(client_id, self.secret),
            venue.parse_token,
            venue=venue.name,
            on_token=on_token,
        )


def novig_credentials(values: dict[str, Any], *, from_flags: set[str]) -> NovigCredentials:
    """Resolve Novig credentials (CONTRACT §2): a flag beats every variable; among
    variables (and profile settings) the renewable client id and secret beat a ready token."""
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


async def novig_session(credentials: NovigCredentials, venue: novig.Novig, url: str, options: RunOptions) -> ExitCode:
    """Tail Novig with tokens from `credentials`."""
    async with RestClient(retry_after_unit=venue.retry_after_unit) as rest:
        tokens = credentials.tokens(venue, rest)
        try:
            authenticate = bearer_authenticator(venue, tokens)
            return await tail(venue, url, options, account=credentials.account, authenticate=authenticate)
        finally:
            await tokens.aclose()
