"""The service's kept jobs in the order they were made, and by state, in memory: a page of
GET /jobs, the oldest job a new one may replace and the supervisor's queued jobs come from
here at a cost that grows with what is asked for, not with how many jobs are kept."""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator


def _discard(seqs: list[int], seq: int) -> None:
    at = bisect_left(seqs, seq)
    if at < len(seqs) and seqs[at] == seq:
        del seqs[at]


def _from(seqs: list[int], start: int | None, newest: bool) -> Iterator[int]:
    """`seqs` (ascending) after `start`: upwards, or downwards with `newest`."""
    if newest:
        top = len(seqs) if start is None else bisect_left(seqs, start)
        return (seqs[at] for at in range(top - 1, -1, -1))
    bottom = 0 if start is None else bisect_left(seqs, start + 1)
    return (seqs[at] for at in range(bottom, len(seqs)))


class JobIndex:
    """Job ids by the order they were added (a sequence number each) and by state."""

    def __init__(self, states: Iterable[str]) -> None:
        self._next = 0
        self._seq: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        self._order: list[int] = []  # every job's sequence number, ascending
        self._state: dict[str, str] = {}
        self._by_state: dict[str, list[int]] = {state: [] for state in states}

    def __len__(self) -> int:
        return len(self._seq)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._seq

    def add(self, job_id: str, state: str) -> None:
        """A job newer than every other."""
        seq, self._next = self._next, self._next + 1
        self._seq[job_id], self._ids[seq] = seq, job_id
        self._order.append(seq)
        self._state[job_id] = state
        self._by_state[state].append(seq)

    def set_state(self, job_id: str, state: str) -> None:
        old = self._state.get(job_id)
        if old is None or old == state:
            return
        seq = self._seq[job_id]
        _discard(self._by_state[old], seq)
        insort(self._by_state[state], seq)
        self._state[job_id] = state

    def remove(self, job_id: str) -> None:
        seq = self._seq.pop(job_id, None)
        if seq is None:
            return
        del self._ids[seq]
        _discard(self._order, seq)
        _discard(self._by_state[self._state.pop(job_id)], seq)

    def ids(self, states: Iterable[str] = (), after: str | None = None,
            newest: bool = False) -> Iterator[str]:
        """Job ids oldest first (newest first with `newest`), only those in `states` when any
        are given, after the job `after` (nothing when that job is not kept)."""
        start = None
        if after is not None:
            start = self._seq.get(after)
            if start is None:
                return iter(())
        lists = [self._by_state[state] for state in states] or [self._order]
        runs = [_from(seqs, start, newest) for seqs in lists]
        merged = runs[0] if len(runs) == 1 else heapq.merge(*runs, reverse=newest)
        return (self._ids[seq] for seq in merged)
