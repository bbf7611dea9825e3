"""Spider-trap checks on a URL's shape: length, path segments, a segment repeated (/a/a/a/a).

Pure functions of one canonical URL, run in the parse workers. The checks that need the whole
crawl's state (depth, per-host budget, query variants of one path) are the frontier's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

TRAP = "trap: "


@dataclass(frozen=True, slots=True)
class TrapLimits:
    """The URL-shape limits; 0 turns a limit off."""

    max_url_length: int = 2048
    max_path_segments: int = 32
    max_segment_repeats: int = 3


_DIGITS = re.compile(r"[0-9]+")


def path_pattern(path: str) -> str:
    """A path with every run of digits replaced by N: /events/2026/3 is /events/N/N."""
    return _DIGITS.sub("N", path)


@dataclass(frozen=True, slots=True)
class PatternChain:
    """Where a page's links come from, for the pattern-chain trap: the page's path, its
    pattern when the path holds digits, the chain that led to it, and the step its own links
    in the pattern take. Checked by the frontier on URLs new to the crawl only, so it costs
    nothing per link the crawl already knows."""

    path: str
    pattern: str | None
    chain: int
    step: int = 1

    @classmethod
    def of(cls, page_url: str, chain: int) -> PatternChain:
        path = path_of(page_url)
        pattern = path_pattern(path)
        return cls(path, pattern if pattern != path else None, chain)

    def weighed(self, new_links: Iterable[str]) -> PatternChain:
        """This page with its step set to how many new links of its own pattern it opens
        beyond the first (at least 1). A month linking the next month, its week view and a day
        view spends two links of the chain, so an infinite space ends after a bounded number
        of pages rather than hops, whatever its fan-out; a "next" link (pagination), or two
        pages ahead as a page window links them, still costs 1."""
        step = sum(1 for link in new_links if self._stays(path_of(link))) - 1
        return self if step <= 1 else replace(self, step=step)

    def chain_of(self, link: str) -> int:
        """The link's chain: `step` more when it stays in the page's path pattern (the same
        path with another query, or the same pattern), else 0. Chains of such links are how
        calendars and other infinite spaces unroll."""
        return self.chain + self.step if self._stays(path_of(link)) else 0

    def _stays(self, link_path: str) -> bool:
        if link_path == self.path:
            return True
        return self.pattern is not None and len(link_path) < 2 * len(self.path) + 8 and \
            path_pattern(link_path) == self.pattern


def chain_trap(chain: int, limit: int) -> str | None:
    """Why a URL with this chain is a trap (--max-pattern-chain), or None."""
    if limit and chain > limit:
        return f"{TRAP}more than --max-pattern-chain {limit} links in a row within one path pattern"
    return None


RECORDED_PREFIX = 256  # characters of an oversize URL kept in its trap record


def record_form(canonical_url: str, fp: int, limits: TrapLimits) -> str:
    """How a trap record names its URL: as it is, or when longer than --max-url-length its
    first RECORDED_PREFIX characters and `#cut-` with its fingerprint (canonical URLs have no
    fragment, so this names no real URL, and the fingerprint keeps it unique). A 100 KB URL
    must not cost 100 KB in every output."""
    if not limits.max_url_length or len(canonical_url) <= limits.max_url_length:
        return canonical_url
    return f"{canonical_url[:RECORDED_PREFIX]}#cut-{fp:016x}"


def path_of(canonical_url: str) -> str:
    """The path of a canonical URL (no query)."""
    start = canonical_url.find("/", canonical_url.find("//") + 2)
    return canonical_url[start:].split("?", 1)[0] if start >= 0 else "/"


def url_trap(canonical_url: str, limits: TrapLimits) -> str | None:
    """Why the URL looks like a spider trap, or None."""
    if limits.max_url_length and len(canonical_url) > limits.max_url_length:
        return f"{TRAP}URL longer than {limits.max_url_length} characters"
    slashes = canonical_url.count("/") - 2  # at most this many path segments
    if slashes <= limits.max_segment_repeats and slashes <= limits.max_path_segments:
        return None
    segments = [s for s in path_of(canonical_url).split("/") if s]
    if limits.max_path_segments and len(segments) > limits.max_path_segments:
        return f"{TRAP}more than {limits.max_path_segments} path segments"
    repeats = limits.max_segment_repeats
    if repeats and len(segments) > repeats and len(set(segments)) < len(segments):
        segment, count = Counter(segments).most_common(1)[0]
        if count > repeats:
            return f"{TRAP}path segment {segment[:40]!r} repeated more than {repeats} times"
    return None
