"""What Novig v3's socket errors and close codes mean for the stream: pure functions.

Facts from Novig's "Connection" and "Errors" pages (``protocols/novig-v3.md`` §4.2, §4.6,
§11): an error frame carries a stable string ``code`` (branch on it), a human ``message``
and the ``nonce`` of the request it answers (none when the frame could not be attributed,
e.g. a throttled one). A close ``1008`` with reason ``SLOW_CONSUMER`` asks for a reconnect
and a fresh snapshot; ``1008`` with a 451 location code means the key holder must open
the Novig app first.
"""

from __future__ import annotations

from typing import Any

from fillwatch.venues.base import Malformed, Parsed, Rejected, Resync, excerpt

__all__ = ["close_meaning", "error_frame", "error_meaning"]

_LOCATION_CODES = frozenset({"ANONYMIZED_NETWORK", "RESTRICTED_NETWORK_REGION"})  # and every GEOLOCATION_* code
_REFUSALS = frozenset({"EMPTY_SELECTION", "SUBSCRIPTION_LIMIT_EXCEEDED", "INVALID_REQUEST", "INVALID_BODY"})


def close_meaning(code: int | None, reason: str) -> Parsed | None:
    """A close of the socket: ``1008`` with a location (451) code stops the run, any other
    ``1008`` (``SLOW_CONSUMER``) resyncs at once; anything else is an ordinary drop (None)."""
    if code != 1008:
        return None
    if "GEOLOCATION" in reason or reason in _LOCATION_CODES:
        message = f"Novig's location check refused the connection ({reason}): open the Novig app, then retry"
        return Rejected(None, message, auth=False)
    return Resync(f"Novig closed the stream with 1008 {reason or '(no reason)'}")


def error_frame(message: dict[str, Any]) -> dict[str, Any] | None:
    """The error a frame carries, top-level ``{code, message, nonce}`` or nested ``{nonce, error: {code,
    message}}`` (§14.1: only the ``ErrorBody`` schema is documented, no socket error frame), else None."""
    if isinstance(message.get("code"), str):
        return message
    nested = message.get("error")
    if isinstance(nested, dict) and isinstance(nested.get("code"), str):
        return {**nested, "nonce": message.get("nonce")}
    return None


def error_meaning(message: dict[str, Any], *, ours: bool, frame: str) -> Parsed:
    """An error frame: what it means when it answers a request of ours (`ours`), else a skipped frame.

    ``SIGNATURE_REJECTED`` is an authentication failure; a refused selection will be refused
    again (stop); a throttle, stale nonce or server fault is retried on a new connection.
    """
    code = message["code"]
    if not ours:
        return Malformed(f"Novig error {code}, answering no request of ours", excerpt(frame))
    human = f"Novig error {code}: {message.get('message', 'no message')}"
    if code == "SIGNATURE_REJECTED":
        return Rejected(None, human, auth=True)
    if code in _REFUSALS:
        return Rejected(None, human, auth=False)
    return Resync(human)
