"""The token glue of Bearer-token venues: a spec's :class:`~fillwatch.venues.spec.TokenAuth` made live.

A venue spec describes how it authenticates (a ready token, or the
client-credentials request and how to read its answer); here that becomes a
:class:`~fillwatch.net.token.TokenSource` on the run's REST client, and the
stream's ``authenticate`` hook, which fills the adapter's token cell before
every attempt. Secrets stay in :class:`~fillwatch.core.secret.Secret` and are
never echoed.
"""

from __future__ import annotations

from fillwatch.core.secret import Secret
from fillwatch.net.http import RestClient
from fillwatch.net.stream import Authenticate
from fillwatch.net.token import ClientCredentials, FixedToken, TokenSource
from fillwatch.venues.spec import TokenAuth

__all__ = ["authenticator", "token_source"]


def token_source(auth: TokenAuth, rest: RestClient, *, venue: str) -> TokenSource:
    """A ready token as is, or tokens fetched with `rest` and renewed; each new one goes into the cell."""
    if auth.ready is not None:
        return FixedToken(auth.ready, venue=venue, origin=auth.origin)
    if auth.request is None or auth.parse is None:
        raise TypeError(f"{venue}'s token auth names neither a ready token nor a token request")
    cell = auth.cell

    def on_token(token: Secret) -> None:
        cell.value = token

    return ClientCredentials(rest, auth.request, auth.parse, venue=venue, on_token=on_token)


def authenticator(auth: TokenAuth, tokens: TokenSource) -> Authenticate:
    """The stream's ``authenticate`` hook: a current token in the cell before every attempt.

    After a rejection (`renew`), a new one.
    """

    async def authenticate(renew: bool) -> None:
        auth.cell.value = await tokens.get(renew=renew)

    return authenticate
