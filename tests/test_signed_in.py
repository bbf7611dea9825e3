"""Signed-in crawls: the user's headers (every host, or one), the job's cookie jar (kept,
saved owner-only, resumed signed in), a cookies.txt that curl made, and no secret in any
record, WARC, report, status file or log."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import stat
from pathlib import Path

import pytest
from aiohttp import web
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import by_url
from tests.real_servers import require
from tests.signin_site import API_KEY, PASSWORD, USER, signin_routes
from tests.site import Site, html
from tests.test_cli import one_line_error, run_cli


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def crawl(seed: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    """`python -m crawler seeds.txt ARGS` with `seed` in seeds.txt."""
    (cwd / "seeds.txt").write_text(seed + "\n")
    return await run_cli("seeds.txt", *args, cwd=cwd)


def cookie_value(cookies_txt: Path, name: str) -> str:
    """A cookie's value in a Netscape cookies.txt."""
    for line in cookies_txt.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 7 and fields[5] == name:
            return fields[6]
    raise AssertionError(f"no cookie {name} in {cookies_txt}")


async def test_headers_go_to_every_host_or_to_theirs(two_sites: tuple[Site, Site],
                                                     tmp_path: Path) -> None:
    first, second = two_sites
    signin_routes(first)
    first.page("/", "/api/1", second.url("/other"))
    second.page("/other")
    code, _, err = await crawl(
        first.url("/"), "--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "o.jsonl"),
        "--scope", "any", "--max-depth", "1", "--allow-network", "127.0.0.0/8",
        "--header", "X-Everywhere: yes", "--header", f"127.0.0.1 X-Api-Key: {API_KEY}",
        cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(tmp_path / "o.jsonl"))
    assert records[first.url("/api/1")]["status"] == 200  # the key was sent
    for path, headers in first.headers:
        assert headers.get("X-Everywhere") == "yes", path
        assert headers.get("X-Api-Key") == API_KEY, path
    other = [headers for path, headers in second.headers if path == "/other"]
    assert other and other[0].get("X-Everywhere") == "yes"
    assert all("X-Api-Key" not in headers for _, headers in second.headers)  # not its host


@pytest.mark.parametrize("entry", ["Host: evil.example", "Content-Length: 5",
                                   "User-Agent: x", "no colon here"])
