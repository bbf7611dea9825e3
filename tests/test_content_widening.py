"""`--content` on pages whose content is not prose: a blog index's teasers, which trafilatura
drops as links, come back (crawler.extract.widening, and the fast method's region); an
article loses its share and related links, and a product page is not widened to its
recommendations; a crawl of pages served by nginx gives the same, with either method."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from bench.servers import nginx, nginx_binary
from crawler.extract.content import main_content
from crawler.extract.fast_content import fast_region
from crawler.extract.widening import block_text, widened
from tests.real_servers import free_port, require
from tests.test_cli import clean_env

NAV = ("<header><nav><a href='/'>Home</a> <a href='/shop'>Shop the whole catalogue</a> "
       "<a href='/about'>About our little company</a></nav></header>")
FOOTER = "<footer><p>Copyright 2026 Example Trading Company, all rights reserved.</p></footer>"


def teaser(n: int) -> str:
    return (f"<article class='teaser'><h2><a href='/p/{n}'>Notes from the workshop in the old "
            f"mill, week {n}</a></h2><p>What we built in week {n}: a bench for the lathe and a "
            f"chisel rack.</p><a href='/p/{n}'>Read more</a></article>")


def blog_index(posts: int = 12) -> str:
    """A blog's index: a teaser (an <article>) a post. trafilatura keeps the first title and
    drops the others, which are links."""
    return (f"<html><head><title>Workshop blog</title></head><body>{NAV}<div class='posts'>"
            f"<h1>Workshop blog</h1>{''.join(teaser(n) for n in range(posts))}</div>{FOOTER}"
            "</body></html>")


def article() -> str:
    paragraphs = "".join(
        f"<p>Paragraph {n} of the report on the river survey tells what the team found along "
        f"the eastern bank, where the water ran faster than in any earlier year of the study, "
        f"and why that matters for the fish that spawn there in spring.</p>" for n in range(12))
    share = "".join(f"<li><a href='/s/{n}'>Share on network {n}</a></li>" for n in range(6))
    related = "".join(f"<li><a href='/r/{n}'>Another story about rivers number {n}</a></li>"
                      for n in range(8))
    return (f"<html><body>{NAV}<div class='layout'><div class='post'><h1>River survey</h1>"
            f"{paragraphs}<ul class='share'>{share}</ul></div><div class='more'><ul>{related}"
            f"</ul></div></div>{FOOTER}</body></html>")


def product_page() -> str:
    return ("<html><head><script type='application/ld+json'>{\"@context\": "
            "\"https://schema.org\", \"@type\": \"Product\", \"name\": \"Hillwalker\"}"
            f"</script></head><body>{NAV}<div class='shop'><div class='product'><h1>Hillwalker "
            "boot</h1><p>A leather walking boot with a waterproof lining, a stiff sole for rough "
            "ground and a padded collar, made in Portugal and resoleable twice over its life."
            f"</p><p>Price 129.00 EUR</p></div><div class='recommended'><h2>You may also like"
            f"</h2>{''.join(teaser(n) for n in range(12))}</div></div>{FOOTER}</body></html>")


@pytest.mark.parametrize("method", ["careful", "fast"])
def test_a_blog_index_gives_every_teaser_and_no_navigation(method: str) -> None:
    content = main_content(blog_index(), "http://127.0.0.1/blog/", "text", method)
    assert content is not None
    for n in range(12):
        assert f"Notes from the workshop in the old mill, week {n}\n" in content
    assert "What we built in week 11: a bench for the lathe and a chisel rack.\nRead more" \
        in content  # a line a block, and a link after a paragraph on its own line
    assert "Shop the whole catalogue" not in content and "Copyright" not in content


def test_trafilatura_alone_drops_the_teasers() -> None:
    """What the widening is for: without it, the titles are lost."""
    import trafilatura

    found = trafilatura.extract(blog_index(), output_format="txt") or ""
    assert found.count("Notes from the workshop") <= 2


@pytest.mark.parametrize("method", ["careful", "fast"])
def test_an_article_keeps_its_text_without_share_and_related_links(method: str) -> None:
    content = main_content(article(), "http://127.0.0.1/river", "text", method)
    assert content is not None and "Paragraph 11 of the report" in content
    assert "Another story about rivers" not in content and "Share on network" not in content


@pytest.mark.parametrize("method", ["careful", "fast"])
def test_a_product_page_is_not_widened_to_its_recommendations(method: str) -> None:
    html = product_page()
    content = main_content(html, "http://127.0.0.1/hillwalker", "text", method)
    assert content is not None and "waterproof lining" in content
    assert content.count("Notes from the workshop") <= 1  # trafilatura's own choice, no more
    assert widened(LexborHTMLParser(html), content) is None  # a Product: never widened
    assert fast_region(html) is None  # left to the careful method


def test_a_page_marked_as_an_article_is_not_widened() -> None:
    """An article's own pruning (ads, captions, related links inside its body) is right."""
    marked = blog_index().replace(
        "<head>", "<head><meta property='og:type' content='article'>")
    content = main_content(marked, "http://127.0.0.1/blog/", "text")
    assert content is not None and content.count("Notes from the workshop") <= 2
    jsonld = blog_index().replace("<head>", "<head><script type='application/ld+json'>"
                                  '{"@type": "BlogPosting", "headline": "x"}</script>')
    assert widened(LexborHTMLParser(jsonld), "What we built in week 1: a bench") is None


