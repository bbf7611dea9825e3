"""How long a shared service (Redis, PostgreSQL) has been unreachable, and how to wait it out:
jittered, doubling pauses between tries, up to a limit. Every call that fails while the outage
lasts shares it, so it is waited out (and logged) once, not once per call in flight."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable


class Outage:
    """`began()` on a connection failure, `pause(attempt)` between tries, `over_limit()` to give
    up, `ended()` on the next success."""

    def __init__(self, limit: float, first_pause: float, longest_pause: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.first_pause = first_pause
        self.longest_pause = longest_pause
        self._clock = clock
        self.since: float | None = None  # when the service stopped answering, while it does

    def began(self) -> bool:
        """Note a failure; True when it starts an outage (the moment to say so)."""
        if self.since is not None:
            return False
        self.since = self._clock()
        return True

    def over_limit(self) -> bool:
        """True once the outage has lasted `limit` seconds: time to give up."""
        return self.since is not None and self._clock() - self.since >= self.limit

    async def pause(self, attempt: int) -> None:
        """Sleep before try `attempt + 1`: first_pause doubling up to longest_pause, jittered."""
        pause = min(self.first_pause * 2 ** attempt, self.longest_pause)
        await asyncio.sleep(pause * random.uniform(0.5, 1.0))

    def ended(self) -> float | None:
        """Note a success; how long the outage lasted, if there was one."""
        if self.since is None:
            return None
        lasted, self.since = self._clock() - self.since, None
        return lasted
