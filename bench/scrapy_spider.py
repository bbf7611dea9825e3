"""The Scrapy side of the benchmark: a CrawlSpider following every in-scope link, robots.txt
obeyed, one item per page written by `scrapy runspider ... -o items.jsonl`.

Run by bench/run.py with -a seeds=URL,URL and -s CONCURRENT_REQUESTS=N.
"""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


class BenchSpider(CrawlSpider):
    name = "bench"
    custom_settings: ClassVar[dict[str, object]] = {
        "ROBOTSTXT_OBEY": True,
        "LOG_LEVEL": "WARNING",
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "RETRY_ENABLED": False,
    }

    def __init__(self, seeds: str = "", *args, **kwargs):
        self.start_urls = seeds.split(",")
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in self.start_urls})
        # allow_domains compares the netloc, port included, so scope by origin instead
        origins = sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}/" for u in
                          self.start_urls})
        self.rules = (Rule(LinkExtractor(allow=[f"^{re.escape(o)}" for o in origins]),
                           callback="parse_page", follow=True),)
        super().__init__(*args, **kwargs)

    def parse_start_url(self, response, **kwargs):
        return self.parse_page(response)

    def parse_page(self, response):
        yield {"url": response.url, "status": response.status,
               "title": response.css("title::text").get()}
