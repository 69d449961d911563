"""The lines a ``fillwatch novig`` run printed, checked against what the simulated venue made."""

from __future__ import annotations

from fillwatch.sim.novig import NovigSim
from fillwatch.sim.novig_feed import Emitted

__all__ = ["as_the_venue_implies", "emitted_of"]

Line = tuple[object, ...]


def emitted_of(events: list[dict[str, object]]) -> list[Line]:
    """What the simulator records for each line: kind, id, order id, qty, currency, reason."""
    return [(e["kind"], e["id"], e["order_id"], e["qty"], e["currency"], e["reason"]) for e in events]


def as_the_venue_implies(sim: NovigSim, events: list[dict[str, object]]) -> int:
    """Check every printed line against the venue's record; how many of the lines it counts on came out.

    The cancels of a CLOSE come from orders/all, which may show orders placed
    since the last read: the venue does not count on those ("unseen"), but they
    must be right. That read may also teach the currency of an order whose fill
    the venue made before it (and expects without one). And as the stream waits
    for that read, the read may show an order ended whose cancel event or CLOSE
    tick is still on its way: its cancel comes from the read ("history"), ahead
    of frames the venue sent before it, once, and without the reason the CLOSE
    tick would have given. Live lines come in the venue's order, none left out.
    """
    unseen: dict[Line, Emitted] = {e[:3]: e for e in sim.feed.unseen_closes}
    made: dict[Line, tuple[int, Emitted]] = {e[:3]: (n, e) for n, e in enumerate(sim.emitted)}
    places: list[int] = []
    live: list[int] = []
    for line, event in zip(emitted_of(events), events, strict=True):
        n, want = made[line[:3]] if line[:3] not in unseen else (None, unseen[line[:3]])  # KeyError: not made
        assert line == (*want[:4], _currency(want, line, sim), _reason(want, event)), event
        places += [] if n is None else [n]
        live += [n] if n is not None and event["source"] == "live" else []
    assert len({line[:3] for line in emitted_of(events)}) == len(events)  # each once
    assert live == sorted(live)
    assert set(range(live[-1] + 1)) <= set(places)
    return len(places)


def _currency(want: Emitted, line: Line, sim: NovigSim) -> object:
    """The currency a line may show: the venue's expectation, or the order's once a read taught it, or none
    while the read that shows the order may still be on its way (`want.unsure`)."""
    if want.unsure and line[4] is None:
        return None
    return line[4] if want.currency is None and line[4] == sim.feed.orders[str(line[2])].currency else want.currency


def _reason(want: Emitted, event: dict[str, object]) -> object:
    """The reason a line may show: a cancel read before its CLOSE tick cannot know that the market closed."""
    early = event["source"] == "history" and want.reason == "market_closed"
    return event["reason"] if early and event["reason"] is None else want.reason
