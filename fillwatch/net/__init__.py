"""The one place that talks to the network (STYLE §1.2).

``stream`` owns the WebSocket client. Library exceptions are translated into
:mod:`fillwatch.core.errors` here and nowhere else.
"""
