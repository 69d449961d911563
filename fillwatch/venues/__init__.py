"""Venue adapters: one Sans-I/O module per venue, named after it."""
