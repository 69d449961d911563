"""fillwatch: tail your own fills and cancels on Kalshi and Novig."""

__version__ = "0.1.0"
