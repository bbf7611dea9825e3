"""Read a seeds file: one URL per line, blank lines and comments skipped (a line starting with
`#`, or whitespace then `#` after a URL; a `#` inside a URL is its fragment), bad lines reported.

A seed may carry credentials (`https://user:pass@intranet.example/`): they are kept apart, by
origin, and sent as HTTP Basic auth with every request to that origin (scheme, host and port)
and nowhere else; URLs and records never hold them. Credentials written in links found on pages
are dropped (crawler.urls.canonical)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from crawler.errors import SeedsError
from crawler.urls import DEFAULT_RULES, BadURL, UrlRules, canonical, credentials_of, origin

_TRAILING_COMMENT = re.compile(r"\s+#.*$")  # "https://a.com/ # docs": whitespace, then #


@dataclass(slots=True)
class Seeds:
    """The canonical seed URLs, and one message per line that could not be used."""

    urls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)  # origin -> user, pw


def parse_seeds(data: bytes, name: str, rules: UrlRules = DEFAULT_RULES) -> Seeds:
    """Seeds from the bytes of a seeds file called `name` (used in the messages)."""
    seeds = Seeds()
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff").strip()
        except UnicodeDecodeError:
            seeds.problems.append(f"{name}:{number}: not valid UTF-8")
            continue
        line = _TRAILING_COMMENT.sub("", line)
        if not line or line.startswith("#"):
            continue
        try:
            url = canonical(line, rules=rules)
        except BadURL as exc:
            seeds.problems.append(f"{name}:{number}: {exc}")
            continue
        seeds.urls.append(url)
        found = credentials_of(line)
        if found is not None:
            seeds.credentials[origin(url)] = found
    if not seeds.urls:
        detail = f" ({len(seeds.problems)} bad lines)" if seeds.problems else ""
        raise SeedsError(f"seeds file {name} has no usable URL{detail}")
    return seeds


def read_seeds(path: str, rules: UrlRules = DEFAULT_RULES) -> Seeds:
    """Seeds from a file path, or from standard input when `path` is "-"."""
    if path == "-":
        return parse_seeds(sys.stdin.buffer.read(), "<stdin>", rules)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SeedsError(f"seeds file not found: {path}") from None
    except IsADirectoryError:
        raise SeedsError(f"seeds file is a directory: {path}") from None
    except OSError as exc:
        raise SeedsError(f"cannot read seeds file {path}: {exc.strerror or exc}") from None
    return parse_seeds(data, path, rules)
