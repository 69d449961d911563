"""The simulated Kalshi's markets: what ``GET /markets/{ticker}`` says of each, and its display name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MARKETS", "MARKET_INFO", "TITLES", "Market", "market_body"]


@dataclass(frozen=True)
class Market:
    """What ``GET /markets/{ticker}`` says of a market besides its prices."""

    title: str
    yes_sub_title: str
    no_sub_title: str
    exchange_index: int


MARKET_INFO = {
    "KXHIGHNY-26NOV21-B53.5": Market("Highest temperature in NYC on Nov 21, 2026?", "53° to 54°", "53° to 54°", 0),
    "KXFED-26DEC-T4.25": Market(
        "Fed funds upper bound above 4.25% after the December 2026 meeting?", "4.25%", "4.25%", 1
    ),
    "KXBTCD-26NOV2117-T98499.99": Market(
        "Bitcoin price on Nov 21, 2026 at 5pm EST?", "$98,500 or above", "$98,500 or above", 0
    ),
    "KXNBAGAME-26NOV21BOSLAL-BOS": Market("Boston vs Los Angeles L (Nov 21): Boston wins?", "Boston", "Boston", 1),
    "KXCPIYOY-26NOV-T2.9": Market("CPI year-over-year in November 2026?", "Above 2.9%", "Above 2.9%", 0),
}

TITLES = {
    "KXHIGHNY-26NOV21-B53.5": "Highest temperature in NYC on Nov 21, 2026? 53° to 54°",
    "KXFED-26DEC-T4.25": "Fed funds upper bound above 4.25% after the December 2026 meeting?",
    "KXBTCD-26NOV2117-T98499.99": "Bitcoin price on Nov 21, 2026 at 5pm EST? $98,500 or above",
    "KXNBAGAME-26NOV21BOSLAL-BOS": "Boston vs Los Angeles L (Nov 21): Boston wins?",
    "KXCPIYOY-26NOV-T2.9": "CPI year-over-year in November 2026? Above 2.9%",
}
"""The name a trader should see for each market: its ``title``, with its ``yes_sub_title``
where the title does not already say it (two markets' titles do, three do not)."""

MARKETS = tuple(TITLES)


def market_body(ticker: str) -> dict[str, Any]:
    """The ``market`` of ``GET /markets/{ticker}`` (OpenAPI 3.34.0 ``Market``: every required field)."""
    info = MARKET_INFO[ticker]
    return {
        "ticker": ticker,
        "event_ticker": ticker.rsplit("-", 1)[0],
        "market_type": "binary",
        "title": info.title,
        "subtitle": "",
        "yes_sub_title": info.yes_sub_title,
        "no_sub_title": info.no_sub_title,
        "created_time": "2026-11-01T14:00:00Z",
        "updated_time": "2026-11-01T14:00:00Z",
        "open_time": "2026-11-01T14:00:00Z",
        "close_time": "2026-12-31T23:59:00Z",
        "latest_expiration_time": "2027-01-07T23:59:00Z",
        "settlement_timer_seconds": 300,
        "status": "active",
        "notional_value_dollars": "1.0000",
        "yes_bid_dollars": "0.4800",
        "yes_ask_dollars": "0.5100",
        "no_bid_dollars": "0.4900",
        "no_ask_dollars": "0.5200",
        "yes_bid_size_fp": "120.00",
        "yes_ask_size_fp": "75.00",
        "last_price_dollars": "0.5000",
        "previous_yes_bid_dollars": "0.4500",
        "previous_yes_ask_dollars": "0.4900",
        "previous_price_dollars": "0.4700",
        "volume_fp": "15230.00",
        "volume_24h_fp": "2210.00",
        "open_interest_fp": "8400.00",
        "result": "",
        "can_close_early": True,
        "expiration_value": "",
        "rules_primary": f"If the outcome is {info.yes_sub_title}, the market resolves to Yes.",
        "rules_secondary": "",
        "price_level_structure": "deci_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
        "settlement_bounds_type": "default",
        "exchange_index": info.exchange_index,
        # Dropped from the document in 3.31.0, still required by kalshi-sdk 22.4.0's Market model.
        "liquidity_dollars": "0.0000",
    }
