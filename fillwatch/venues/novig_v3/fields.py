"""Reading the fields of Novig v3's frames and REST rows: pure checks shared by the stream and history."""

from __future__ import annotations

from decimal import Decimal

from fillwatch.venues.base import shown, to_decimal

__all__ = ["count", "price", "text"]

_MAX_INT = 2**63 - 1


def text(value: object) -> str:
    """A required, non-empty string field."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def count(value: object, minimum: int) -> int:
    """A whole number of contracts (or a ``seq``): a JSON integer, not a bool or a float."""
    if type(value) is not int or not minimum <= value <= _MAX_INT:
        raise ValueError(f"expected an integer >= {minimum}, got {shown(value)}")
    return value


def price(value: object) -> Decimal:
    """A 0–1 probability from its decimal string (1–3 decimals seen; any exact form accepted)."""
    price = to_decimal(value)
    if not price.is_finite() or not 0 <= price <= 1:
        raise ValueError(f"price out of range: {shown(value)}")
    return price
