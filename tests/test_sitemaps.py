"""--sitemaps: a site whose pages are reachable only through its sitemaps (robots.txt, a sitemap
index, a gzipped urlset served with the wrong headers, a text sitemap) is crawled completely,
under robots.txt and the scope; and hostile sitemaps stay bounded."""

from __future__ import annotations

import gzip

from crawler.parse.sitemaps import MAX_URLS, read_sitemap
from tests.conftest import by_url
from tests.site import Site

URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{}
</urlset>"""


def urlset(*urls: str) -> bytes:
    return URLSET.format("\n".join(f"<url><loc>{u}</loc><lastmod>2026-11-01</lastmod></url>"
                                   for u in urls)).encode()


def build(site: Site, decoy: Site) -> set[str]:
    """The sitemap-only site; returns the URLs that must be crawled."""
    site.add("/robots.txt", (f"User-agent: *\nDisallow: /private/\n"
                             f"Sitemap: {site.url('/sitemap_index.xml')}\n"
                             f"Sitemap: {site.url('/robots.txt')}\n").encode(),
             content_type="text/plain")
    site.page("/", title="Home")  # links to nothing
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
             'sitemap/0.9">' + "".join(f"<sitemap><loc>{site.url(p)}</loc></sitemap>" for p in (
                 "/sitemaps/pages.xml.gz", "/sitemaps/more.txt", "/sitemap_index.xml")) +
             "</sitemapindex>")
    site.add("/sitemap_index.xml", index.encode(), content_type="application/xml")
    pages = [f"/docs/{n}" for n in range(8)]
    site.add("/sitemaps/pages.xml.gz", gzip.compress(urlset(
        *[site.url(p) for p in pages], site.url("/private/secret"), decoy.url("/elsewhere"))),
        content_type="application/octet-stream")
    site.add("/sitemaps/more.txt", (site.url("/extra/a") + "\n" + site.url("/extra/b") +
                                    "\n").encode(), content_type="text/plain")
    for path in [*pages, "/extra/a", "/extra/b", "/private/secret"]:
        site.page(path, title=path)
    decoy.page("/elsewhere")
    return {site.url(p) for p in ["/", *pages, "/extra/a", "/extra/b"]}


async def test_a_sitemap_only_site_is_found_completely(site: Site, crawl, two_sites) -> None:
    _, decoy = two_sites
    expected = build(site, decoy)
    records = by_url(await crawl([site.url("/")], sitemaps="true"))
    fetched = {url for url, r in records.items() if r["status"] == 200 and r["title"]}
    assert expected <= fetched
    assert records[site.url("/private/secret")]["error"] == "disallowed by robots.txt"
    assert "/private/secret" not in site.hits
    assert decoy.hits == {} and decoy.url("/elsewhere") not in records
    assert all(n == 1 for n in site.hits.values()), site.hits
    index = records[site.url("/sitemap_index.xml")]
    assert index["links_found"] == 3 and index["depth"] == 0
    assert records[site.url("/sitemaps/pages.xml.gz")]["links_found"] == 10
    assert records[site.url("/docs/3")]["depth"] == 2
    assert records[site.url("/docs/3")]["referrer"] == site.url("/sitemaps/pages.xml.gz")


async def test_without_robots_sitemaps_the_crawl_tries_sitemap_xml(site: Site, crawl) -> None:
    site.page("/", title="Home")
    site.add("/sitemap.xml", urlset(site.url("/hidden")), content_type="text/xml")
    site.page("/hidden", title="Hidden")
    records = by_url(await crawl([site.url("/")], sitemaps="true"))
    assert records[site.url("/hidden")]["title"] == "Hidden"
    plain = by_url(await crawl([site.url("/")]))
    assert site.url("/hidden") not in plain  # without --sitemaps, nothing reads it


def test_hostile_sitemaps_stay_bounded() -> None:
    """A billion-laughs document expands nothing; an external entity reads nothing; a gzip
    bomb stops at 50 MiB; more than 50,000 URLs are cut; HTML, RSS and robots.txt are not
    sitemaps."""
    laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + ']><urlset><url><loc>http://a.com/&i;</loc></url></urlset>').encode()
    read = read_sitemap(laughs, "application/xml")  # libxml2 refuses the amplification
    assert read is not None and read.urls in ([], ["http://a.com/"])
    assert read.urls or "refused before its root element" in read.problem  # lxml >= 6.2
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
           b"<urlset><url><loc>http://a.com/&x;</loc></url></urlset>")
    assert read_sitemap(xxe, "application/xml").urls == ["http://a.com/"]
    bomb = gzip.compress(b"<urlset>" + b" " * (60 << 20) + b"</urlset>")
    assert "50 MiB" in read_sitemap(bomb, None).problem
    many = urlset(*[f"http://a.com/{n}" for n in range(MAX_URLS + 5)])
    read = read_sitemap(many, "application/xml")
    assert len(read.urls) == MAX_URLS and read.dropped == 5
    assert read_sitemap(b"<html><body><a href=/x>x</a>", "text/html") is None
    assert read_sitemap(b'<?xml version="1.0"?><rss><channel/></rss>', "application/rss+xml") \
        is None
    assert read_sitemap(b"User-agent: *\nSitemap: http://a.com/s.xml\n", "text/plain") is None


def test_element_bombs_and_declared_entities_are_bounded_and_said() -> None:
    """Twelve million empty elements (47 KB gzipped) stop at the element cap in well under a
    second; a sitemap that declares entities says so."""
    import time

    bomb = gzip.compress(b"<urlset>" + b"<x/>" * 12_000_000 + b"</urlset>")
    started = time.process_time()
    read = read_sitemap(bomb, None)
    assert read is not None and "elements" in read.problem
    assert time.process_time() - started < 3  # not a timed test: 9.5 s before the cap
    declared = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e "v">]><urlset><url><loc>'
                b"http://a.com/&e;</loc></url></urlset>")
    assert "declares entities" in read_sitemap(declared, "application/xml").problem


async def test_a_sitemap_tree_of_traps_and_a_full_budget_stay_bounded(
        site: Site, crawl, two_sites) -> None:
    """An index of 30 sitemaps, each of 2,000 URLs that one path's query limit prunes: at most
    10,000 trap records, and the sitemaps' records say the rest were not recorded; a
    robots.txt Sitemap: on another host is not fetched. With --max-pages 2 (the seed and the
    index), the index's sitemaps are not fetched at all, and its record says why."""
    _, elsewhere = two_sites
    site.add("/robots.txt", (f"Sitemap: {site.url('/index.xml')}\n"
                             f"Sitemap: {elsewhere.url('/foreign.xml')}\n").encode(),
             content_type="text/plain")
    site.page("/")
    index = ('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
        f"<sitemap><loc>{site.url(f'/s{n}.xml')}</loc></sitemap>" for n in range(30)) +
             "</sitemapindex>")
    site.add("/index.xml", index.encode(), content_type="application/xml")
    for n in range(30):
        site.add(f"/s{n}.xml", urlset(*[site.url(f"/cal?d={n}-{i}") for i in range(2000)]),
                 content_type="application/xml")
    site.fallback = site.handlers["/"]
    records = by_url(await crawl([site.url("/")], sitemaps="true", max_query_variants="10",
                                 max_pages="100000"))
    trapped = [r for r in records.values() if r["error"] and r["error"].startswith("trap")]
    assert 9_000 <= len(trapped) <= 10_000
    assert any((r["error"] or "").startswith("sitemap: ") and "not recorded" in r["error"]
               for r in records.values())
    assert elsewhere.hits == {}
    site.hits.clear()
    small = by_url(await crawl([site.url("/")], sitemaps="true", max_pages="2"))
    assert small[site.url("/index.xml")]["error"] == ("sitemap: --max-pages reached, its "
                                                      "sitemaps were not fetched")
    assert set(site.hits) == {"/", "/robots.txt", "/index.xml"}


def test_a_gzip_bomb_is_inflated_only_up_to_the_cap() -> None:
    """A sitemap that inflates to 200 MiB: reading stops at the 50 MiB cap, so at most about
    that much is ever held (inflating it whole held 800 MiB); the record says why."""
    import tracemalloc

    from crawler.parse.sitemaps import MAX_BYTES

    bomb = gzip.compress(b"<urlset>" + b" " * (200 << 20) + b"</urlset>")
    tracemalloc.start()
    try:
        read = read_sitemap(bomb, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read is not None and "50 MiB" in read.problem
    assert peak < 3 * MAX_BYTES  # inflated whole: 4 times that and more
