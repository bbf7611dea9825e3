"""Extraction rules: what each kind of field gives, and bad rules files refused before the crawl
starts with one line naming the file, the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.apply import extract_data
from crawler.extract.rules import RulesError, compile_rules, load_rules
from tests.test_cli import one_line_error, run_cli

PAGE = """<html><body>
<h1>  The   <b>Shop</b>
</h1>
<h2>One</h2><h2>Two</h2>
<img class=main src="../img/a.png">
<a class=mail href="mailto:x@example.com">mail</a>
<span class=price>Price: 12.50 EUR</span><span class=stock>yes</span><span class=count>7 left</span>
<article><p>Hello</p></article>
<div class=product><h3>Apple</h3><span data-sku="A1">a</span></div>
<div class=product><h3>Pear</h3></div>
</body></html>"""
RULES = {"rule": [
    {"match": "/other/", "fields": {"never": "h1"}},
    {"match": "/shop/", "fields": {
        "title": "h1", "missing": "h4", "headings": {"css": "h2", "all": True},
        "none_of_these": {"css": "h5", "all": True},
        "image": {"css": "img.main", "attr": "src"},
        "mail": {"css": "a.mail", "attr": "href"},
        "price": {"css": ".price", "regex": "[0-9.]+", "type": "float"},
        "count": {"css": ".count", "regex": "([0-9]+) left", "type": "int"},
        "in_stock": {"css": ".stock", "type": "bool"},
        "bad_number": {"css": "h1", "type": "int"},
        "body": {"css": "article", "html": True},
        "products": {"css": "div.product", "all": True, "fields": {
            "name": "h3", "sku": {"css": "[data-sku]", "attr": "data-sku"}}},
    }},
]}


def test_every_kind_of_field() -> None:
    """Text folded, lists, attributes (URL ones made absolute and canonical), regex with and
    without a group, types, outer HTML, nested objects; the first matching rule applies."""
    rules = compile_rules(RULES)
    tree = LexborHTMLParser(PAGE)
    data = extract_data(tree, rules, "http://a.com/shop/x/", "http://a.com/shop/x/")
    assert data == {
        "title": "The Shop", "missing": None, "headings": ["One", "Two"], "none_of_these": [],
        "image": "http://a.com/shop/img/a.png", "mail": "mailto:x@example.com",
        "price": 12.5, "count": 7, "in_stock": True, "bad_number": None,
        "body": "<article><p>Hello</p></article>",
        "products": [{"name": "Apple", "sku": "A1"}, {"name": "Pear", "sku": None}]}
    assert extract_data(tree, rules, "http://a.com/blog/", "http://a.com/blog/") is None
    assert rules.columns() == ["never", *RULES["rule"][1]["fields"]]


@pytest.mark.parametrize(("text", "expected"), [
    ('[[rule]]\n[rule.fields]\nt = "div["\n',
     'rule 1, field "t": invalid CSS selector \'div[\''),
    ('[[rule]]\n[rule.fields]\nt = "a[href"\n', 'rule 1, field "t": invalid CSS selector'),
    ('[[rule]]\n[rule.fields]\nt = { css = "p", regex = "[0-9" }\n',
     'rule 1, field "t": invalid regex \'[0-9\''),
    ('[[rule]]\n[rule.fields]\nt = { css = "p", kind = "x" }\n',
     'rule 1, field "t": unknown key \'kind\''),
    ('[[rule]]\n[rule.fields]\nt = { css = "p", type = "date" }\n',
     'rule 1, field "t": unknown type \'date\''),
    ('[[rule]]\n[rule.fields]\nok = "p"\n[[rule]]\n[rule.fields.p]\ncss = "div"\n'
     'fields = { q = "p:nope(" }\n', 'rule 2, field "p.q": invalid CSS selector'),
    ('[[rule]]\nmatch = "("\n[rule.fields]\nt = "p"\n', "rule 1: invalid regex '(' in match"),
    ('[[rule]]\n[rule.fields]\nt = "p"\nu = \n', "is not valid TOML: "),
    ('[[rules]]\n', "unknown key 'rules'"),
    ('[[rule]]\nmatch = "x"\n', "rule 1: needs a [rule.fields] table"),
])
def test_bad_rules_files_name_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=r"rules file .*rules\.toml") as caught:
        load_rules(path)
    assert expected in str(caught.value)


async def test_bad_rules_stop_the_crawl_before_it_starts(tmp_path: Path) -> None:
    """One line, exit 2, with the TOML line number; no job directory is left behind."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    (tmp_path / "rules.toml").write_text('[[rule]]\n[rule.fields]\nt = "p"\nu = \n')
    code, _, err = await run_cli("seeds.txt", "--extract", "rules.toml", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "rules file rules.toml is not valid TOML: ")
    assert "line 4" in err
    assert not (tmp_path / "crawl-job").exists()
    code, _, err = await run_cli("seeds.txt", "--extract", "nope.toml", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "rules file not found: nope.toml")


def test_rules_file_may_be_json(tmp_path: Path) -> None:
    """A .json rules file holds the shape the TOML parses to; bad JSON is one line."""
    from crawler.extract.rules import RulesError, load_rules

    good = tmp_path / "rules.json"
    good.write_text('{"rule": [{"match": "/p/", "fields": {"title": "h1"}}]}')
    rules = load_rules(good)
    assert len(rules.rules) == 1 and rules.rules[0].match.pattern == "/p/"
    bad = tmp_path / "bad.json"
    bad.write_text('{"rule": [')
    with pytest.raises(RulesError, match=r"rules file .*bad.json is not valid JSON"):
        load_rules(bad)
