"""A proxy's URL, as --proxy and HTTP(S)_PROXY give it: `[SCHEME://][USER:PASSWORD@]HOST[:PORT]`
with SCHEME http (the default, as curl's), https, socks4, socks5 (the crawler resolves the
target) or socks5h (the proxy does). A proxy's credentials are secrets: `label` and every message
here name the proxy without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}
SOCKS = frozenset({"socks4", "socks5", "socks5h"})


class BadProxy(ValueError):
    """A proxy URL that cannot be used; the message never holds its credentials."""


@dataclass(frozen=True, slots=True)
class ProxyUrl:
    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def label(self) -> str:
        """The proxy as logs, errors and records name it: no credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def is_socks(self) -> bool:
        return self.scheme in SOCKS


def parse_proxy(text: str) -> ProxyUrl:
    """One proxy URL, or BadProxy naming what is wrong (never the password)."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    scheme = text.partition("://")[0].lower()
    shown = f"{scheme}://" + text.partition("://")[2].rpartition("@")[2][:80]
    if scheme not in DEFAULT_PORTS:
        raise BadProxy(f"{shown!r}: the scheme must be one of {', '.join(DEFAULT_PORTS)}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadProxy(f"{shown!r} is not a proxy URL ([SCHEME://][USER:PASSWORD@]HOST[:PORT])"
                       ) from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadProxy(f"{shown!r} is not a proxy URL ([SCHEME://][USER:PASSWORD@]HOST[:PORT])")
    return ProxyUrl(scheme, parts.hostname, port or DEFAULT_PORTS[scheme],
                    unquote(parts.username or ""), unquote(parts.password or ""))


def check_proxies(values: tuple[str, ...]) -> str | None:
    """The settings check of --proxy: None when every entry parses, else the first problem."""
    for value in values:
        try:
            parse_proxy(value)
        except BadProxy as exc:
            return str(exc)
    return None
