"""Read a TOML file the user wrote (a config file, a rules file), with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from crawler.errors import UsageError


def read_toml(path: Path, what: str, error: type[UsageError]) -> dict[str, Any]:
    """The file's data; `error` naming `what` it is ("config file") when it cannot be read or
    is not TOML (tomllib's message carries the line and column)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None
