"""One connection's subscriptions on the simulated Kalshi, and the commands that manage them.

The commands and replies of Kalshi's AsyncAPI 2.0.0 (kalshi-sdk 22.4.0, ``root``
channel): ``subscribe`` answers one ``subscribed`` per channel (a channel
already subscribed keeps its ``sid``: subscribe is idempotent, its market
filter is merged); ``unsubscribe`` one ``unsubscribed`` per sid;
``list_subscriptions`` an ``ok`` whose ``msg`` lists them; ``update_subscription``
(``add_markets``/``delete_markets`` on exactly one sid) an ``ok`` with the
market list after the update. Anything else gets an ``error`` with the
document's code and name; a reply carries the command's ``id`` when it had one
(``id`` 0 counts as none), never ``"id": null``.

Data messages go out with the ``sid`` of the subscription that covers them
(channel and market), or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["CHANNELS", "ERRORS", "Session", "Subscription", "error"]

ERRORS = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    18: "Command timeout",
    25: "Subscription buffer overflow",
    27: "Too many requests",
}
"""The codes the simulator can send, with the AsyncAPI's names (6, 16 and 17 are retired)."""

CHANNELS = frozenset(
    {
        "orderbook_delta",
        "ticker",
        "trade",
        "fill",
        "market_positions",
        "market_lifecycle_v2",
        "multivariate_market_lifecycle",
        "communications",
        "order_group_updates",
        "user_orders",
        "cfbenchmarks_value",
        "cfbenchmarks_value_5hz",
        "pyth_value",
    }
)
"""Channels a subscribe may name; only ``fill`` and ``user_orders`` carry simulated data."""

CHANNEL_OF = {"fill": "fill", "user_order": "user_orders"}
"""The channel each data message type belongs to."""


def error(code: int, *, command_id: int | None = None, sid: int | None = None, **extra: Any) -> dict[str, Any]:
    """An ``error`` frame: ``id`` only for a command's error, ``sid`` only for a subscription's."""
    frame: dict[str, Any] = {"type": "error"}
    if command_id:
        frame["id"] = command_id
    if sid is not None:
        frame["sid"] = sid
    frame["msg"] = {"code": code, "msg": ERRORS[code], **extra}
    return frame


@dataclass
class Subscription:
    sid: int
    channel: str
    markets: set[str] | None = None
    """The markets it covers; None for all."""
    seq: int = 0

    def covers(self, market: object) -> bool:
        return self.markets is None or market in self.markets

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class _Refused(Exception):
    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame


