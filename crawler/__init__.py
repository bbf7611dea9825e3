"""An asyncio web crawler: a polite frontier, one shared HTTP session, parsing in a process pool."""

__version__ = "0.1.0"
