"""`--content-method careful` on a page that is not an article: where trafilatura's text and
the fast method's region disagree, resiliparse's main-content text decides
(crawler.extract.arbiter); an article keeps trafilatura's; a page built to make the judge slow
is not judged."""

from __future__ import annotations

from collections import Counter

from crawler.extract.arbiter import agreement, cheap_to_judge, region_agrees_better
from crawler.extract.content import main_content
from tests.test_content_widening import FOOTER, NAV


def reply(n: int) -> str:
    return (f"<div class='comment'><div class='author'><a href='/u/{n}'>member{n}</a></div>"
            f"<div class='comment-body'><p>Reply {n}: I had the same trouble with the boiler "
            f"pressure dropping overnight; bleeding the radiators and topping up to 1.5 bar "
            f"fixed it for {n} weeks.</p></div></div>")


def thread(head: str = "") -> str:
    """A forum thread: trafilatura keeps each poster's profile link as a line of its own, the
    fast method's region and resiliparse drop them."""
    return (f"<html><head><title>Boiler pressure drops</title>{head}</head><body>{NAV}"
            "<div id='thread'><h1>Boiler pressure drops overnight</h1><div class='question'>"
            "<p>My combi boiler loses pressure every night and I cannot find a leak anywhere "
            "in the house. What should I check first?</p></div><div class='comments'>"
            f"{''.join(reply(n) for n in range(8))}</div></div>{FOOTER}</body></html>")


def test_the_judge_keeps_the_text_it_agrees_with() -> None:
    content = main_content(thread(), "", "text")
    assert content is not None
    assert all(f"Reply {n}:" in content for n in range(8))
    assert "member3" not in content  # the region's text: profile links dropped
    assert "Home" not in content and "Copyright" not in content


def test_an_article_keeps_trafilaturas_text() -> None:
    """On an article trafilatura leaves the comments out, and the region that holds them is not
    asked for, however much the judge would agree with it."""
    content = main_content(thread("<meta property='og:type' content='article'>"), "", "text")
    assert content is not None and "What should I check first?" in content
    assert "Reply 0:" not in content


def test_markdown_of_the_judged_region_keeps_its_heading() -> None:
    content = main_content(thread(), "", "markdown")
    assert content is not None
    assert content.startswith("# Boiler pressure drops overnight")
    assert "member3" not in content and "Reply 7:" in content


def test_agreement_is_the_word_bag_f1() -> None:
    assert agreement(Counter(["a", "b", "c", "d"]), Counter(["a", "b", "c", "d"])) == 1.0
    assert agreement(Counter(["a", "b"]), Counter(["a", "b", "c", "d"])) == 2 * 2 / 6
    assert agreement(Counter(), Counter(["a"])) == 0.0


def test_a_tie_keeps_the_careful_text() -> None:
    page = "<html><body><p>one two three four five six</p></body></html>"
    assert not region_agrees_better(page, "one two three", "four five six")
    assert region_agrees_better(page, "one two", "one two three four five six")
    assert not region_agrees_better(page, "one two three", "")


def test_a_page_built_to_make_the_judge_slow_is_not_judged() -> None:
    deep = "<html><body>" + ("<div>" * 1000 + "words" + "</div>" * 1000) * 40 + "</body></html>"
    assert not cheap_to_judge(deep)  # resiliparse: elements times depth, seconds here
    assert cheap_to_judge(thread())
    many_flat_tags = "<html><body>" + "<p>word</p>" * 20_000 + "</body></html>"
    assert cheap_to_judge(many_flat_tags)
