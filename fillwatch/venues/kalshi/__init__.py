"""Kalshi: the adapter (:mod:`.adapter`), its spec (:mod:`.spec`) and its simulator for ``demo`` (:mod:`.demo`)."""

from fillwatch.venues.kalshi.spec import SPEC

__all__ = ["SPEC"]
