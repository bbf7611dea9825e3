"""Content-Encoding layers aiohttp leaves on a body: stacked codings (`gzip, gzip`, or two
Content-Encoding lines). aiohttp decodes one known coding at most; the others are decoded here,
each bounded by the body cap, so a stacked bomb costs no more memory than a plain one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
from multidict import CIMultiDictProxy

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
except ImportError:
    from backports import zstd

AIOHTTP_DECODES = frozenset({"gzip", "deflate", "br", "zstd"})  # one, named alone


class Undecodable(ValueError):
    """A layer the header names could not be decoded; the message says which."""


def codings(headers: CIMultiDictProxy[str]) -> list[str]:
    """The codings in the order they were applied (identity left out), from every line."""
    found = []
    for value in headers.getall("Content-Encoding", ()):
        found += [c.strip().lower() for c in value.split(",") if c.strip()]
    return [c for c in found if c != "identity"]


def left_by_aiohttp(headers: CIMultiDictProxy[str]) -> list[str]:
    """The codings still on the body aiohttp hands us, outermost last. aiohttp decodes the
    first header line's value when it is exactly one coding it knows."""
    applied = codings(headers)
    first = headers.get("Content-Encoding", "").strip().lower()
    if applied and first in AIOHTTP_DECODES:
        applied = applied[:-1]
    return applied


def _zlib(wbits: int) -> Callable[[bytes, int], tuple[bytes, bool]]:
    def decode(data: bytes, cap: int) -> tuple[bytes, bool]:
        unpacker = zlib.decompressobj(wbits)
        out = unpacker.decompress(data, cap)
        return out, bool(unpacker.unconsumed_tail)
    return decode


def _brotli(data: bytes, cap: int) -> tuple[bytes, bool]:
    unpacker = brotli.Decompressor()
    out = unpacker.process(data, output_buffer_limit=cap)
    return out[:cap], len(out) > cap or not unpacker.can_accept_more_data()


def _zstd(data: bytes, cap: int) -> tuple[bytes, bool]:
    unpacker = zstd.ZstdDecompressor()
    out = unpacker.decompress(data, max_length=cap)
    return out, not unpacker.needs_input and not unpacker.eof


_DECODERS = {"gzip": _zlib(31), "x-gzip": _zlib(31), "deflate": _zlib(47), "br": _brotli,
             "zstd": _zstd}


def decode_layers(body: bytes, layers: list[str], cap: int) -> tuple[bytes, bool]:
    """`body` with `layers` (outermost last) decoded, at most `cap` bytes, and whether the cap
    cut it. Codings we do not know are left as they are; a layer that fails is Undecodable."""
    truncated = False
    for coding in reversed(layers):
        decode = _DECODERS.get(coding)
        if decode is None:
            break
        try:
            body, cut = decode(body, cap)
        except (zlib.error, brotli.error, zstd.ZstdError) as exc:
            raise Undecodable(f"undecodable body: Content-Encoding {coding} ({exc})") from None
        truncated = truncated or cut
    return body, truncated