async def test_a_header_the_crawler_owns_is_refused_in_one_line(entry: str,
                                                                tmp_path: Path) -> None:
    code, _, err = await crawl("http://127.0.0.1:9/", "--job-dir", str(tmp_path / "job"),
                                 "--header", entry, cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--header")
    assert "evil.example" not in err  # a header's value is never shown
    assert not (tmp_path / "job" / "crawl.db").exists()


async def test_cookies_sites_set_are_kept_saved_and_resumed(site: Site, tmp_path: Path
                                                            ) -> None:
    """Signing in with a cookies.txt curl made: the session reaches every private page; the
    jar is saved owner-only in the job, and a recrawl without --cookies is still signed in."""
    flow = signin_routes(site)
    curl = shutil.which("curl")
    require(curl is not None, "curl")
    assert curl is not None
    jar_file = tmp_path / "curl-cookies.txt"
    process = await asyncio.create_subprocess_exec(  # the form, and its CSRF cookie
        curl, "-s", "-o", "/dev/null", "-c", str(jar_file), site.url("/login"))
    await process.wait()
    token = cookie_value(jar_file, "csrf")
    process = await asyncio.create_subprocess_exec(
        curl, "-s", "-o", "/dev/null", "-c", str(jar_file), "-b", str(jar_file),
        "--data", f"csrf={token}&user={USER}&password={PASSWORD}", site.url("/login"))
    await process.wait()
    assert flow.logins == 1 and "\tsession\t" in jar_file.read_text()

    job = tmp_path / "job"
    args = ("--job-dir", str(job), "-o", str(tmp_path / "o.jsonl"), "--allow-network",
            "127.0.0.0/8")
    code, _, err = await crawl(site.url("/private/"), *args, "--cookies", str(jar_file),
                                 cwd=tmp_path)
    assert code == 0, err
    records = read_jsonl(tmp_path / "o.jsonl")
    private = [r for r in records if "/private/" in r["url"]]
    assert len(private) == 7 and all(r["status"] == 200 for r in private), records
    assert flow.refused == 0
    saved = job / "cookies.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert next(iter(flow.sessions)) in saved.read_text()

    code, _, err = await crawl(site.url("/private/"), *args, "--recrawl", cwd=tmp_path)
    assert code == 0, err
    again = [r for r in read_jsonl(tmp_path / "o.jsonl") if "/private/" in r["url"]]
    assert len(again) == 14 and all(r["status"] == 200 for r in again)
    assert flow.refused == 0  # still signed in, from the job's own jar


async def test_no_keep_cookies_sends_what_it_was_given_and_keeps_nothing(
        site: Site, tmp_path: Path) -> None:
    async def sets_a_cookie(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="<a href=/b>b</a>", content_type="text/html")
        response.set_cookie("pref", "dark")
        return response

    site.route("/a", sets_a_cookie)
    site.page("/b")
    job = tmp_path / "job"
    code, _, err = await crawl(site.url("/a"), "--job-dir", str(job), "--allow-network",
                                 "127.0.0.0/8", "--no-keep-cookies", cwd=tmp_path)
    assert code == 0, err
    sent = dict(site.headers)
    assert "Cookie" not in sent["/b"]
    assert not (job / "cookies.json").exists()

    other = tmp_path / "job2"
    code, _, err = await crawl(site.url("/a"), "--job-dir", str(other), "--allow-network",
                                 "127.0.0.0/8", cwd=tmp_path)
    assert code == 0, err
    assert dict(site.headers)["/b"].get("Cookie") == "pref=dark"  # kept by default


@pytest.mark.parametrize("content", ["not a cookie file\n", "# Netscape HTTP Cookie File\n"
                                     "example.com\tTRUE\t/\n"])
async def test_a_malformed_cookies_file_is_one_line_before_the_crawl(content: str,
                                                                    tmp_path: Path) -> None:
    bad = tmp_path / "cookies.txt"
    bad.write_text(content)
    code, _, err = await crawl("http://127.0.0.1:9/", "--job-dir", str(tmp_path / "job"),
                                 "--cookies", str(bad), cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--cookies")
    assert "cookies.txt" in err


async def test_no_secret_lands_in_any_output(site: Site, tmp_path: Path) -> None:
    """The API key header and the session cookie, grepped for in every file the crawl wrote
    (records in JSON Lines, CSV and SQLite, the WARC, the report, the status file) and its
    log; only the job's own cookie jar holds the session."""
    flow = signin_routes(site)
    session = "5e55ion-value-0123456789"
    flow.sessions.add(session)
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{session}\n")
    site.page("/", "/private/", "/api/1")
    job = tmp_path / "job"
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = await crawl(
        site.url("/"), "--job-dir", str(job), "--allow-network", "127.0.0.0/8",
        "-o", str(out / "r.jsonl"), "-o", str(out / "r.csv"), "-o", str(out / "a.warc.gz"),
        "--status-file", str(out / "status.json"), "--record-headers",
        "--log-level", "debug", "--cookies", str(cookies),
        "--header", f"X-Api-Key: {API_KEY}", cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(out / "r.jsonl"))
    assert records[site.url("/private/")]["status"] == 200  # signed in
    assert records[site.url("/api/1")]["status"] == 200  # the key was sent
    leaks = []
    for path in [*out.rglob("*"), *job.rglob("*")]:
        if path.is_file() and path.name != "cookies.json":
            data = path.read_bytes()
            if path.suffix == ".gz":
                with path.open("rb") as stream:
                    data = b"".join(
                        b"".join(f"{k}: {v}\n".encode() for k, v in (
                            record.http_headers.headers if record.http_headers else []))
                        + record.content_stream().read() for record in ArchiveIterator(stream))
            for secret in (API_KEY, session):
                if secret.encode() in data:
                    leaks.append(f"{path.name}: {secret}")
    for secret in (API_KEY, session):
        if secret in stdout + err:
            leaks.append(f"log: {secret}")
    assert leaks == []
    warc, = out.glob("a-*.warc.gz")  # the first of the rolling files
    with warc.open("rb") as stream:
        requests = [record.http_headers for record in ArchiveIterator(stream)
                    if record.rec_type == "request"]
    assert any(h.get_header("X-Api-Key") == "[redacted]" for h in requests)
    assert any(h.get_header("Cookie") == "[redacted]" for h in requests)


async def test_login_fills_the_form_and_signs_in_again_when_signed_out(site: Site,
                                                                       tmp_path: Path) -> None:
    """--login fills the page's own form (its CSRF token kept); a sign-out link is never
    followed; when the server ends the session (every 3 pages here), pages redirect to the
    login page: the crawl signs in again and fetches them once more. The password is in no
    output and no log line."""
    flow = signin_routes(site, logout_link=True, expire_after=3)
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, err = await crawl(
        site.url("/private/"), "--job-dir", str(tmp_path / "job"), "--allow-network",
        "127.0.0.0/8", "-o", str(out / "r.jsonl"), "--log-level", "debug",
        "--login", site.url("/login"), "--login-field", f"user={USER}",
        "--login-field", f"password={PASSWORD}", cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(out / "r.jsonl"))
    private = {url: r for url, r in records.items() if "/private/" in url.split("?")[0]}
    assert len(private) == 7
    assert all(r["status"] == 200 and r["error"] is None for r in private.values()), private
    assert flow.logins >= 2  # the first sign-in, and again after the session ended
    assert site.hits["/logout"] == 0
    leaks = [p.name for p in [*out.rglob("*"), *(tmp_path / "job").rglob("*")]
             if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaks == [] and PASSWORD not in stdout + err


ROOT = Path(__file__).resolve().parent.parent


async def test_a_login_hook_signs_in_with_the_crawls_session_and_again_when_signed_out(
        site: Site, tmp_path: Path) -> None:
    """--login-hook runs the user's async function with the crawl's session (its cookie jar):
    the session cookie it gets reaches every private page; when the server ends the session,
    the hook signs in again; sign-out links stay out of scope."""
    flow = signin_routes(site, logout_link=True, expire_after=3)
    (tmp_path / "seeds.txt").write_text(site.url("/private/") + "\n")
    code, stdout, err = await run_cli(
        "seeds.txt", "--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "r.jsonl"),
        "--login", site.url("/login"), "--login-hook", "tests.login_hooks:form_sign_in",
        "--login-field", f"user={USER}", "--login-field", f"password={PASSWORD}",
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert code == 0, err
    records = by_url(read_jsonl(tmp_path / "r.jsonl"))
    private = {url: r for url, r in records.items() if "/private/" in url.split("?")[0]}
    assert len(private) == 7
    assert all(r["status"] == 200 and r["error"] is None for r in private.values()), private
    assert flow.logins >= 2 and site.hits["/logout"] == 0
    assert "signed in at " in err and PASSWORD not in stdout + err


@pytest.mark.parametrize(("hook", "expected"), [
    ("tests.login_hooks:broken", "--login-hook tests.login_hooks:broken: RuntimeError: the "
     "sign-in API answered 500"),
    ("tests.login_hooks:says_no", "it returned False (not signed in)"),
    ("tests.login_hooks:missing", "tests.login_hooks has no function 'missing'"),
    ("no_such_module:hook", "cannot import no_such_module"),
])
async def test_a_login_hook_that_fails_is_one_line_before_the_crawl(
        site: Site, tmp_path: Path, hook: str, expected: str) -> None:
    flow = signin_routes(site)
    (tmp_path / "seeds.txt").write_text(site.url("/private/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--job-dir", str(tmp_path / "job"),
                                 "--login", site.url("/login"), "--login-hook", hook,
                                 cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
    assert code == 2
    one_line_error(err, expected)
    assert site.hits["/private/"] == 0 and flow.logins == 0


@pytest.mark.parametrize(("fields", "expected"), [
    ((f"user={USER}", "password=wrong"), "sign-in refused (403)"),
    ((), "sign-in refused (403)"),
])
async def test_a_login_that_fails_is_one_line_before_the_crawl(
        site: Site, tmp_path: Path, fields: tuple[str, ...], expected: str) -> None:
    flow = signin_routes(site)
    args = [arg for field in fields for arg in ("--login-field", field)]
    code, _, err = await crawl(site.url("/private/"), "--job-dir", str(tmp_path / "job"),
                               "--allow-network", "127.0.0.0/8", "--login",
                               site.url("/login"), *args, cwd=tmp_path)
    assert code == 2
    one_line_error(err, expected)
    assert "wrong" not in err
    assert flow.logins == 0 and site.hits["/private/"] == 0  # no page before signing in


async def test_netrc_credentials_go_to_their_host_only(two_sites: tuple[Site, Site],
                                                       tmp_path: Path) -> None:
    first, second = two_sites

    async def needs_auth(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(
                f"{USER}:{PASSWORD}".encode()).decode():
            return web.Response(status=401, headers={"WWW-Authenticate": "Basic"})
        return web.Response(text=html("in", second.url("/x")), content_type="text/html")

    first.route("/", needs_auth)
    second.page("/x")
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n"
                          "default login everyone password everywhere\n")
    netrc_file.chmod(0o600)
    code, _, err = await crawl(first.url("/"), "--job-dir", str(tmp_path / "job"),
                               "-o", str(tmp_path / "o.jsonl"), "--scope", "any",
                               "--allow-network", "127.0.0.0/8", "--netrc-file",
                               str(netrc_file), cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(tmp_path / "o.jsonl"))
    assert records[first.url("/")]["status"] == 200
    assert records[second.url("/x")]["status"] == 200
    assert all("Authorization" not in headers for _, headers in second.headers)  # no default

    netrc_file.write_text("machine 127.0.0.1 lgin ada password s3cr3t-typo\n")
    code, _, err = await crawl(first.url("/"), "--job-dir", str(tmp_path / "job2"),
                               "--netrc-file", str(netrc_file), cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--netrc-file")
    assert "s3cr3t" not in err
