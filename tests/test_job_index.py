"""The service's in-memory job index: pages in creation order, by state, after a job, newest
first, and as jobs change state and are removed."""

from __future__ import annotations

import random

from crawler.service.job_index import JobIndex
from crawler.service.jobs import STATES


def test_the_index_pages_as_a_walk_over_every_job_would() -> None:
    """Random adds, state changes and removals; every query agrees with a plain list walk."""
    chance = random.Random(7)
    index = JobIndex(STATES)
    jobs: list[str] = []  # oldest first
    states: dict[str, str] = {}
    for step in range(3000):
        roll = chance.random()
        if roll < 0.5 or not jobs:
            job_id = f"{step:012x}"
            state = chance.choice(STATES)
            index.add(job_id, state)
            jobs.append(job_id)
            states[job_id] = state
        elif roll < 0.8:
            job_id = chance.choice(jobs)
            states[job_id] = chance.choice(STATES)
            index.set_state(job_id, states[job_id])
        else:
            job_id = chance.choice(jobs)
            jobs.remove(job_id)
            del states[job_id]
            index.remove(job_id)
        if step % 50:
            continue
        assert len(index) == len(jobs)
        wanted = tuple(chance.sample(STATES, chance.randint(0, 3)))
        after = chance.choice([*jobs, None, "gone"]) if jobs else None
        for newest in (False, True):
            walk = list(reversed(jobs)) if newest else list(jobs)
            if after is not None:
                walk = walk[walk.index(after) + 1:] if after in walk else []
            walk = [job for job in walk if not wanted or states[job] in wanted]
            assert list(index.ids(wanted, after, newest)) == walk


def test_removed_and_unknown_jobs() -> None:
    index = JobIndex(STATES)
    index.add("a", "queued")
    index.add("b", "queued")
    index.remove("a")
    index.remove("a")  # twice: nothing
    index.set_state("a", "running")  # a removed job: nothing
    assert "a" not in index and "b" in index
    assert list(index.ids(("queued",))) == ["b"]
    assert list(index.ids(after="a")) == []
