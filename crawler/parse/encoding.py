"""Which encoding an HTML page's bytes are in: a byte order mark, the Content-Type's charset,
a <meta charset>, then detection (charset_normalizer), as browsers decide."""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
DETECT_BYTES = 64 * 1024


def _known_codec(name: bytes | str) -> str | None:
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
    try:
        return codecs.lookup(text.strip(" \"'")).name
    except LookupError:
        return None


def sniff_encoding(body: bytes, content_type: str | None) -> str:
    """The page's encoding: byte order mark, then the header, then a <meta>, then detection."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type and "charset=" in content_type.lower():
        declared = _known_codec(content_type.lower().split("charset=", 1)[1].split(";", 1)[0])
        if declared:
            return declared
    match = _META_CHARSET.search(body, 0, 4096)
    if match and (declared := _known_codec(match.group(1))):
        return "utf-8" if declared.startswith("utf-16") else declared  # a <meta> can't be UTF-16
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes  # 2.6 MiB: loaded by the first such page

        best = from_bytes(body[:DETECT_BYTES]).best()
        return (best and _known_codec(best.encoding)) or "cp1252"
