"""`--content-method fast` on an article: the story without what sits beside it in the same
container (comments, author bio, share and newsletter blocks, related teasers, captions), by
trafilatura's own rules (crawler.extract.article_boilerplate). Also checked here: a page that
does not say it is an article keeps its region whole; a story container that the rules would
take is kept; a hostile region is not pruned; the same holds in a crawl through nginx."""

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
from crawler.extract.article_boilerplate import without_boilerplate
from crawler.extract.content import main_content
from tests.real_servers import free_port, require
from tests.test_cli import clean_env
from tests.test_content_widening import FOOTER, NAV

ARTICLE_META = "<meta property='og:type' content='article'>"
STORY = "".join(
    f"<p>Paragraph {n} of the story: the harbour town rebuilt its sea wall after the winter "
    f"storms, and the fishermen who had moored elsewhere for a season came back to it.</p>"
    for n in range(8))
BESIDE = {
    "comments": "<div id='comments' class='comments-area'><h3>3 Comments</h3><ol>"
                + "".join(f"<li class='comment'><p>Commenter {n} says they loved the harbour "
                          f"piece and will visit next summer.</p></li>" for n in range(3))
                + "</ol></div>",
    "bio": "<div class='author-box'><p>Jane Roe writes about coastal towns and has lived "
           "by the sea for twenty years.</p></div>",
    "share": "<div class='share-buttons'><span>Share this article on your networks "
             "today</span></div>",
    "newsletter": "<div class='newsletter-signup'><p>Subscribe to our weekly newsletter "
                  "for more stories.</p></div>",
    "related": "<div class='related-posts'><h3>Related stories</h3><p>Another town built "
               "a new pier with money from the ferry company.</p></div>",
    "caption": "<figure><img src='/wall.jpg'><div class='wp-caption-text'>Photograph by "
               "Staff Photographer for the harbour board</div></figure>",
}
LEFT_OUT = ["Commenter 2", "Jane Roe writes", "Share this article", "weekly newsletter",
            "ferry company", "Staff Photographer"]


def page(meta: str = ARTICLE_META, story_class: str = "entry-content") -> str:
    return (f"<html><head><title>The sea wall</title>{meta}</head><body>{NAV}<div class='site'>"
            f"<div class='{story_class}'><h1>The harbour town's new sea wall</h1>"
            f"{BESIDE['caption']}{STORY}</div>{BESIDE['share']}{BESIDE['bio']}"
            f"{BESIDE['newsletter']}{BESIDE['related']}{BESIDE['comments']}</div>{FOOTER}"
            "</body></html>")


@pytest.mark.parametrize("mode", ["text", "markdown", "html"])
def test_an_articles_fast_content_is_the_story_alone(mode: str) -> None:
    content = main_content(page(), "", mode, "fast")
    assert content is not None
    assert "Paragraph 0 of the story" in content and "Paragraph 7 of the story" in content
    assert "new sea wall" in content
    for beside in LEFT_OUT:
        assert beside not in content, beside
    if mode == "markdown":
        assert "# The harbour town's new sea wall" in content


def test_a_page_that_does_not_say_it_is_an_article_keeps_its_region_whole() -> None:
    """On other pages the blocks the rules name are often the content (a forum's comments,
    a service page's widgets): the region stays as the fast method finds it."""
    content = main_content(page(meta=""), "", "text", "fast")
    assert content is not None and "Paragraph 7 of the story" in content
    assert "Commenter 2" in content and "Jane Roe writes" in content


def test_json_ld_saying_article_counts_too() -> None:
    meta = ("<script type='application/ld+json'>{\"@context\": \"https://schema.org\", "
            "\"@type\": \"NewsArticle\", \"headline\": \"The sea wall\"}</script>")
    content = main_content(page(meta=meta), "", "text", "fast")
    assert content is not None and "Paragraph 7 of the story" in content
    assert "Commenter 2" not in content


def test_a_story_container_the_rules_would_take_is_kept() -> None:
    """HubSpot wraps a post's body in a span whose class names a "meta" field, which
    trafilatura's rules remove: with an introduction of a sixth of the words beside it (more
    than trafilatura's own guard of a seventh), only the guard here keeps the story."""
    intro = "<p>" + "An introduction to the story, read before it. " * 6 + "</p>"
    html = (f"<div>{intro}<span class='hs_cos_wrapper hs_cos_wrapper_meta_field'>{STORY}"
            "</span></div>")
    region = LexborHTMLParser(html).css_first("div")
    assert region is not None and without_boilerplate(region) is None
    content = main_content(f"<html><head>{ARTICLE_META}</head><body>{html}</body></html>", "",
                           "text", "fast")
    assert content is not None and "Paragraph 7 of the story" in content


def test_a_region_with_nothing_to_remove_is_not_copied() -> None:
    region = LexborHTMLParser(f"<div><h1>Title</h1>{STORY}</div>").css_first("div")
    assert region is not None and without_boilerplate(region) is None


@pytest.mark.timeout(60)
def test_a_deep_region_of_many_tags_is_not_pruned() -> None:
    """16,000 share blocks nested 1,000 deep: trafilatura's guard asks each match's ancestors,
    so such a region is kept as it is, at once."""
    html = ("<div>" + STORY + "<div class='share-x'>" * 1000 + "<span>x</span>" * 16_000
            + "</div>" * 1000 + "</div>")
    region = LexborHTMLParser(html).css_first("div")
    assert region is not None and without_boilerplate(region) is None


@pytest.mark.system
@pytest.mark.timeout(120)
def test_a_crawl_of_an_article_with_comments(tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    require(nginx_binary() is not None, "nginx")
    site = Path(tempfile.mkdtemp(prefix="article-"))  # nginx's workers read it as another user
    request.addfinalizer(lambda: shutil.rmtree(site))
    site.chmod(0o755)
    (site / "wall.html").write_text(page())
    port = free_port()
    (tmp_path / "seeds.txt").write_text(f"http://127.0.0.1:{port}/wall.html\n")
    out = tmp_path / "out.jsonl"
    with nginx({("127.0.0.1", port): site}):
        result = subprocess.run(
            [sys.executable, "-m", "crawler", "seeds.txt", "--content", "markdown",
             "--content-method", "fast", "--max-pages", "1", "-o", str(out), "--quiet"],
            cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=100,
            check=False)
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert "Paragraph 7 of the story" in record["content"]
    assert "Commenter 2" not in record["content"] and "Jane Roe writes" not in record["content"]
