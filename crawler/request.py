"""A URL the frontier hands out, with where it came from and what happened to it so far."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Request:
    """A URL to fetch: its depth, its referrer, and the attempts made on it."""

    url: str
    depth: int
    referrer: str | None = None
    redirects: int = 0  # redirect hops that led to this URL
    attempts: int = 0  # fetch attempts made so far
    robots_waits: int = 0  # times it waited for an unreachable robots.txt
