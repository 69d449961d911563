"""Secrets that cannot leak by accident: redacted in every ``repr`` and ``str``.

A client secret or a Bearer token lives in a :class:`Secret` from the moment
it is read until the one place that must send it calls :meth:`Secret.reveal`.
Containers that carry a revealed secret on its way to the network (an
``Authorization`` header, a token request body) are :class:`RedactedDict`\\ s,
so that a debugger, a log line or a traceback shows ``{…redacted…}`` instead.
"""

from __future__ import annotations

import hmac
from typing import Any

__all__ = ["RedactedDict", "Secret"]


class Secret:
    """A secret string whose ``repr`` and ``str`` are ``[secure]``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('[secure]')"

    def __str__(self) -> str:
        return "[secure]"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


class RedactedDict(dict[str, Any]):
    """A dict that carries a secret to the network and shows nothing of it."""

    def __repr__(self) -> str:
        return "{…redacted…}"

    __str__ = __repr__
