"""`python -m tests.fault_crawl BATCH[:SINKS] CRAWLER-ARGS...`: the crawler with a fault injected
by the tests, not by production code: the process SIGKILLs itself while writing batch BATCH,
once SINKS of the outputs have it (default: all of them, just before the job state commits it).

It puts a sink that kills at that position among the crawl's outputs; tests/test_chaos.py uses
it to prove nothing is lost or written twice.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import crawler.app
from crawler.cli import main
from crawler.sinks.base import Row, Sink


class KillingSink:
    """A sink whose `at_batch`-th write kills the process, as a power cut would."""

    name = "fault-injection"

    def __init__(self, at_batch: int) -> None:
        self.at_batch = at_batch
        self.batches = 0

    async def open(self, checkpoint: int | None = None) -> None:
        pass

    async def write(self, rows: list[Row], items: list[Row]) -> None:
        self.batches += 1
        if self.batches == self.at_batch:
            os.kill(os.getpid(), signal.SIGKILL)

    def checkpoint(self) -> int | None:
        return None

    async def close(self) -> None:
        pass


def install(spec: str) -> None:
    """Make the crawl's outputs include a KillingSink as `spec` ("N" or "N:S") says."""
    batch, _, written = spec.partition(":")
    real_open_sinks = crawler.app.open_sinks

    def open_sinks(*args: Any, **kwargs: Any) -> list[Sink]:
        sinks = real_open_sinks(*args, **kwargs)
        position = int(written) if written else len(sinks)
        return [*sinks[:position], KillingSink(int(batch)), *sinks[position:]]

    crawler.app.open_sinks = open_sinks  # type: ignore[assignment]


if __name__ == "__main__":
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
