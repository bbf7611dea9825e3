"""Who may talk to the service from a browser: no other site, by any trick.

A web page on another origin can make a browser send requests to a service on loopback:
`fetch(url, {mode: "no-cors", method: "POST"})` with a text/plain body, or an auto-submitted
`<form enctype="text/plain">`; and a name it controls can be made to resolve to 127.0.0.1 (DNS
rebinding), which makes the browser treat the service as that site, with full read access.
Without a token nothing else stands in the way, so every request is checked here:

- its `Host` must be a name the service answers as (the listen address, and for loopback
  `localhost`, 127.0.0.1 and [::1]; `--allow-host` adds a proxy's name): a rebound name is
  refused;
- a state-changing request (POST, PUT, PATCH, DELETE) is refused when the browser says it comes
  from another site (`Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin` that is not
  the service's own), and a POST with a body must be `Content-Type: application/json`, which
  no form and no no-cors fetch can send;
- no page may frame the dashboard (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`).

Clients that are not browsers (curl, scripts) send no Origin and no Sec-Fetch-Site and are not
affected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
FRAMING_HEADERS = {"X-Frame-Options": "DENY",
                   "Content-Security-Policy": "frame-ancestors 'none'",
                   "X-Content-Type-Options": "nosniff"}


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """The `Host` values the service answers to: None (any) when it listens on every address,
    where the token it must have does the guarding."""

    def __init__(self, listen_host: str, port: int, extra: Iterable[str] = ()) -> None:
        self.port = port
        names = {_bracketed(listen_host).lower(), *(name.lower() for name in extra)}
        if _is_loopback(listen_host):
            names.update(LOOPBACK_NAMES)
        self.names: frozenset[str] | None = None if _is_wildcard(listen_host) else \
            frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        if self.names is None:
            return True
        if not host_header:
            return False
        host = host_header.strip().lower()
        if host.startswith("["):  # [::1]:8080
            name, _, rest = host.partition("]")
            name, port = name + "]", rest.removeprefix(":")
        elif host.count(":") == 1:
            name, port = host.split(":")
        else:
            name, port = host, ""
        return (not port or port == str(self.port)) and name in self.names


def cross_site_problem(method: str, headers: Mapping[str, str], scheme: str,
                       host: str) -> str | None:
    """Why a request must be refused as coming from another site (one line), or None."""
    get = headers.get
    if method not in STATE_CHANGING:
        return None
    fetch_site = (get("Sec-Fetch-Site") or "").lower()
    if fetch_site in ("cross-site", "same-site"):
        return "a request from another site is refused (Sec-Fetch-Site: " + fetch_site + ")"
    origin = get("Origin")
    if origin is not None and origin.lower() != f"{scheme}://{host}".lower():
        return f"a request from another origin ({origin[:100]}) is refused"
    return None


def needs_json(method: str, content_type: str, has_body: bool) -> bool:
    """A POST or PUT with a body that is not JSON (what forms and no-cors fetches send)."""
    return method in ("POST", "PUT", "PATCH") and has_body and \
        content_type.split(";")[0].strip().lower() != "application/json"
