"""Making untrusted text safe to show in a terminal."""

from __future__ import annotations

import re

__all__ = ["sanitize"]

# C0 and C1 control characters, DEL included: ESC would let a market name move
# the cursor, recolour or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sanitize(text: str) -> str:
    """`text` with every control character written as a visible escape (``\\x1b``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
