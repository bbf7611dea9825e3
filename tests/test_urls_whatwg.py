"""Canonical URLs against the WHATWG URL test data of web-platform-tests (tests/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawler.urls import BadURL, UrlRules, canonical, normalise_percent_encoding, plain_authority

DATA = Path(__file__).parent / "data" / "urltestdata.json"
NO_OPTIONS = UrlRules(strip_params=(), sort_query=False)
# Expected results the standard changed after the 2018 snapshot was taken.
CHANGED_SINCE_2018 = {
    "http://0..0x300/": "hosts ending in a number must be valid IPv4 since 2021: now a failure",
    "http://256.256.256.256.256": "hosts ending in a number must be valid IPv4: now a failure",
    "http://0177.0.0.0189": "hosts ending in a number must be valid IPv4: now a failure",
}


def _cases() -> list[dict[str, Any]]:
    return [c for c in json.loads(DATA.read_text()) if isinstance(c, dict)]


def _base(case: dict[str, Any]) -> str | None:
    base = case.get("base")
    return None if base in (None, "about:blank") else base


def _http(text: str | None) -> bool:
    return bool(text) and text.lower().startswith(("http:", "https:"))


VALID = [c for c in _cases() if not c.get("failure") and _http(c["href"])
         and c["input"] not in CHANGED_SINCE_2018]
INVALID = [c for c in _cases() if c.get("failure") and (_http(_base(c)) or _http(c["input"]))]


def test_the_data_is_large_enough_to_mean_something() -> None:
    """Hundreds of http(s) cases are checked, valid and invalid."""
    assert len(VALID) >= 190 and len(INVALID) >= 50


@pytest.mark.parametrize("case", VALID, ids=lambda c: repr(c["input"])[:60])
def test_valid_http_urls_match_the_standard(case: dict[str, Any]) -> None:
    """canonical() gives the standard's href, less the fragment, with percent-encoding
    normalised, credentials dropped and a host's trailing dot removed (our documented
    additions)."""
    expected = normalise_percent_encoding(plain_authority(case["href"]).split("#", 1)[0])
    assert canonical(case["input"], _base(case), NO_OPTIONS) == expected


@pytest.mark.parametrize("case", INVALID, ids=lambda c: repr(c["input"])[:60])
def test_invalid_urls_raise_bad_url(case: dict[str, Any]) -> None:
    """Inputs the standard rejects raise BadURL (never another exception)."""
    with pytest.raises(BadURL):
        canonical(case["input"], _base(case), NO_OPTIONS)


@pytest.mark.parametrize("raw", sorted(CHANGED_SINCE_2018))
def test_cases_changed_since_the_snapshot_follow_today_s_standard(raw: str) -> None:
    """The listed cases follow the current standard: they are rejected."""
    with pytest.raises(BadURL):
        canonical(raw)
