"""The nesting guard: cut a page where its elements nest deeper than a limit, before lexbor sees it.

lexbor has no depth cap, and many of its steps walk the stack of open elements, so a page of
64,000 nested <div>s takes it seconds to minutes. Browsers stop nesting at 512.

The guard reads the page as an HTML tokenizer does, in time linear in its length: comments,
<script>, <style>, the other raw-text elements and inline <svg>/<math> are skipped whole, void
elements (<br>, <img>...) and ones the parser closes by itself (<p>, <li>, <td>, <a>...) do not
nest. A first bound needs no Python loop: the page reduced to its open and close marks, with
innermost pairs removed pass by pass (C string operations). Only a page that bound cannot clear
is walked tag by tag.
"""

from __future__ import annotations

import re

MAX_NESTING = 1024  # browsers stop nesting at 512
# lexbor's worst case is about (tags / 2)^2 steps of ~5 ns: 20 ms for 4,000 "<" (parsed anywhere),
# 0.3 s for 16,000 (parsed only in the pool, under its deadline); above that the guard runs.
RISKY_ABOVE = 4000
CHECK_ABOVE = 16000
BOUND_PASSES = 64  # real pages nest 20-60 deep; a page needing more passes is walked exactly

SKIPPED = ("script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title",
           "svg", "math")  # raw text, and foreign content (its depth is not HTML's)
VOID = ("area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image",
        "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr")
FLAT = frozenset((*VOID, "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
                  "thead", "tbody", "tfoot", "caption", "colgroup", "rp", "rt", "rb", "rtc",
                  "a", "nobr", "button", "form", "html", "head", "body"))  # never nest
_END = rb"(?=[\s/>]|\Z)"


def _trie(words: list[str]) -> str:
    """A regex alternation of `words` factored by their first letters, so a name that does not
    match fails at once instead of being tried against every word."""
    if "" in words:
        rest = [w for w in words if w]
        return f"(?:{_trie(rest)})?" if rest else ""
    heads: dict[str, list[str]] = {}
    for word in words:
        heads.setdefault(word[0], []).append(word[1:])
    parts = [re.escape(head) + _trie(tails) for head, tails in sorted(heads.items())]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


_SKIP = [
    rb"!--(?:-?>|.*?(?:--!?>|\Z))",  # a comment, to the end of the page if unclosed
    rb"[!?][^>]*+(?:>|\Z)",  # doctype, processing instruction, bogus comment
    rb"/(?![a-z])[^>]*+(?:>|\Z)",  # </ 1> and </>: bogus, ignored
    rb"(?=%s%s)(?:%s)" % (_trie(list(SKIPPED)).encode(), _END, b"|".join(
        rb"%s%s[^>]*+(?:>.*?(?:</%s%s|\Z)|\Z)" % (n.encode(), _END, n.encode(), _END)
        for n in SKIPPED)),
    rb"plaintext.*",  # the rest of the page is text
]
_SKIP_ANY_CASE = rb"(?i:" + rb"|".join(_SKIP) + rb")"
_UNCLOSED = rb"[a-zA-Z][^>]*+\Z"  # a tag left open to the end of the page: the rest is inside it
# Void elements in lower or upper case (matching names without IGNORECASE is three times faster;
# a <Br> in mixed case is merely counted as nesting, which errs on the safe side).
_VOID_NAMES = _trie([v for n in VOID for v in (n, n.upper())]).encode()
# Everything that cannot nest, removed in one pass of literal substitution (no Python per match).
_STRIP = re.compile(rb"<(?:%s|/?(?:%s)%s[^>]*+>|%s)" % (_SKIP_ANY_CASE, _VOID_NAMES, _END,
                                                         _UNCLOSED), re.DOTALL)
# Every tag, for the exact walk: (slash, name), or ("", "") for what is skipped.
_TAG = re.compile(rb"<(?:%s|(/?)([a-zA-Z][^\s/>]*+)[^>]*+>|%s)" % (_SKIP_ANY_CASE, _UNCLOSED),
                  re.DOTALL)
_NOT_MARKS = bytes(b for b in range(256) if b not in (0x3C, 0x01))  # keep "<" and \x01


def may_parse_slowly(body: bytes) -> bool:
    """True when lexbor's worst case on the page is worth a deadline: one byte count."""
    return body.count(b"<") > RISKY_ABOVE


def may_nest_deeply(body: bytes) -> bool:
    """False when the page has too few tags to be worth checking: one byte count."""
    return body.count(b"<") > CHECK_ABOVE


def depth_bound(page: bytes, limit: int) -> int:
    """An upper bound on how deep the page nests, or limit + 1 when it may be deeper.

    Elements the parser closes by itself count as nesting here; on real pages they are closed,
    so their pairs cancel out. Each pass removes the innermost open/close pairs: the passes
    needed plus what stays open bound the depth."""
    marks = _STRIP.sub(b"", page).replace(b"</", b"\x01").translate(None, _NOT_MARKS)
    opens = marks.count(b"<")
    if opens <= limit:
        return opens
    for passes in range(BOUND_PASSES):
        shorter = marks.replace(b"<\x01", b"")
        if len(shorter) == len(marks):
            return passes + marks.count(b"<")
        marks = shorter
    return limit + 1


def first_too_deep(page: bytes, limit: int) -> int | None:
    """The offset of the tag that takes the depth past `limit` (exact walk), or None."""
    depth = 0
    for match in _TAG.finditer(page):
        slash, name = match.groups(b"")
        if not name or name.lower().decode("latin-1") in FLAT:
            continue
        if slash:
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > limit:
            return match.start()
    return None


def limit_nesting(page: bytes, limit: int = MAX_NESTING) -> tuple[bytes, bool]:
    """The page (bytes in an ASCII-compatible encoding) cut before the tag that nests deeper
    than `limit`, and whether it was cut."""
    if depth_bound(page, limit) <= limit:
        return page, False
    cut = first_too_deep(page, limit)
    return (page, False) if cut is None else (page[:cut], True)
