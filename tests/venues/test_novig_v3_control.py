"""What Novig v3's socket error frames and close codes mean (``fillwatch.venues.novig_v3.control``).

Facts from Novig's "Connection" and "Errors" pages, summarised in ``protocols/novig-v3.md`` §4.2,
§4.6 and §11: an error frame is ``{"code", "message", "nonce"}`` with a stable string code; a close
``1008`` carries either ``SLOW_CONSUMER`` or a 451 location code (``GEOLOCATION_*``,
``ANONYMIZED_NETWORK``, ``RESTRICTED_NETWORK_REGION``) as its reason.
"""

from __future__ import annotations

import pytest

from fillwatch.venues.base import Malformed, Rejected, Resync
from fillwatch.venues.novig_v3.control import close_meaning, error_meaning

LOCATION = "open the Novig app, then retry"


@pytest.mark.parametrize(
    "reason", ["GEOLOCATION_NOT_FOUND", "GEOLOCATION_BLOCKED", "ANONYMIZED_NETWORK", "RESTRICTED_NETWORK_REGION"]
)
def test_a_location_close_stops_with_the_app_hint_and_the_code(reason: str) -> None:
    """A ``1008`` close with any 451 location code is a non-auth stop that names the code and says to open the app."""
    assert close_meaning(1008, reason) == Rejected(
        None, f"Novig's location check refused the connection ({reason}): {LOCATION}", auth=False
    )


@pytest.mark.parametrize("reason", ["ANONYMIZED_NETWORK_X", "RESTRICTED_NETWORK", "geolocation_not_found"])
def test_a_close_reason_that_only_resembles_a_location_code_resyncs(reason: str) -> None:
    """Only the exact location codes (and upper-case ``GEOLOCATION`` ones) stop; other ``1008`` reasons resync."""
    assert close_meaning(1008, reason) == Resync(f"Novig closed the stream with 1008 {reason}")


def test_slow_consumer_resyncs_naming_the_reason() -> None:
    """``1008 SLOW_CONSUMER`` asks for a reconnect and a fresh snapshot, and says why."""
    assert close_meaning(1008, "SLOW_CONSUMER") == Resync("Novig closed the stream with 1008 SLOW_CONSUMER")


def test_a_1008_without_a_reason_says_so() -> None:
    """A ``1008`` close with an empty reason still resyncs, and the message says there was no reason."""
    assert close_meaning(1008, "") == Resync("Novig closed the stream with 1008 (no reason)")


@pytest.mark.parametrize("code", [None, 1000, 1001, 1006, 1007, 1009, 1011, 4008])
def test_every_other_close_is_an_ordinary_drop(code: int | None) -> None:
    """Any close but ``1008`` (even with a location reason) is an ordinary drop: no meaning, reconnect as usual."""
    assert close_meaning(code, "GEOLOCATION_NOT_FOUND") is None
    assert close_meaning(code, "SLOW_CONSUMER") is None


def test_signature_rejected_is_an_authentication_failure() -> None:
    """``SIGNATURE_REJECTED`` answering our request stops the run as an auth failure, quoting code and message."""
    frame = {"code": "SIGNATURE_REJECTED", "message": "signature verification failed", "nonce": 1}
    assert error_meaning(frame, ours=True, frame="") == Rejected(
        None, "Novig error SIGNATURE_REJECTED: signature verification failed", auth=True
    )


@pytest.mark.parametrize("code", ["EMPTY_SELECTION", "SUBSCRIPTION_LIMIT_EXCEEDED", "INVALID_REQUEST", "INVALID_BODY"])
def test_a_refused_selection_stops_without_blaming_the_key(code: str) -> None:
    """A refusal that a retry would meet again stops the run, not as an authentication failure."""
    assert error_meaning({"code": code, "message": "no"}, ours=True, frame="") == Rejected(
        None, f"Novig error {code}: no", auth=False
    )


@pytest.mark.parametrize("code", ["RATE_LIMIT_EXCEEDED", "STALE_NONCE", "INTERNAL_ERROR", "SOMETHING_NEW", "INVALID"])
def test_transient_and_unknown_errors_resync(code: str) -> None:
    """A throttle, stale nonce, server fault or unknown code is retried on a new connection."""
    assert error_meaning({"code": code, "message": "m", "nonce": 3}, ours=True, frame="") == Resync(
        f"Novig error {code}: m"
    )


def test_an_error_without_a_message_says_so() -> None:
    """An error frame with no ``message`` field still reads, with "no message" in its place."""
    assert error_meaning({"code": "STALE_NONCE"}, ours=True, frame="") == Resync("Novig error STALE_NONCE: no message")


def test_an_error_answering_nothing_of_ours_is_a_counted_skip_with_its_frame() -> None:
    """An error answering no request of ours (even SIGNATURE_REJECTED) is one Malformed with the frame's start."""
    frame = '{"code": "SIGNATURE_REJECTED", "message": "no", "nonce": 9}'
    assert error_meaning({"code": "SIGNATURE_REJECTED", "nonce": 9}, ours=False, frame=frame) == Malformed(
        "Novig error SIGNATURE_REJECTED, answering no request of ours", frame
    )
