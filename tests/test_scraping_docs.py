"""System: scrape a real site, Python's HTML docs served by nginx. Every page's rule fields are
checked against an independent parser's answers (lxml with cssselect), every page gets its main
content, and the CSV output reads back as the JSON Lines one."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from tests.test_cli import clean_env

pytestmark = pytest.mark.system
RULES = """
[[rule]]
match = '\\.html$'
[rule.fields]
title = "h1"
headings = { css = "h2", all = true }
first_paragraph = "div.body p"
anchors = { css = "a.headerlink", attr = "title", all = true }
release = { css = "title", regex = '3\\.(\\d+)', type = "int" }
[rule.fields.functions]
css = "dl.py.function"
all = true
fields = { name = { css = "dt", attr = "id" }, signature = "dt" }
"""


def fold(text: str) -> str:
    return " ".join(text.split())


def expected(html: bytes) -> dict[str, Any]:
    """The rules' answers, by lxml and cssselect."""
    doc = lxml.html.fromstring(html)

    def first(selector: str, scope: Any = doc) -> Any:
        found = scope.cssselect(selector)
        return found[0] if found else None

    h1, paragraph, title = first("h1"), first("div.body p"), first("title")
    release = re.search(r"3\.(\d+)", fold(title.text_content())) if title is not None else None
    return {
        "title": fold(h1.text_content()) if h1 is not None else None,
        "headings": [fold(h.text_content()) for h in doc.cssselect("h2")],
        "first_paragraph": fold(paragraph.text_content()) if paragraph is not None else None,
        "anchors": [a.get("title") for a in doc.cssselect("a.headerlink")],
        "release": int(release.group(1)) if release else None,
        "functions": [{"name": first("dt", dl).get("id"),
                       "signature": fold(first("dt", dl).text_content())}
                      for dl in doc.cssselect("dl.py.function")],
    }


@pytest.mark.timeout(600)
def test_rules_and_content_on_every_documentation_page(nginx_docs: str, tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "seeds.txt").write_text(f"{nginx_docs}/index.html\n")
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "seeds.txt", "--extract", "rules.toml",
         "--content", "text", "--per-host", "8", "-o", "out.jsonl", "-o", "out.csv",
         "--quiet"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
        timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    pages = [r for r in records if r["status"] == 200 and r["url"].endswith(".html")]
    assert len(pages) > 400
    from tests.conftest import DOCS

    functions = 0
    for record in pages:
        html = (DOCS / record["url"].removeprefix(nginx_docs + "/")).read_bytes()
        assert record["data"] == expected(html), record["url"]
        assert record["content"], record["url"]
        functions += len(record["data"]["functions"])
    assert functions > 1000  # the nested rule really matched
    csv.field_size_limit(1 << 30)  # a page's content can pass the module's default 128 KiB
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8"),
                                           newline="")))
    assert [row["url"] for row in rows] == [r["url"] for r in records]
    by_url = {row["url"]: row for row in rows}
    for record in pages:
        row = by_url[record["url"]]
        assert row["data.title"] == (record["data"]["title"] or "")
        assert json.loads(row["data.headings"]) == record["data"]["headings"]
        assert row["content"] == record["content"]
