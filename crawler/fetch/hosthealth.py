"""Hosts that stop answering: consecutive timeouts and connection failures, counted per host.

A host that accepts connections and never answers would cost every one of its URLs its full
timeout and retries while holding fetch slots that healthy hosts need (16 such hosts held all 32
slots; one with 2,000 URLs would take about 26 hours). So, as Heritrix does, a run of failures
pauses the host; as many again after that give it up for the crawl, and each of its remaining
URLs gets a record at once. Any HTTP answer, whatever its status, clears the count.
"""

from __future__ import annotations

from enum import Enum

TRANSPORT_FAILURES = ("timeout", "connection failed", "server disconnected")


class Verdict(Enum):
    PAUSE = "pause"
    GIVE_UP = "give up"


class HostHealth:
    """Consecutive transport failures per host (origin); only failing hosts are kept."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold  # 0: never pause or give up
        self._failures: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<HostHealth threshold={self.threshold} failing={len(self._failures)}>"

    @staticmethod
    def is_failure(error: str | None) -> bool:
        """True for a fetch that got no answer at all from the host."""
        return error is not None and error.startswith(TRANSPORT_FAILURES)

    def record(self, origin: str, error: str | None) -> Verdict | None:
        """Count one fetch of `origin`; PAUSE at `threshold` failures in a row, GIVE_UP at
        twice that."""
        if not self.threshold:
            return None
        if not self.is_failure(error):
            self._failures.pop(origin, None)
            return None
        failures = self._failures.get(origin, 0) + 1
        self._failures[origin] = failures
        if failures == self.threshold:
            return Verdict.PAUSE
        if failures >= 2 * self.threshold:
            del self._failures[origin]
            return Verdict.GIVE_UP
        return None
