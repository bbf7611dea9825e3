"""HTTP credentials per host from a netrc file (--netrc: ~/.netrc or $NETRC, as curl reads it;
--netrc-file FILE), sent as Basic auth to that host only. A `default` entry is not used: a
password goes to the machine it names, never to every host a crawl reaches.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

import aiohttp

from crawler.errors import UsageError
from crawler.settings import Settings


def netrc_path(settings: Settings) -> Path | None:
    """The netrc file the crawl reads, or None."""
    if settings.netrc_file:
        return Path(settings.netrc_file)
    if settings.netrc:
        return Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    return None


def netrc_credentials(settings: Settings) -> dict[str, str]:
    """host -> the Authorization header for it; UsageError in one line (never a secret) for
    a file that cannot be read or is not a netrc file."""
    path = netrc_path(settings)
    if path is None:
        return {}
    flag = "--netrc-file" if settings.netrc_file else "--netrc"
    home = settings.netrc and not settings.netrc_file and not os.environ.get("NETRC")
    try:  # ~/.netrc itself is read as curl reads it: refused when others may read it
        parsed = netrc.netrc(None if home else str(path))
    except FileNotFoundError:
        raise UsageError(f"{flag}: {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"{flag}: cannot read {path} ({exc.strerror or exc})") from None
    except netrc.NetrcParseError as exc:
        reason = exc.msg if exc.msg.startswith("~/.netrc") else "not a netrc file"
        raise UsageError(f"{flag}: {path}:{exc.lineno or '?'}: {reason}") from None
    found = {}
    for host, (login, _account, password) in parsed.hosts.items():
        if host != "default" and login:
            found[host.lower()] = aiohttp.encode_basic_auth(login, password or "")
    return found
