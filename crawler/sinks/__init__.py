"""Result sinks: where records go. `open_sinks` picks them by suffix or scheme."""

from crawler.sinks.base import Sink, SinkError, open_sinks

__all__ = ["Sink", "SinkError", "open_sinks"]
