"""The one classification of a failed connection attempt: retry, renew and retry, or stop (exit code, message)."""

from __future__ import annotations

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Close
from websockets.http11 import Response

from fillwatch.core.errors import AuthenticationError, ExitCode, FillwatchError, WriteFailed
from fillwatch.net.failures import _Refused, _Resubscribe, _Stalled, classify, describe
from fillwatch.net.http import Redirected, RestError
from fillwatch.venues.base import Rejected


def _status(code: int) -> InvalidStatus:
    return InvalidStatus(Response(code, "", Headers()))


RETRIED = [
    (_status(408), False, "HTTP 408 on the upgrade"),
    (_status(429), False, "HTTP 429 on the upgrade"),
    (_status(500), False, "HTTP 500 on the upgrade"),
    (_status(503), False, "HTTP 503 on the upgrade"),
    (_status(401), True, "HTTP 401 on the upgrade"),
    (_status(403), True, "HTTP 403 on the upgrade"),
    (_Refused(Rejected(5, "token expired", auth=True)), True, "rejected: token expired"),
    (ConnectionRefusedError(111, "Connection refused"), False, "Connection refused"),
    (TimeoutError(), False, "timed out opening the connection"),
    (ConnectionClosedError(None, None), False, "connection lost"),
    (ConnectionClosedError(Close(1011, "bye"), None), False, "closed by the venue (1011 bye)"),
    (InvalidHandshake("bad upgrade"), False, "bad upgrade"),
    (_Stalled(30.0), False, "no frame for 30 s"),
    (_Resubscribe("subscription lost"), False, "subscription lost"),
    (RestError("token endpoint down"), False, "token endpoint down"),
]


@pytest.mark.parametrize(("failure", "auth", "description"), RETRIED)
def test_transient_failures_are_retried(failure: Exception, auth: bool, description: str) -> None:
    """A transient failure is retried (after renewing credentials if they were rejected), and described so."""
    verdict = classify(failure)
    assert (verdict.retry, verdict.auth, verdict.error) == (True, auth, None)
    assert describe(failure) == description


STOPPED = [
    (_status(404), False, ExitCode.USAGE, "the server refused the WebSocket upgrade: HTTP 404 Not Found"),
    (_status(400), False, ExitCode.USAGE, "the server refused the WebSocket upgrade: HTTP 400 Bad Request"),
    (_status(299), False, ExitCode.USAGE, "the server refused the WebSocket upgrade: HTTP 299"),
    (InvalidURI("ftp://x", "scheme isn't ws or wss"), False, ExitCode.USAGE, "invalid WebSocket URL: ftp://x"),
    (
        _Refused(Rejected(6, "unknown channel", auth=False)),
        False,
        ExitCode.ERROR,
        "the venue refused the subscription (code 6): unknown channel",
    ),
    (
        _Refused(Rejected(None, "no", auth=False)),
        True,
        ExitCode.ERROR,
        "the venue refused the subscription: no",
    ),
    (
        Redirected("the WebSocket upgrade", 302, "wss://elsewhere/"),
        False,
        ExitCode.USAGE,
        "the WebSocket upgrade: HTTP 302 redirect to wss://elsewhere/, not followed",
    ),
    (AuthenticationError("no token"), True, ExitCode.AUTH, "no token"),
    (WriteFailed("cannot write: disk full"), True, ExitCode.WRITE, "cannot write: disk full"),
]


@pytest.mark.parametrize(("failure", "started", "code", "message"), STOPPED)
def test_failures_retrying_cannot_help_stop_with_their_exit_code(
    failure: Exception, started: bool, code: ExitCode, message: str
) -> None:
    """A failure that retrying cannot help stops the run with its exit code and a one-line message."""
    verdict = classify(failure, started=started)
    assert not verdict.retry
    assert isinstance(verdict.error, FillwatchError)
    assert verdict.error.exit_code == code
    assert str(verdict.error).startswith(message)


def test_a_redirect_after_a_confirmed_subscription_is_retried() -> None:
    """Once a subscription was confirmed, a redirected upgrade is a venue's hiccup: retried, not a wrong URL."""
    verdict = classify(Redirected("the WebSocket upgrade", 307, "wss://elsewhere/"), started=True)
    assert (verdict.retry, verdict.error) == (True, None)


def test_an_unknown_error_stops_the_run_as_it_is() -> None:
    """An error no rule knows (a bug) is not retried: it stops the run unchanged, traceback and all."""
    bug = KeyError("surprise")
    verdict = classify(bug)
    assert (verdict.retry, verdict.error) == (False, bug)
