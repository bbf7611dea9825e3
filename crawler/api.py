"""The library entry point: a crawl from Python, with the command line's settings as keyword
arguments.

```python
from crawler import Crawl, Page

def quotes(page: Page):
    for q in page.css("div.quote"):
        yield {"text": q.css_first("span.text").text(), "author": q.css_first("small").text()}
    nxt = page.css_first("li.next a")
    if nxt is not None:
        yield page.follow(nxt.attributes["href"])

if __name__ == "__main__":
    result = Crawl(["https://quotes.example/"], on_page=quotes, outputs=["quotes.csv"],
                   max_pages=100).run()
```

`on_page` runs in the parse worker processes, so it must be a top-level function of an
importable module (or of the script, under `if __name__ == "__main__":`).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crawler.app import CrawlOutcome, run_crawl, run_event_loop
from crawler.errors import UsageError
from crawler.extract.page import Extractor
from crawler.settings import Settings, load_settings
from crawler.urls import BadURL, canonical, credentials_of, origin


class Crawl:
    """One crawl job. `Crawl(seeds, on_page=fn, outputs=["out.csv"], max_pages=100, ...)`:
    any setting by its name (`python -m crawler --help`); UsageError (a CrawlerError) for a
    bad one, with the same words the command line uses."""

    def __init__(self, seeds: Iterable[str], *, on_page: Extractor | None = None,
                 config: str | Path | None = None, **settings: Any) -> None:
        self.settings: Settings = load_settings(
            settings, config_file=Path(config) if config else None, source="Crawl({name}=...)")
        self.credentials: dict[str, tuple[str, str]] = {}
        self.seeds = [self._seed(url) for url in seeds]
        if not self.seeds:
            raise UsageError("Crawl needs at least one seed URL")
        if on_page is not None:
            _check_importable(on_page)
        self.on_page = on_page

    def _seed(self, url: str) -> str:
        try:
            seed = canonical(url.strip(), rules=self.settings.url_rules)
        except BadURL as exc:
            raise UsageError(f"seed {url!r}: {exc}") from None
        found = credentials_of(url.strip())
        if found is not None:
            self.credentials[origin(seed)] = found
        return seed

    def run(self) -> CrawlOutcome:
        """Crawl until done (or resumed and finished) and return how it went; blocks. Inside a
        running event loop use `await crawl.run_async()`."""
        return run_event_loop(self.run_async())

    async def run_async(self) -> CrawlOutcome:
        """The same, as a coroutine for a program that already runs an event loop."""
        return await run_crawl(self.settings, self.seeds, handle_signals=False,
                               on_page=self.on_page, credentials=self.credentials)


def _check_importable(function: Extractor) -> None:
    """The parse workers get the function by its module and name: refuse what they cannot."""
    try:
        pickle.dumps(function)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise UsageError(f"on_page {function!r} cannot be sent to the parse workers ({exc}): "
                         "use a top-level function of a module or script") from None
