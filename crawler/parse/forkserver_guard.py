"""Imported only by the parse pool's forkserver (a preloaded module), never by the crawl itself:
makes the forkserver die with the crawl that started it (crawler.parse.orphans)."""

from crawler.parse.orphans import die_with_parent

die_with_parent()
