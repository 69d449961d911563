"""Novig: the adapter (:mod:`.adapter`: parsing in :mod:`.frames`, your orders in :mod:`.orders`),
its spec (:mod:`.spec`) and its simulator for ``demo`` (:mod:`.demo`)."""

from fillwatch.venues.novig.spec import SPEC

__all__ = ["SPEC"]
