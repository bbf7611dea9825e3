"""Scrapy's side of the scraping benchmark: a CrawlSpider that follows every in-scope link
(robots.txt obeyed) and runs bench/docs_rules.toml's selectors with parsel, one item per page.

Run by bench/scrape.py with -a seeds=URL.
"""

from __future__ import annotations

from scrapy_spider import BenchSpider


def fold(text: str | None) -> str | None:
    return " ".join(text.split()) if text is not None else None


def text_of(selection) -> str | None:
    return fold(selection.xpath("string()").get()) if selection else None


class RulesSpider(BenchSpider):
    name = "rules"

    def parse_page(self, response):
        if not hasattr(response, "css"):  # not HTML
            return
        h1, paragraph = response.css("h1"), response.css("div.body p")
        yield {
            "url": response.url,
            "title": text_of(h1[:1]),
            "headings": [text_of(h) for h in response.css("h2")],
            "first_paragraph": text_of(paragraph[:1]),
            "anchors": response.css("a.headerlink::attr(title)").getall(),
            "functions": [{"name": dl.css("dt::attr(id)").get(), "signature": text_of(
                dl.css("dt")[:1])} for dl in response.css("dl.py.function")],
        }
