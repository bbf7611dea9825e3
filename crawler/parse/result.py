"""What the parse workers get besides the page (ParseConfig, PageMeta) and what they give back
(ParseResult): plain, picklable data that crosses the process boundary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.frontier.scope import Scope
from crawler.frontier.traps import TrapLimits
from crawler.urls import DEFAULT_RULES, UrlRules

if TYPE_CHECKING:  # imported where used: a worker that extracts nothing never loads them
    from crawler.extract.page import Extractor
    from crawler.extract.rules import Rules

DEFAULT_TRAPS = TrapLimits()


@dataclass(frozen=True, slots=True)
class ParseConfig:
    """What the parse workers need to know besides the page; picklable, sent with each page."""

    scope: Scope
    rules: UrlRules = DEFAULT_RULES
    keep_links: bool = True
    obey_rel_nofollow: bool = True
    obey_robots_meta: bool = True  # <meta name="robots" content="nofollow"> stops following
    robots_token: str = "crawler"  # our product token, for <meta name="crawler">
    traps: TrapLimits = DEFAULT_TRAPS
    max_links: int = 10000
    extract: Rules | None = None  # --extract: the compiled rules
    content: str = "none"  # --content: none, text, markdown or html
    extractor: Extractor | None = None  # --extractor / on_page: an importable function
    simhash: bool = False  # the page text's 64-bit simhash (crawler.parse.simhash)
    render_hints: bool = False  # --render auto: say whether the page looks built by scripts
    structured: bool = False  # --structured-data: JSON-LD, microdata, OpenGraph
    content_method: str = "careful"  # --content-method: careful or fast

    @property
    def heavy(self) -> bool:
        """Main content or a user's function: extraction that needs the page's text and costs
        far more than parsing it for links."""
        return self.content != "none" or self.extractor is not None


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What the fetch learned besides the body, for a user's extraction function."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ParseResult:
    """What a page yields: title, every outgoing link, the ones to follow, its directives."""

    title: str | None = None
    links: list[str] = field(default_factory=list)
    follow: list[tuple[str, int]] = field(default_factory=list)  # (canonical URL, fingerprint)
    pruned: list[tuple[str, int, str]] = field(default_factory=list)  # (URL, fingerprint, why)
    links_found: int = 0
    noindex: bool = False
    nofollow: bool = False
    canonical_url: str | None = None
    refresh_url: str | None = None
    encoding: str = "utf-8"
    cut_at_nesting: bool = False  # the page nested deeper than MAX_NESTING; parsed up to there
    data: dict[str, Any] | None = None  # rules' fields and the function's dict
    content: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    extract_error: str | None = None  # the rules or the function failed on this page
    body_hash: str | None = None  # crawler.jobs.changes.content_hash of the body, for change labels
    simhash: int | None = None  # of the page's text, for near-duplicates
    pruned_unrecorded: int = 0  # trap links beyond MAX_PRUNED_RECORDS: counted, not recorded
    specs: dict[int, str] = field(default_factory=dict)  # a follow's request, by fingerprint
    structured: dict[str, Any] | None = None  # crawler.extract.structured
    render_hint: str | None = None  # why the page looks built by its scripts (render_hints)
    text_chars: int = 0  # characters of body text (render_hints), to compare with a rendering
