"""A simulated venue on loopback: what ``fillwatch demo`` and the tests talk to.

It speaks the venue's real protocol (signature checks included) and can be
scripted to misbehave: reject upgrades, drop the connection, go silent, send
garbage. Nothing here is used by ``fillwatch kalshi`` against a real venue.
"""
