"""The README and the docs site document what the code does: the two commands first, every
option and record field, generated pages that are current, and a site that builds strictly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from crawler.records import RECORD_FIELDS
from crawler.settings import FIELDS, flag_for
from scripts.settings_docs import API_PAGE, OPTIONS_PAGE, page_with_table, service_api_page

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def test_readme_starts_with_the_two_commands_and_stays_short() -> None:
    """The first code block holds the setup-and-crawl and setup-and-test commands; the README
    is a page, not the manual."""
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "./crawl.sh" in first_block and "./test.sh" in first_block
    assert len(README.splitlines()) <= 200


def test_readme_links_lead_to_files_that_exist() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert links and [link for link in links if not (ROOT / link).exists()] == []


def test_the_generated_pages_are_current() -> None:
    """The option reference and the service API page are what scripts/settings_docs.py
    writes (run it after changing a setting or an endpoint)."""
    options = OPTIONS_PAGE.read_text()
    assert page_with_table(options) == options
    assert API_PAGE.read_text() == service_api_page()


def test_docs_list_every_option_and_record_field() -> None:
    """Each setting's flag and environment name, and each record field, appear in the docs."""
    options = OPTIONS_PAGE.read_text()
    for name in FIELDS:
        assert f"`{flag_for(name)}" in options, name
        assert f"`CRAWLER_{name.upper()}`" in options, name
    records = (DOCS / "records.md").read_text()
    for name in RECORD_FIELDS:
        assert f"| `{name}` |" in records, name


def test_the_docs_site_builds_strictly(tmp_path: Path) -> None:
    """mkdocs --strict: a broken link or anchor, or a page left out of the nav, fails."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "options" / "index.html").is_file()
    assert (tmp_path / "service-api" / "index.html").is_file()


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    """The check above can fail: the same site with a link to a page that is not there."""
    site = tmp_path / "site"
    (tmp_path / "docs").mkdir()
    for page in DOCS.glob("*.md"):
        (tmp_path / "docs" / page.name).write_text(page.read_text())
    broken = tmp_path / "docs" / "index.md"
    broken.write_text(broken.read_text() + "\n[gone](no-such-page.md)\n")
    (tmp_path / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0 and "no-such-page.md" in result.stderr
