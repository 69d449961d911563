"""Novig v3 socket error frames in either shape the simulator's ``error_shape`` switches (§14.1 of the notes).

api_errors.md documents only the ``ErrorBody`` schema (``code``, ``message``); api_streaming_connection.md
shows no socket error frame, so it may be top-level ``{code, message, nonce}`` or nested ``{nonce, error}``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from fillwatch.venues.base import Malformed, Rejected, Resync
from fillwatch.venues.novig_v3.orders import NovigV3Orders

CASES = [
    ("RATE_LIMIT_EXCEEDED", 1, Resync),
    ("RATE_LIMIT_EXCEEDED", None, Resync),  # a throttled frame: no nonce
    ("EMPTY_SELECTION", 1, Rejected),
    ("SIGNATURE_REJECTED", 1, Rejected),
    ("STALE_NONCE", 77, Malformed),  # answers no request of ours
]


def _frame(shape: str, code: str, nonce: int | None) -> str:
    error: dict[str, Any] = {"code": code, "message": "said"}
    if shape == "nested":
        return orjson.dumps({"nonce": nonce, "error": error}).decode()
    return orjson.dumps(error if nonce is None else {**error, "nonce": nonce}).decode()


@pytest.mark.parametrize("shape", ["top", "nested"])
@pytest.mark.parametrize(("code", "nonce", "expected"), CASES)
def test_an_error_answering_the_subscribe_means_the_same_in_either_shape(
    shape: str, code: str, nonce: int | None, expected: type
) -> None:
    """api_errors.md ``ErrorBody``: top-level or nested under ``error``, the code retries, stops or is skipped alike."""
    adapter = NovigV3Orders()
    adapter.subscribe_frames()
    (item,) = adapter.parse(_frame(shape, code, nonce))
    assert type(item) is expected
    assert "said" in str(item)
