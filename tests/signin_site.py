"""A local site with a real sign-in flow, for the signed-in crawl tests: a login form with a
CSRF token (bound to a cookie), a session cookie the server checks on every private page, a
page that signs you out, and pages that need a header (an API key)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from aiohttp import web

from tests.site import Site, html

USER, PASSWORD = "ada", "pw-Lovelace-1843"
API_KEY = "key-5ecret-header-value"


@dataclass
class SignIn:
    """Sessions the server issued, and what it answered."""

    site: Site
    logout_link: bool = False  # /private/3 links /logout, which signs the crawl out
    expire_after: int = 0  # sessions end after this many private pages (0 = never)
    served: int = 0  # private pages served
    sessions: set[str] = field(default_factory=set)
    logins: int = 0  # successful sign-ins
    refused: int = 0  # private pages asked for without a valid session

    def session_of(self, request: web.Request) -> str | None:
        session = request.cookies.get("session")
        return session if session in self.sessions else None

    async def login(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            form = await request.post()
            if form.get("csrf") != request.cookies.get("csrf") or not form.get("csrf") or \
                    form.get("user") != USER or form.get("password") != PASSWORD:
                return web.Response(status=403, text="bad sign-in", content_type="text/html")
            session = secrets.token_hex(16)
            self.sessions.add(session)
            self.logins += 1
            response = web.Response(status=302, headers={"Location": "/private/"})
            response.set_cookie("session", session, httponly=True, path="/")
            return response
        token = secrets.token_hex(8)
        page = web.Response(content_type="text/html", text=(
            "<html><body><form method=post action=/login>"
            f"<input type=hidden name=csrf value={token}>"
            "<input name=user><input type=password name=password>"
            "<button>Sign in</button></form></body></html>"))
        page.set_cookie("csrf", token, path="/login")
        return page

    async def private(self, request: web.Request) -> web.StreamResponse:
        if self.session_of(request) is None:
            self.refused += 1
            raise web.HTTPFound(f"/login?next={request.path}")
        self.served += 1
        if self.expire_after and self.served % self.expire_after == 0:
            self.sessions.clear()  # every session times out: the next page finds it gone
        tail = request.path.rsplit("/", 1)[-1]
        n = int(tail) if tail.isdigit() else 0
        links = [f"/private/{k}" for k in (n + 1, n + 2) if k <= 6]
        if n == 3 and self.logout_link:
            links.append("/logout")
        return web.Response(text=html(f"private {n}", *links), content_type="text/html")

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = self.session_of(request)
        if session is not None:
            self.sessions.discard(session)
        raise web.HTTPFound("/login")

    async def api(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-Api-Key") != API_KEY:
            return web.Response(status=401, text="no key", content_type="text/html")
        return web.Response(text=html("api", "/api/2"), content_type="text/html")


def signin_routes(site: Site, logout_link: bool = False, expire_after: int = 0) -> SignIn:
    """Route the sign-in flow on `site`: /login, /private/ and /private/N, /logout, /api/N."""
    flow = SignIn(site, logout_link, expire_after)
    site.route("/login", flow.login)
    for path in ("/private/", *(f"/private/{n}" for n in range(1, 7))):
        site.route(path, flow.private)
    site.route("/logout", flow.logout)
    site.route("/api/1", flow.api)
    site.route("/api/2", flow.api)
    return flow
