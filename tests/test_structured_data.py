"""Structured data in every record (`structured`): JSON-LD block by block (a malformed block
loses only itself), microdata items with nested items and itemref, OpenGraph and Twitter meta;
rules that query it with JMESPath; off with --no-structured-data; on real-world pages."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from aiohttp import web
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.structured import structured_data
from tests.conftest import by_url
from tests.site import Site
from tests.test_cli import run_cli

WCXB = Path(__file__).parent / "data" / "wcxb"
PRODUCT = """<!doctype html><html><head><title>Lamp</title>
<meta property="og:title" content="A lamp"><meta property="og:image" content="/a.jpg">
<meta property="og:image" content="/b.jpg"><meta name="twitter:card" content="summary">
<meta property="product:price:amount" content="19.99">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product",
 "name": "Lamp", "sku": "L-1", "offers": {"@type": "Offer", "price": "19.99"}}</script>
<script type="application/ld+json">{"@type": "BreadcrumbList", "itemListElement": [,]}</script>
<script type="application/ld+json"><!-- [{"@type": "Organization", "name": "Shop"}] --></script>
</head><body>
<div itemscope itemtype="https://schema.org/Product" itemref="maker">
  <h1 itemprop="name">Lamp</h1><img itemprop="image" src="/lamp.jpg">
  <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
    <meta itemprop="priceCurrency" content="EUR"><span itemprop="price">19.99</span>
  </div>
</div>
<p id="maker" itemprop="brand">Acme</p>
</body></html>"""
RULES = """[[rule]]
[rule.fields]
title = "h1"
sku = { structured = "json_ld[?\\"@type\\"=='Product'] | [0].sku" }
price = { structured = "json_ld[?\\"@type\\"=='Product'] | [0].offers.price", type = "float" }
images = { structured = "opengraph.\\"og:image\\"", all = true }
"""


def test_every_kind_is_read_and_a_bad_block_loses_only_itself() -> None:
    found = structured_data(LexborHTMLParser(PRODUCT))
    assert found is not None
    assert [block["@type"] for block in found["json_ld"]] == ["Product", "Organization"]
    assert found["json_ld_errors"] == 1  # the BreadcrumbList with a syntax error
    item, = found["microdata"]
    assert item["type"] == ["https://schema.org/Product"]
    props = item["properties"]
    assert props["name"] == ["Lamp"] and props["image"] == ["/lamp.jpg"]
    assert props["brand"] == ["Acme"]  # through itemref
    offer, = props["offers"]
    assert offer["properties"] == {"priceCurrency": ["EUR"], "price": ["19.99"]}
    assert found["opengraph"] == {"og:title": "A lamp", "og:image": ["/a.jpg", "/b.jpg"],
                                  "product:price:amount": "19.99"}
    assert found["twitter"] == {"twitter:card": "summary"}
    assert structured_data(LexborHTMLParser("<p>plain</p>")) is None


def test_real_world_pages_agree_with_an_independent_count() -> None:
    """On pages from the WCXB benchmark: every JSON-LD block that Python's json module reads
    is found (spread when it is an array), every top-level microdata item, every og: tag."""
    pages = sorted(WCXB.glob("*.html.gz"))
    assert len(pages) == 10
    kinds = set()
    for path in pages:
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        tree = LexborHTMLParser(html)
        found = structured_data(tree) or {}
        kinds |= set(found)
        blocks = []
        for node in tree.css('script[type="application/ld+json"]'):
            try:
                value = json.loads(node.text())
            except ValueError:
                continue
            blocks.extend(value if isinstance(value, list) else [value])
        assert found.get("json_ld", []) == blocks or len(found.get("json_ld", [])) > len(
            blocks), path.name  # ours also reads blocks wrapped in comments
        top = [n for n in tree.css("[itemscope]") if "itemprop" not in n.attributes]
        assert len(found.get("microdata", [])) == len(top), path.name
        og = {n.attributes.get("property") for n in tree.css("meta[property^='og:']")
              if n.attributes.get("content") is not None}
        assert og <= set(found.get("opengraph", {})), path.name
    assert {"json_ld", "microdata", "opengraph", "twitter"} <= kinds


async def crawl(site: Site, tmp_path: Path, *args: str, out: str = "out.jsonl"
                ) -> dict[str, dict]:
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--allow-network", "127.0.0.0/8", "-o", out,
                                 *args, cwd=tmp_path)
    assert code == 0, err
    lines = (tmp_path / out).read_text().splitlines()
    return by_url([json.loads(line) for line in lines])


async def test_records_carry_it_and_rules_query_it(site: Site, tmp_path: Path) -> None:
    site.add("/", PRODUCT.encode(), validators="etag")
    (tmp_path / "rules.toml").write_text(RULES)
    record = (await crawl(site, tmp_path, "--extract", "rules.toml"))[site.url("/")]
    assert record["structured"]["json_ld"][0]["sku"] == "L-1"
    assert record["data"] == {"title": "Lamp", "sku": "L-1", "price": 19.99,
                              "images": ["/a.jpg", "/b.jpg"]}
    # a recrawl answered 304 keeps it; with it turned off, it is fetched anew, without it
    again = (await crawl(site, tmp_path, "--extract", "rules.toml", "--recrawl",
                         out="two.jsonl"))[site.url("/")]
    assert again["status"] == 304 and again["structured"] == record["structured"]
    off = await crawl(site, tmp_path, "--extract", "rules.toml", "--recrawl",
                      "--no-structured-data", out="three.jsonl")
    assert off[site.url("/")]["status"] == 200 and off[site.url("/")]["structured"] is None
    assert off[site.url("/")]["data"]["sku"] == "L-1"  # rules still query it


async def test_a_bad_query_is_one_line_before_the_crawl(site: Site, tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text('[[rule]]\nfields = { x = { structured = "a[?" } }\n')
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--extract", "rules.toml", cwd=tmp_path)
    assert code == 2 and "Traceback" not in err
    assert re.search(r'field "x": invalid JMESPath query', err), err


async def test_hostile_structured_data_is_bounded(site: Site, tmp_path: Path) -> None:
    """Thousands of blocks, items nested hundreds deep, a block of deep arrays: the record
    keeps what the bounds allow and the crawl goes on."""
    nested = '<div itemscope itemprop="x">' * 300 + "</div>" * 300
    blocks = '<script type="application/ld+json">{"a": 1}</script>' * 5000
    deep = '<script type="application/ld+json">' + "[" * 5000 + "]" * 5000 + "</script>"

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"<html><body><div itemscope>{nested}</div>{blocks}{deep}"
                                 "</body></html>", content_type="text/html")
    site.route("/", page)
    record = (await crawl(site, tmp_path))[site.url("/")]
    assert record["status"] == 200 and record["error"] is None
    assert len(record["structured"]["json_ld"]) == 100  # MAX_BLOCKS
    depth, item = 0, record["structured"]["microdata"][0]
    while item["properties"].get("x"):
        item, depth = item["properties"]["x"][0], depth + 1
    assert depth <= 9
