"""A 64-bit simhash of a page's text (Charikar): pages whose text is nearly the same get
fingerprints a few bits apart, whatever their URLs; and an index that finds, among the pages
seen, one within N bits of a new one.

The features are the page's distinct text pieces (its text nodes, lowercased and stripped),
each hashed to 64 bits with BLAKE2b: stable across processes and runs, unlike Python's hash();
a CRC is linear, so pieces that differ in one digit got related hashes and near-copies came
out 30 bits apart. Pieces rather than words: a JDK page has about 1,500 distinct words and 170
pieces, and hashing words cost 0.99 ms a page, pieces about 0.4 (every 10th JDK page). A print
view or a session variant of a page shares nearly all its pieces with it. The 64 per-bit votes
are counted without a Python loop per piece: the hashes are packed into one integer, and each
bit position's count is a popcount of that integer masked to the position.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from hashlib import blake2b

MAX_PIECES = 20_000  # distinct text pieces a page's fingerprint takes at most
_MASKS: dict[int, int] = {}


def _lane_mask(count: int) -> int:
    """An integer with bit 0 of each of `count` 64-bit lanes set."""
    mask = _MASKS.get(count)
    if mask is None:
        mask = int.from_bytes(b"\x01\x00\x00\x00\x00\x00\x00\x00" * count, "little")
        if len(_MASKS) < 4096:
            _MASKS[count] = mask
    return mask


def simhash(text: str) -> int | None:
    """The 64-bit simhash of `text`'s pieces, one a line (the text nodes, as
    `node.text(separator="\\n")` gives them); None when there is no text."""
    words = set(map(str.strip, text.lower().splitlines()))
    words.discard("")
    if not words:
        return None
    if len(words) > MAX_PIECES:
        words = set(sorted(words)[:MAX_PIECES])
    packed = b"".join(blake2b(word, digest_size=8).digest() for word in map(str.encode, words))
    hashes = int.from_bytes(packed, "little")
    mask, half = _lane_mask(len(words)), len(words) / 2
    result = 0
    for bit in range(64):
        if (hashes & (mask << bit)).bit_count() > half:
            result |= 1 << bit
    return result


def as_hex(value: int | None) -> str | None:
    """The record's form: 16 hex digits (JSON numbers lose bits past 2**53)."""
    return None if value is None else f"{value:016x}"


@dataclass
class NearDuplicates:
    """Pages seen, by simhash, found again within `distance` bits. The 64 bits are cut into
    distance + 1 blocks: two hashes that close agree on at least one whole block, so only the
    pages sharing a block value are compared. Keeps at most `capacity` pages."""

    distance: int
    capacity: int = 1_000_000
    _blocks: list[dict[int, list[tuple[int, str]]]] = field(default_factory=list)
    _bounds: list[tuple[int, int]] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        parts = self.distance + 1
        edges = [round(64 * n / parts) for n in range(parts + 1)]
        self._bounds = [(low, (1 << (high - low)) - 1)
                        for low, high in itertools.pairwise(edges)]
        self._blocks = [{} for _ in self._bounds]

    def match(self, value: int) -> str | None:
        """The URL of a page seen within `distance` bits of `value`, or None."""
        for (low, mask), block in zip(self._bounds, self._blocks, strict=True):
            for seen, url in block.get(value >> low & mask, ()):
                if (seen ^ value).bit_count() <= self.distance:
                    return url
        return None

    def add(self, value: int, url: str) -> None:
        if self.size >= self.capacity:
            return
        self.size += 1
        for (low, mask), block in zip(self._bounds, self._blocks, strict=True):
            block.setdefault(value >> low & mask, []).append((value, url))
