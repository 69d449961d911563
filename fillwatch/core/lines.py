"""Reading an event line back: the inverse of :func:`fillwatch.render.jsonl.record`.

``fillwatch replay`` of an ``--output`` file, and a run that reads back the last lines
of its ``--output`` after ``kill -9``, decode event lines; this lives in ``core`` so that
``session`` reads them without importing ``render`` (which writes them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from fillwatch.core.events import Cancel, Event, Fill

__all__ = ["parse_record"]


def _decimal(value: object, key: str, *, optional: bool = False) -> Decimal | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} is not a number")
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _text(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key)
    if isinstance(value, str):
        return value
    raise ValueError(f"{key} is not a string")


def _text_or_none(fields: dict[str, Any], key: str) -> str | None:
    return None if fields.get(key) is None else _text(fields, key)


def _flag(fields: dict[str, Any], key: str) -> bool | None:
    value = fields.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{key} is not a boolean")


def parse_record(fields: dict[str, Any]) -> Event:
    """The event an event line describes: the inverse of :func:`fillwatch.render.jsonl.record`.

    A ``"raw"`` value, if any, is kept (as compact JSON) for ``--raw``.

    Raises:
        ValueError: if a key is missing or has the wrong type.
    """
    kind = fields.get("kind")
    ts_text = _text(fields, "ts")
    ts = datetime.fromisoformat(ts_text)
    if ts.tzinfo is None:
        raise ValueError("ts has no time zone")
    source = fields.get("source")
    if source not in ("live", "history"):
        raise ValueError("source is neither live nor history")
    raw = fields.get("raw")
    common: dict[str, Any] = {
        "venue": _text(fields, "venue"),
        "id": _text(fields, "id"),
        "order_id": _text(fields, "order_id"),
        "market": _text(fields, "market"),
        "side": _text(fields, "side"),
        "action": _text_or_none(fields, "action"),
        "price": _decimal(fields.get("price"), "price"),
        "qty": _decimal(fields.get("qty"), "qty"),
        "ts": ts.astimezone(UTC),
        "currency": _text_or_none(fields, "currency"),
        "source": source,
        "account": _text_or_none(fields, "account"),
        "raw": None if raw is None else orjson.dumps(raw),
    }
    if kind == "fill":
        return Fill(
            **common,
            taker=_flag(fields, "taker"),
            fee=_decimal(fields.get("fee"), "fee", optional=True),
            position=_decimal(fields.get("position"), "position", optional=True),
            wash=_flag(fields, "wash"),
        )
    if kind == "cancel":
        return Cancel(
            **common,
            original_qty=_decimal(fields.get("original_qty"), "original_qty", optional=True),
            reason=_text_or_none(fields, "reason"),
        )
    raise ValueError("kind is neither fill nor cancel")
