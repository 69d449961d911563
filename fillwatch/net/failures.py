"""What a failed connection attempt means: one classification, and a secret-free description."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from fillwatch.core.errors import ConfigError, SubscriptionError
from fillwatch.net.http import Redirected, RestError
from fillwatch.venues.base import Rejected, Resync

__all__ = ["Verdict", "classify", "close_meaning", "describe"]


class _Stalled(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no frame for {seconds:g} s")


class _Resubscribe(Exception):
    """The venue reported a subscription that stopped delivering data."""


class _Refused(Exception):
    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.message)
        self.rejected = rejected


class _Reconnect(Exception):
    """The venue closed the socket asking for a reconnect (Novig v3: ``1008 SLOW_CONSUMER``)."""

    def __init__(self, closed: ConnectionClosed) -> None:
        super().__init__(describe(closed))
        self.closed = closed


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a failed attempt means for the connection loop."""

    retry: bool  # back off and connect again (else: stop with `error`)
    auth: bool = False  # the credentials were rejected: renew them first; twice in a row stops the run
    error: BaseException | None = None  # what the run stops with, when it does not retry
    at_once: bool = False  # the venue asked for a reconnect: no delay after a confirmed connection


def classify(exc: BaseException, *, started: bool = False) -> Verdict:
    """What a failure means: retry (renewing the credentials first after a rejection), or stop.

    `started`: a subscription was confirmed once (a redirect is then retried, not a wrong URL).
    An unknown error stops the run as it is (a bug: its traceback is wanted).
    """
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            return Verdict(retry=True, auth=True)
        if status in (408, 429) or status >= 500:
            return Verdict(retry=True)
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        message = f"the server refused the WebSocket upgrade: HTTP {status} {reason}".rstrip()
        return Verdict(retry=False, error=ConfigError(message))
    if isinstance(exc, InvalidURI):
        return Verdict(retry=False, error=ConfigError(f"invalid WebSocket URL: {exc}"))
    if isinstance(exc, _Refused):
        if exc.rejected.auth:
            return Verdict(retry=True, auth=True)
        code = f" (code {exc.rejected.code})" if exc.rejected.code is not None else ""
        message = f"the venue refused the subscription{code}: {exc.rejected.message}"
        return Verdict(retry=False, error=SubscriptionError(message))
    if isinstance(exc, Redirected) and not started:  # before any confirmed subscription: the URL is wrong
        return Verdict(retry=False, error=ConfigError(str(exc)))
    if isinstance(exc, _Reconnect):
        return Verdict(retry=True, at_once=True)
    if isinstance(exc, _TRANSIENT):
        return Verdict(retry=True)
    return Verdict(retry=False, error=exc)


_TRANSIENT = (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, _Stalled, _Resubscribe, RestError)


def _body_message(body: bytes | bytearray | None) -> str:
    """The ``message`` of a refused upgrade's JSON error body (Novig v3: which check failed), cut short."""
    try:
        message = json.loads(body or b"").get("message")
    except (ValueError, AttributeError):
        return ""
    return message[:200] if isinstance(message, str) else ""


def close_meaning(venue: object, closed: ConnectionClosed) -> _Refused | _Reconnect | None:
    """What a received close means, per the venue's ``close_meaning(code, reason)``: a
    :class:`Rejected` stops the run (the refusal to raise), a :class:`Resync` asks for a reconnect
    at once (:class:`_Reconnect`); None: an ordinary drop."""
    meaning = getattr(venue, "close_meaning", None)
    if meaning is None or closed.rcvd is None:
        return None
    said = meaning(closed.rcvd.code, closed.rcvd.reason)
    if isinstance(said, Rejected):
        return _Refused(said)
    return _Reconnect(closed) if isinstance(said, Resync) else None


def describe(exc: BaseException) -> str:
    """A short, secret-free account of why a connection attempt ended."""
    if isinstance(exc, InvalidStatus):
        said = _body_message(exc.response.body)
        return f"HTTP {exc.response.status_code} on the upgrade" + (f": {said}" if said else "")
    if isinstance(exc, ConnectionClosed):
        if exc.rcvd is None:
            return "connection lost"
        return f"closed by the venue ({exc.rcvd.code}{' ' + exc.rcvd.reason if exc.rcvd.reason else ''})"
    if isinstance(exc, _Refused):
        return f"rejected: {exc.rejected.message}"
    if isinstance(exc, _Reconnect):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out opening the connection"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
