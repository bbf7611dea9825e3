"""`--fields url,status,data.title`: CSV and JSON Lines outputs keep only the fields named, in
that order (Scrapy's FEED_EXPORT_FIELDS); an unknown field, or a CSV whose header the fields
would not match, is one line before the crawl; `--help` names every output format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.site import Site
from tests.test_cli import one_line_error, run_cli

RULES = '[[rule]]\n[rule.fields]\nheading = "h1"\n'


async def crawl(site: Site, tmp_path: Path, *args: str) -> tuple[int, str]:
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    (tmp_path / "rules.toml").write_text(RULES)
    code, _, err = await run_cli("seeds.txt", "--allow-network", "127.0.0.0/8", "--extract",
                                 "rules.toml", *args, cwd=tmp_path)
    return code, err


async def test_csv_and_jsonl_keep_the_chosen_fields_in_order(site: Site, tmp_path: Path
                                                             ) -> None:
    site.page("/", "/a", extra="<h1>Home</h1>")
    site.page("/a", extra="<h1>Page A</h1>")
    code, err = await crawl(site, tmp_path, "-o", "out.csv", "-o", "out.jsonl", "--fields",
                            "url, status,data.heading,title,data.missing")
    assert code == 0, err
    with (tmp_path / "out.csv").open(newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["url", "status", "data.heading", "title", "data.missing"]
    assert sorted(rows[1:]) == sorted([[site.url("/"), "200", "Home", "/", ""],
                                       [site.url("/a"), "200", "Page A", "/a", ""]])
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {json.dumps(line) for line in lines} == {json.dumps(
        {"url": site.url(path), "status": 200, "data": {"heading": heading, "missing": None},
         "title": path}) for path, heading in (("/", "Home"), ("/a", "Page A"))}
    # the same output with other fields would mix two headers: refused before the crawl
    code, err = await crawl(site, tmp_path, "-o", "out.csv", "--fields", "url,title",
                            "--recrawl")
    assert code == 2
    one_line_error(err, "has the columns url,status,data.heading,title,data.missing; "
                        "--fields asks for url,title")


async def test_an_unknown_field_is_one_line_before_the_crawl(site: Site, tmp_path: Path
                                                            ) -> None:
    for fields in ("url,satus", "links.first", "data."):
        code, err = await crawl(site, tmp_path, "-o", "out.csv", "--fields", fields)
        assert code == 2
        one_line_error(err, "--fields: unknown field")
    assert site.hits == {} and not (tmp_path / "out.csv").exists()


async def test_help_names_every_output_format(tmp_path: Path) -> None:
    code, out, _ = await run_cli("--help", cwd=tmp_path)
    assert code == 0
    text = " ".join(out.split())
    for suffix in (".jsonl", ".csv", ".db", ".warc.gz", "postgresql://"):
        assert suffix in text, suffix
