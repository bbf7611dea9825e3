"""The seen-set: exact 64-bit URL fingerprints in little memory. Never a Bloom filter, which
would silently drop new URLs.

Recent fingerprints live in a Python set (fast, ~90 bytes each). When it holds `hot_limit` of
them it is frozen into a sorted array of unsigned 64-bit integers (8 bytes each), and runs of
similar size are merged, so there are O(log n) runs. A lookup that misses the set bisects each
run. Until `hot_limit` URLs have been seen, it costs exactly what a set costs.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterable

MASK = (1 << 64) - 1


def _merge(a: array, b: array) -> array:
    return array("Q", heapq.merge(a, b))


class SeenSet:
    """add(fp) -> bool (True when new) and `fp in seen`, for 64-bit fingerprints."""

    def __init__(self, hot_limit: int = 1 << 20) -> None:
        self.hot_limit = hot_limit
        self._hot: set[int] = set()
        self._runs: list[array] = []  # sorted, largest first
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return (f"<SeenSet {self._count} fingerprints: {len(self._hot)} hot, runs "
                f"{[len(r) for r in self._runs]}>")

    def __contains__(self, fp: int) -> bool:
        if fp in self._hot:
            return True
        for run in self._runs:
            i = bisect_left(run, fp)
            if i < len(run) and run[i] == fp:
                return True
        return False

    def unseen(self, links: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        """The (url, fingerprint) pairs whose fingerprint is not in the set: most of a page's
        links were seen before, and this filters them in one comprehension."""
        hot = self._hot
        if not self._runs:
            return [link for link in links if link[1] not in hot]
        contains = self.__contains__
        return [link for link in links if not contains(link[1])]

    def add(self, fp: int) -> bool:
        """Record a fingerprint; True when it was not there before."""
        fp &= MASK
        if fp in self:
            return False
        self._hot.add(fp)
        self._count += 1
        if len(self._hot) >= self.hot_limit:
            self._freeze()
        return True

    def _freeze(self) -> None:
        run = array("Q", sorted(self._hot))
        self._hot = set()
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            run = _merge(self._runs.pop(), run)
        self._runs.append(run)

    def memory_bytes(self) -> int:
        """Roughly what the fingerprints take (the set's table and ints, the runs' arrays)."""
        return len(self._hot) * 90 + sum(r.itemsize * len(r) for r in self._runs)
