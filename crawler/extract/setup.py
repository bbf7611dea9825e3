"""What a crawl extracts, built once from the settings before the crawl starts: the compiled
rules, the content form and the user's function. Bad rules or a function that cannot be
imported stop the crawl here, with one line and exit 2."""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.parse.pool_start import worker_preload
from crawler.settings import Settings

if TYPE_CHECKING:  # imported by extraction_for when a crawl extracts (cssselect and more)
    from crawler.extract.page import Extractor
    from crawler.extract.rules import Rules


# the methods' versions: a recrawl after a change of method extracts again (no 304 carry-over)
# 2: the main container hinted, <pre> kept as code; 3: widened; 4: careful judged by resiliparse;
# careful 5, fast 4: consent dialogs removed first (crawler.extract.consent); fast 5: an
# article's region without its boilerplate (crawler.extract.article_boilerplate)
CONTENT_METHOD = {"careful": "content 5", "fast": "content 5"}
STRUCTURED_METHOD = "1"


@dataclass(frozen=True, slots=True)
class Extraction:
    rules: Rules | None = None
    content: str = "none"
    function: Extractor | None = None
    structured: bool = False  # --structured-data
    content_method: str = "careful"  # --content-method: careful or fast

    @property
    def preload(self) -> tuple[str, ...]:
        """Modules the parse workers import before their first page (crawler.parse.page imports
        the extraction modules only when a page needs them)."""
        return worker_preload(self.content, self.rules is not None or self.function is not None)

    @property
    def fingerprint(self) -> str:
        """What produced a page's `data`, `content` and items, as a short hash: the compiled
        rules, the content form, and the extraction function with its module's source (an
        edited function is another extraction). "none" when nothing is extracted."""
        if self.rules is None and self.content == "none" and self.function is None and \
                not self.structured:
            return "none"
        method = f"{CONTENT_METHOD[self.content_method]} {self.content_method}"
        parts = [repr(self.rules.rules) if self.rules is not None else "", self.content,
                 f"structured {STRUCTURED_METHOD}" if self.structured else "",
                 method if self.content != "none" else ""]
        if self.function is not None:
            parts.append(f"{self.function.__module__}:{self.function.__qualname__}")
            parts.append(_module_source(self.function))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    @property
    def data_columns(self) -> list[str] | None:
        """The fields a CSV output gives a column each (the rules'); None: one `data` column."""
        return self.rules.columns() if self.rules is not None and self.function is None \
            else None


def _module_source(function: object) -> str:
    """The source of the module that defines `function` ("" when it cannot be read)."""
    try:
        module = inspect.getmodule(function)
        return inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        return ""


def extraction_for(settings: Settings, on_page: Extractor | None = None) -> Extraction:
    """The crawl's extraction: --extract, --content and --extractor (or the API's on_page)."""
    if not (settings.extract or settings.extractor or on_page):
        return Extraction(content=settings.content, structured=settings.structured_data,
                          content_method=settings.content_method)
    from crawler.extract.page import load_extractor
    from crawler.extract.rules import load_rules

    rules = load_rules(settings.extract) if settings.extract else None
    function = on_page or (load_extractor(settings.extractor) if settings.extractor else None)
    return Extraction(rules, settings.content, function, settings.structured_data,
                      settings.content_method)
