"""Transitional: the names the CLI imported from here, until its call sites import them from
:mod:`fillwatch.render.views` (which builds the views a :class:`~fillwatch.session.session.Session`
needs; ``session`` itself does not import ``render``). Delete at merge (issue 13).
"""

from __future__ import annotations

from fillwatch.render.views import output_sink, printed_to, run_to_end, tail

__all__ = ["output_sink", "printed_to", "run_to_end", "tail"]
