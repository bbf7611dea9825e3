"""Strings from the network, made safe for every output: valid UTF-8 and no NUL.

aiohttp decodes header bytes that are not UTF-8 with `surrogateescape`, so a byte such as 0xE9
reaches us as the lone surrogate U+DCE9, which no JSON encoder, SQLite or PostgreSQL accepts.
PostgreSQL refuses NUL in text and jsonb as well. These helpers repair such strings: bytes that
are not UTF-8 become U+FFFD, NUL becomes U+FFFD, everything else is kept.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"


def is_safe(text: str) -> bool:
    """True when `text` encodes as UTF-8 and holds no NUL (the common case costs one check)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_bytes(text: str) -> bytes:
    """The bytes a surrogate-escaped string came from; other lone surrogates become '?'."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def safe_text(text: str) -> str:
    """`text` with bytes that were not UTF-8, lone surrogates and NUL replaced by U+FFFD."""
    if is_safe(text):
        return text
    repaired = raw_bytes(text).decode("utf-8", "replace")
    return repaired.replace("\x00", REPLACEMENT)


def safe_optional(text: str | None) -> str | None:
    return None if text is None else safe_text(text)


def exact_or_none(text: str | None) -> str | None:
    """A header value we may need to send back byte for byte (ETag, Last-Modified): kept when
    it is clean, None when repairing it would change it (a changed validator never matches)."""
    return text if text is None or is_safe(text) else None


def url_from_header(text: str) -> str:
    """A Location header as a URL: bytes that are not UTF-8 percent-encoded, as browsers send
    them (0xE9 -> %E9); valid UTF-8 is left to the URL parser, which encodes it the same way."""
    if is_safe(text):
        return text
    raw = raw_bytes(text).replace(b"\x00", b"")
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def safe_value(value: Any) -> Any:
    """`value` with every string in it (dict keys included) made safe; lists, tuples and dicts
    are copied, other values kept."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list | tuple):
        return [safe_value(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(str(key)): safe_value(item) for key, item in value.items()}
    return value