def test_widening_needs_more_than_the_kept_text() -> None:
    html = blog_index(3)
    tree = LexborHTMLParser(html)
    kept = block_text(tree.css_first("div.posts"))  # all of it was kept already
    assert widened(tree, kept) is None
    assert widened(LexborHTMLParser(html), "two words") is None


@pytest.mark.parametrize("method", ["careful", "fast"])
def test_markdown_and_html_of_a_widened_index(method: str) -> None:
    markdown = main_content(blog_index(), "http://127.0.0.1/blog/", "markdown", method)
    assert markdown is not None and markdown.startswith("# Workshop blog")
    assert "## [Notes from the workshop in the old mill, week 11](/p/11)" in markdown
    assert "Shop the whole catalogue" not in markdown
    html = main_content(blog_index(), "http://127.0.0.1/blog/", "html", method)
    assert html is not None
    tree = LexborHTMLParser(html)
    assert len(tree.css("article.teaser h2 a")) == 12 and tree.css_first("nav") is None


def test_a_hostile_region_is_walked_in_linear_time() -> None:
    """Deep nesting (the parse guard allows 1,024 levels) with many text nodes: each parent's
    ancestors are walked once, and no walk recurses."""
    words = " ".join(f"word{n}" for n in range(40))
    html = ("<html><body>" + "<div>" * 1000 + "".join(f"<p>{words} {n}</p>" for n in range(3000))
            + "</div>" * 1000 + "</body></html>")
    kept = "\n".join(f"{words} {n}" for n in range(0, 3000, 2))
    assert widened(LexborHTMLParser(html), kept) is not None
    assert fast_region(html) is not None


@pytest.mark.system
@pytest.mark.timeout(120)
def test_a_crawl_of_an_index_and_an_article_served_by_nginx(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    require(nginx_binary() is not None, "nginx")
    site = Path(tempfile.mkdtemp(prefix="widening-"))  # nginx's workers read it as another
    request.addfinalizer(lambda: shutil.rmtree(site))  # user: not under pytest's 0700 tmp
    site.chmod(0o755)
    (site / "blog").mkdir(mode=0o755)
    (site / "blog" / "index.html").write_text(blog_index())
    (site / "river.html").write_text(article())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "seeds.txt").write_text(f"{base}/blog/\n{base}/river.html\n")
    for mode, method in (("text", "careful"), ("markdown", "careful"), ("text", "fast")):
        out = tmp_path / f"{mode}-{method}.jsonl"  # a job each: the methods' outputs differ
        with nginx({("127.0.0.1", port): site}):
            result = subprocess.run(
                [sys.executable, "-m", "crawler", "seeds.txt", "--content", mode,
                 "--content-method", method, "--max-depth", "1", "-o", str(out), "--quiet",
                 "--job-dir", f"job-{mode}-{method}"],
                cwd=tmp_path,
                env=clean_env(), capture_output=True, text=True, timeout=100, check=False)
        assert result.returncode == 0, result.stderr
        records = {r["url"]: r for r in map(json.loads, out.read_text().splitlines())}
        index = records[f"{base}/blog/"]["content"]
        assert all(f"the old mill, week {n}" in index for n in range(12)), index
        assert "Copyright" not in index
        river = records[f"{base}/river.html"]["content"]
        assert "Paragraph 11" in river and "Another story" not in river


@pytest.mark.system
@pytest.mark.timeout(120)
def test_a_changed_method_is_a_changed_extraction(tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """A job crawled with one method refuses the other without --recrawl (its records hold
    the old method's content), and with --recrawl extracts again."""
    require(nginx_binary() is not None, "nginx")
    site = Path(tempfile.mkdtemp(prefix="widening-"))
    request.addfinalizer(lambda: shutil.rmtree(site))
    site.chmod(0o755)
    (site / "river.html").write_text(article())
    port = free_port()
    (tmp_path / "seeds.txt").write_text(f"http://127.0.0.1:{port}/river.html\n")

    def crawl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler", "seeds.txt", "--content", "text", "--max-depth",
             "0", "--max-pages", "1", "-o", "out.jsonl", "--quiet", *args], cwd=tmp_path,
            env=clean_env(), capture_output=True, text=True, timeout=100, check=False)

    with nginx({("127.0.0.1", port): site}):
        assert crawl().returncode == 0
        refused = crawl("--content-method", "fast")
        assert refused.returncode == 2
        assert "--content-method" in refused.stderr and "--recrawl" in refused.stderr
        assert crawl("--content-method", "fast", "--recrawl").returncode == 0
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all("Paragraph 11" in r["content"] for r in records)
