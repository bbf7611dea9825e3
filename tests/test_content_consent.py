"""`--content` on a page carrying a consent manager's dialog: its thousand words of privacy
prose are never taken for the main content (crawler.extract.consent), by either method, in
any form, and in a crawl of the page served by nginx."""

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
from crawler.extract.consent import drop_consent
from crawler.extract.content import main_content
from tests.real_servers import free_port, require
from tests.test_cli import clean_env
from tests.test_content_widening import FOOTER, NAV

PURPOSE = ("<li><h3>Purpose {n}: measure content performance</h3><p>We and our {n} partners "
           "process your personal data, such as your device identifiers and browsing "
           "behaviour, to measure how content is delivered and to understand audiences through "
           "statistics or combinations of data from different sources. You may exercise your "
           "right to consent or object to a legitimate interest at any time.</p></li>")
ONETRUST = (  # OneTrust's layout: a banner and a privacy centre inside one container
    "<div id='onetrust-consent-sdk'><div id='onetrust-banner-sdk'><p>We use cookies to "
    "improve your experience.</p><button>Accept all</button></div><div id='onetrust-pc-sdk'>"
    "<h2>Your Privacy</h2><p id='ot-pc-desc'>We process your data to deliver content or "
    "advertisements and measure the delivery of such content or advertisements to extract "
    "insights about our website.</p><ul>"
    + "".join(PURPOSE.format(n=n) for n in range(12)) + "</ul></div></div>")


def card(n: int) -> str:
    return (f"<div class='card'><a href='/r/{n}'><h3>Slow-cooked tomato sauce number {n}"
            f"</h3></a><span>Ready in {n + 20} minutes</span></div>")


def recipes(dialog: str = ONETRUST) -> str:
    """A listing of recipe cards, and the consent manager's dialog at the end of the body,
    where the vendors' scripts put it."""
    return (f"<html><head><title>Tomato sauce recipes</title></head><body>{NAV}"
            "<div class='page'><h1>Tomato sauce recipes</h1><p>Our collection of tomato sauce "
            "recipes has something for every dish.</p><div class='cards'>"
            f"{''.join(card(n) for n in range(10))}</div></div>{FOOTER}{dialog}</body></html>")


@pytest.mark.parametrize("method", ["careful", "fast"])
@pytest.mark.parametrize("mode", ["text", "markdown", "html"])
def test_a_consent_dialog_is_never_the_content(method: str, mode: str) -> None:
    content = main_content(recipes(), "", mode, method)
    assert content is not None
    assert "Tomato sauce recipes" in content and "tomato sauce number 9" in content
    for dialog_text in ("Your Privacy", "partners", "Accept all", "We use cookies"):
        assert dialog_text not in content


def test_without_the_dialog_the_content_is_the_same() -> None:
    for method in ("careful", "fast"):
        assert main_content(recipes(), "", "text", method) == main_content(
            recipes(dialog=""), "", "text", method)


def test_dialogs_inside_dialogs_are_removed_once() -> None:
    """OneTrust's banner and centre sit inside its container: each is matched, and removing
    the container removes them (a node is never removed twice)."""
    tree = LexborHTMLParser(recipes())
    assert drop_consent(tree)
    html = tree.html or ""
    assert "onetrust" not in html and "Your Privacy" not in html and "tomato sauce number 3" in html
    assert not drop_consent(LexborHTMLParser(recipes(dialog="")))


def test_a_sites_own_cookie_banner_goes_too() -> None:
    banner = ("<div class='cookie-banner'><p>This site uses cookies for analytics. By "
              "continuing to browse you agree to our use of cookies.</p></div>")
    content = main_content(recipes(dialog=banner), "", "text", "careful")
    assert content is not None and "cookies" not in content and "number 4" in content


@pytest.mark.system
@pytest.mark.timeout(120)
def test_a_crawl_of_a_page_with_a_consent_manager(tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    require(nginx_binary() is not None, "nginx")
    site = Path(tempfile.mkdtemp(prefix="consent-"))  # nginx's workers read it as another user
    request.addfinalizer(lambda: shutil.rmtree(site))
    site.chmod(0o755)
    (site / "recipes.html").write_text(recipes())
    port = free_port()
    (tmp_path / "seeds.txt").write_text(f"http://127.0.0.1:{port}/recipes.html\n")
    for method in ("careful", "fast"):
        out = tmp_path / f"{method}.jsonl"
        with nginx({("127.0.0.1", port): site}):
            result = subprocess.run(
                [sys.executable, "-m", "crawler", "seeds.txt", "--content", "text",
                 "--content-method", method, "--max-pages", "1", "-o", str(out), "--quiet",
                 "--job-dir", f"job-{method}"],
                cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=100,
                check=False)
        assert result.returncode == 0, result.stderr
        [record] = [json.loads(line) for line in out.read_text().splitlines()]
        assert "tomato sauce number 9" in record["content"]
        assert "Your Privacy" not in record["content"] and "partners" not in record["content"]


@pytest.mark.timeout(20)
def test_a_page_of_many_banners_deep_down_costs_no_more_than_the_page() -> None:
    """20,000 banners at the bottom of 20,000 nested divs: finding the outermost ones is
    linear (asking each banner's 20,000 ancestors would be 400 million steps)."""
    depth = 20_000
    html = ("<html><body><p>What the page is about.</p>" + "<div>" * depth
            + "<p class='cookie-banner'>We use cookies</p>" * depth + "</div>" * depth
            + "</body></html>")
    tree = LexborHTMLParser(html)
    assert drop_consent(tree)
    assert tree.css_first(".cookie-banner") is None
    assert "What the page is about." in (tree.body.text() if tree.body else "")
