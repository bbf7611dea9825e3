"""Unit: the compact seen-set is exact across freezes and merges."""

from __future__ import annotations

import random

from crawler.frontier.seen import SeenSet


def test_exact_membership_across_runs() -> None:
    """Every added fingerprint is found, no other one is, through many freezes and merges."""
    rng = random.Random(5)
    seen = SeenSet(hot_limit=100)
    added = [rng.getrandbits(64) for _ in range(5000)]
    assert all(seen.add(fp) for fp in added)
    assert len(seen) == 5000 and len(seen._runs) < 8
    assert all(fp in seen for fp in added)
    assert not any(seen.add(fp) for fp in added[::7])
    others = [rng.getrandbits(64) for _ in range(5000)]
    assert not any(fp in seen for fp in set(others) - set(added))
    assert seen.memory_bytes() < 5000 * 16


def test_extreme_values() -> None:
    """0 and 2**64 - 1 are ordinary fingerprints."""
    seen = SeenSet(hot_limit=1)
    assert seen.add(0) and seen.add(2**64 - 1)
    assert 0 in seen and 2**64 - 1 in seen and 1 not in seen