class Session:
    """The subscriptions of one connection; :meth:`handle` answers its commands."""

    def __init__(self, *, refuse_subscribe: int | None = None) -> None:
        self.subscriptions: dict[int, Subscription] = {}
        self._refuse_subscribe = refuse_subscribe
        self._last_sid = 0

    def handle(self, raw: str | bytes) -> list[dict[str, Any]]:
        """The replies to one command frame."""
        try:
            command = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [error(1)]
        if not isinstance(command, dict):
            return [error(1)]
        command_id = command.get("id", 0)
        if not isinstance(command_id, int) or isinstance(command_id, bool) or command_id < 0:
            return [error(1)]
        cmd = command.get("cmd")
        if cmd == "list_subscriptions":  # the one command that takes no params
            return self._list(command_id)
        handlers = {"subscribe": self._subscribe, "unsubscribe": self._unsubscribe, "update_subscription": self._update}
        handler = handlers.get(cmd) if isinstance(cmd, str) else None
        if handler is None:
            return [error(5, command_id=command_id)]
        params = command.get("params")
        if not isinstance(params, dict):
            return [error(2, command_id=command_id)]
        try:
            return handler(command_id, params)
        except _Refused as refused:
            return [refused.frame]

    def frame(self, message: dict[str, Any]) -> str | None:
        """`message` as its subscription sends it, or None when nothing subscribed covers it."""
        channel = CHANNEL_OF.get(message["type"])
        market = message["msg"].get("market_ticker", message["msg"].get("ticker"))
        for sub in self.subscriptions.values():
            if sub.channel == channel and sub.covers(market):
                return orjson.dumps({"type": message["type"], "sid": sub.sid, **message}).decode()
        return None

    def end(self, channel: str) -> Subscription | None:
        """End the subscription to `channel` (a terminal channel error); it is returned, or None."""
        for sid, sub in list(self.subscriptions.items()):
            if sub.channel == channel:
                return self.subscriptions.pop(sid)
        return None

    def _subscribe(self, command_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._refuse_subscribe is not None:
            return [error(self._refuse_subscribe, command_id=command_id)]
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            return [error(3, command_id=command_id)]
        markets = _markets(params, command_id, required=False)
        replies: list[dict[str, Any]] = []
        for channel in channels:
            if channel not in CHANNELS:
                replies.append(error(8, command_id=command_id))
                continue
            sub = next((s for s in self.subscriptions.values() if s.channel == channel), None)
            if sub is None:
                self._last_sid += 1
                sub = self.subscriptions[self._last_sid] = Subscription(self._last_sid, channel, markets)
            elif sub.markets is not None:
                sub.markets = None if markets is None else sub.markets | markets
            ack: dict[str, Any] = {"type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}}
            replies.append(_with_id(ack, command_id))
        return replies

    def _unsubscribe(self, command_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        sids = params.get("sids")
        if not isinstance(sids, list) or not sids:
            return [error(4, command_id=command_id)]
        replies: list[dict[str, Any]] = []
        for sid in sids:
            sub = self.subscriptions.pop(sid, None) if isinstance(sid, int) else None
            if sub is None:
                replies.append(error(7, command_id=command_id))
                continue
            gone = {"type": "unsubscribed", "sid": sub.sid, "seq": sub.next_seq()}
            replies.append(_with_id(gone, command_id))
        return replies

    def _list(self, command_id: int) -> list[dict[str, Any]]:
        listing = [{"channel": s.channel, "sid": s.sid} for s in self.subscriptions.values()]
        return [_with_id({"type": "ok", "msg": listing}, command_id)]

    def _update(self, command_id: int, params: dict[str, Any]) -> list[dict[str, Any]]:
        sids = params.get("sids", [params["sid"]] if "sid" in params else [])
        if not isinstance(sids, list) or len(sids) != 1:
            return [error(12, command_id=command_id)]
        sub = self.subscriptions.get(sids[0]) if isinstance(sids[0], int) else None
        if sub is None:
            return [error(7, command_id=command_id)]
        action = params.get("action")
        if action is None:
            return [error(15, command_id=command_id)]
        if action not in ("add_markets", "delete_markets"):
            return [error(13, command_id=command_id)]
        markets = _markets(params, command_id, required=True)
        assert markets is not None
        if action == "add_markets" and sub.markets is not None:
            sub.markets |= markets
        elif action == "delete_markets":
            if sub.markets is None:  # a subscription to every market has no list to take from
                return [error(11, command_id=command_id, market_tickers=sorted(markets))]
            sub.markets -= markets
        ok: dict[str, Any] = {"type": "ok", "sid": sub.sid, "seq": sub.next_seq()}
        if sub.markets is not None:
            ok["msg"] = {"market_tickers": sorted(sub.markets)}
        return [_with_id(ok, command_id)]


def _markets(params: dict[str, Any], command_id: int, *, required: bool) -> set[str] | None:
    """The ``market_ticker``/``market_tickers`` of a command: None for all markets."""
    single, several = params.get("market_ticker"), params.get("market_tickers")
    if single is None and several is None:
        if required:
            raise _Refused(error(14, command_id=command_id))
        return None
    tickers: object = [single] if single is not None else several
    if not isinstance(tickers, list) or not tickers or not all(isinstance(t, str) and t for t in tickers):
        raise _Refused(error(11, command_id=command_id))
    return set(tickers)


def _with_id(frame: dict[str, Any], command_id: int) -> dict[str, Any]:
    return {"id": command_id, **frame} if command_id else frame
