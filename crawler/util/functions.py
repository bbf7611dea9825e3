"""A user's function named `module:function` (--extractor, --login-hook), imported."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from crawler.errors import UsageError

SPEC = re.compile(r"[\w.]+:\w+")


def function_spec_problem(value: str) -> str | None:
    """The settings check of a `module:function` (empty allowed)."""
    if value == "" or SPEC.fullmatch(value):
        return None
    return "must be module:function, e.g. myscraper:parse_page"


def load_function(spec: str, flag: str) -> Callable[..., Any]:
    """The function `module:function` names; UsageError naming `flag` when it cannot be
    imported or is not there."""
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        raise UsageError(f"{flag} {spec!r}: give it as module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(f"{flag} {spec!r}: cannot import {module_name}: "
                         f"{type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"{flag} {spec!r}: {module_name} has no function {name!r}")
    return function
