"""Every setting is judged when a job is posted: the service's own are refused with 400 naming
them, credentials only where the operator allows them, every resource or trap limit has a
ceiling (and no "0 = unlimited"), every list a most entries; the rest a client sets freely. A
new setting that is in none of these fails here until someone decides which it is."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from crawler.service.spec import (
    CEILINGS,
    CLIENT_FREE,
    COUNT_CEILINGS,
    CREDENTIALS,
    NO_UNLIMITED,
    SERVICE_ONLY,
    BadRequest,
    Limits,
    check_request,
)
from crawler.settings import Settings

SEED = "https://93.184.215.14/"
NAMES = sorted(field.name for field in dataclasses.fields(Settings))
REFUSED = SERVICE_ONLY - CREDENTIALS


def post(settings: dict[str, Any], credentials: bool = False) -> str | None:
    """The 400's message for a job with `settings`, or None when it is accepted."""
    body = json.dumps({"seeds": [SEED], "settings": settings}).encode()
    try:
        check_request(body, Limits(credentials=credentials))
    except BadRequest as exc:
        return str(exc)
    return None


def test_every_setting_is_in_exactly_one_class() -> None:
    classes = {"refused": REFUSED, "credentials": CREDENTIALS, "ceiling": set(CEILINGS),
               "count": set(COUNT_CEILINGS) - CREDENTIALS, "free": CLIENT_FREE}
    for name in NAMES:
        found = [kind for kind, members in classes.items() if name in members]
        assert len(found) == 1, f"{name}: {found or 'unclassified'}"
    assert set().union(*classes.values()) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_setting_is_bounded_or_refused(name: str) -> None:
    if name in REFUSED:
        assert post({name: "x"}) == (
            f"setting {name!r} cannot be set over the API (the service sets it)")
    elif name in CREDENTIALS:
        assert "serve --allow-credentials" in (post({name: "x"}) or "")
    elif name in CEILINGS:
        ceiling = CEILINGS[name]
        over = int(ceiling) + 1 if float(ceiling).is_integer() else ceiling * 2
        assert (post({name: over}) or "").startswith(f"setting {name}={over:g} is more than")
        assert post({name: ceiling}) is None
        if name in NO_UNLIMITED:
            assert (post({name: 0}) or "").startswith(f"setting {name}=0 is more than")
    elif name in COUNT_CEILINGS:
        many = [f"^/x{n}" if name in ("allow", "deny") else f"10.{n // 256}.{n % 256}.0/24"
                if name == "deny_networks" else f"p{n}" for n in range(COUNT_CEILINGS[name] + 1)]
        assert (post({name: many}) or "").startswith(f"setting {name} has {len(many)} entries")
    else:
        assert name in CLIENT_FREE
        default = getattr(Settings(), name)
        if name not in ("extract", "extractor"):  # rules are an object; functions allow-listed
            assert post({name: list(default) if isinstance(default, tuple) else default}) \
                is None, name


def test_credentials_are_bounded_where_they_are_allowed() -> None:
    headers = [f"X-H{n}: v" for n in range(COUNT_CEILINGS["headers"] + 1)]
    assert (post({"headers": headers}, credentials=True) or "").startswith(
        "setting headers has 101 entries")
    assert post({"headers": headers[:3]}, credentials=True) is None
