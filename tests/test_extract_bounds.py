"""What one page's extraction may cost is bounded: rules on nested elements, a function that
yields without end, one that exits or follows more than --max-links-per-page. Each is that
page's record, cut and said so; the crawl goes on."""

from __future__ import annotations

import json
from pathlib import Path

from tests.site import Site
from tests.test_cli import run_cli


def records(path: Path) -> dict[str, dict]:
    return {r["url"]: r for r in map(json.loads, path.read_text().splitlines())}


async def test_rules_on_nested_elements_are_cut_at_a_megabyte(site: Site,
                                                              tmp_path: Path) -> None:
    """{css = "div", all = true} on 3,000 nested divs (each div's text is the rest of the
    page) gives a record under 2 MB whose data is cut and says so, not 600 MB."""
    words = "".join(f"<div>word{n} " for n in range(3000)) + "</div>" * 3000
    site.add("/nested", f"<html><body>{words}</body></html>".encode())
    site.page("/", "/nested")
    (tmp_path / "rules.toml").write_text('[[rule]]\nfields = { all = {css = "div", '
                                         "all = true} }\n")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--extract", "rules.toml", "-o", "out.jsonl",
                                 cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "out.jsonl").stat().st_size < 2 << 20
    nested = records(tmp_path / "out.jsonl")[site.url("/nested")]
    assert nested["error"].startswith("data cut at 1048576 bytes")
    assert 0 < len(nested["data"]["all"]) < 3000
    assert records(tmp_path / "out.jsonl")[site.url("/")]["error"] is None


async def test_a_function_that_exits_or_yields_forever_is_that_pages_error(
        site: Site, tmp_path: Path) -> None:
    """sys.exit() and KeyboardInterrupt in the function are the page's error (the crawl ends
    with 0 and every record); items past the cap are cut and said so."""
    site.page("/", "/exit", "/interrupt", "/fine")
    for path in ("/exit", "/interrupt", "/fine"):
        site.page(path)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--extractor", "tests.extractors:exits", "-o",
                                 "out.jsonl", cwd=tmp_path,
                                 env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    assert code == 0, err
    found = records(tmp_path / "out.jsonl")
    assert found[site.url("/exit")]["error"] == "extract failed: SystemExit: 3"
    assert found[site.url("/interrupt")]["error"].startswith("extract failed: KeyboardInterrupt")
    assert found[site.url("/fine")]["data"] == {"ok": True}
    site.page("/many")
    (tmp_path / "many.txt").write_text(site.url("/many") + "\n")
    code, _, err = await run_cli("many.txt", "--job-dir", "many", "--extractor",
                                 "tests.extractors:huge_items", "-o", "many.jsonl",
                                 cwd=tmp_path,
                                 env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    assert code == 0, err
    (record,) = records(tmp_path / "many.jsonl").values()
    assert record["error"].startswith("data cut: items past") and 0 < record["items"] < 20000


async def test_page_follow_obeys_max_links_per_page(site: Site, tmp_path: Path) -> None:
    site.page("/")
    for n in range(50):
        site.page(f"/f{n}")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--extractor", "tests.extractors:follows_fifty",
                                 "--max-links-per-page", "5", "-o", "out.jsonl", cwd=tmp_path,
                                 env={"PYTHONPATH": str(Path(__file__).parent.parent)})
    assert code == 0, err
    assert len(records(tmp_path / "out.jsonl")) == 6


async def test_pages_that_make_a_rule_regex_backtrack_do_not_stall_the_crawl(
        site: Site, tmp_path: Path) -> None:
    """Six pages of 150,000 digits against an ordinary rule regex, among 200 ordinary pages:
    every page gets its record and the crawl ends (with Python's re each bad page ran to its
    30 s deadline three times and held the others back for 330 s)."""
    digits = "<html><body><p class=r>" + "1" * 150_000 + " x</p></body></html>"
    paths = [f"/p{n}" for n in range(200)]
    site.page("/", *paths, *[f"/bad{n}" for n in range(6)])
    for path in paths:
        site.page(path, extra='<p class="r">42 reviews</p>')
    for n in range(6):
        site.add(f"/bad{n}", digits.encode())
    (tmp_path / "rules.toml").write_text('[[rule]]\n[rule.fields]\nreviews = {css = "p.r", '
                                         'regex = \'(\\d+)\\s*(?:reviews|ratings)\', '
                                         'type = "int"}\n')
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--extract", "rules.toml", "-o", "out.jsonl",
                                 "--per-host", "8", cwd=tmp_path)
    assert code == 0, err
    found = records(tmp_path / "out.jsonl")
    assert len(found) == 207
    assert all(found[site.url(p)]["data"] == {"reviews": 42} for p in paths)
    assert all(found[site.url(f"/bad{n}")]["data"] == {"reviews": None} for n in range(6))
