"""rs-trafilatura, the published leader on WCXB, as a peer in bench/content.py.

Its only wheel is for CPython 3.12 on x86_64 (its source needs Rust and crates.io), so it runs
in a venv of its own (bench/.venv-rs, made on the first run from a Python 3.12 found on the
PATH or under pyenv, installed from bench/rs-trafilatura.lock: one wheel, by its hash). Where
there is no Python 3.12, the peer is not measured and the bench says why.

Each page is extracted twice in one process: with no URL (what the crawler had: the pages came
from 127.0.0.1) and with the page's original URL, which its page-type classifier reads.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-rs"
LOCK = BENCH / "rs-trafilatura.lock"
NAME = "rs-trafilatura 0.1.1 (Python 3.12)"
MEASURE = r'''
import json, sys, time
from pathlib import Path
import rs_trafilatura

folder, urls = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
found = {"no URL": {}, "URL": {}}
times = {"no URL": [], "URL": []}
for path in sorted(folder.glob("*.html")):
    html, page_id = path.read_text(encoding="utf-8"), path.stem
    for kind, url in (("no URL", None), ("URL", urls.get(page_id))):
        start = time.process_time()
        result = rs_trafilatura.extract(html, url=url) if url else rs_trafilatura.extract(html)
        times[kind].append(time.process_time() - start)
        found[kind][page_id] = result.main_content or ""
json.dump({"found": found, "times": times}, sys.stdout)
'''


def python312() -> str | None:
    """A CPython 3.12 interpreter that runs (pyenv's shim for a version not selected does
    not): on the PATH, else under pyenv; None when there is none."""
    candidates = [shutil.which("python3.12"),
                  *sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.12*/bin/python3.12")))]
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if check.returncode == 0 and check.stdout.strip() == "(3, 12)":
            return candidate
    return None


def ready() -> str | None:
    """None when the peer's venv is ready (made now if need be), else why it is not."""
    if (VENV / "bin" / "python").exists():
        return None
    interpreter = python312()
    if interpreter is None:
        return "needs Python 3.12 (its only wheel is cp312; its source needs Rust and crates.io)"
    try:
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", "--only-binary", ":all:",
                        "--require-hashes", "-r", str(LOCK)], check=True)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(VENV, ignore_errors=True)
        return f"its venv could not be made ({error})"
    return None


def extract_all(pages: dict[str, str], urls: dict[str, str]
                ) -> dict[str, tuple[dict[str, str], list[float]]]:
    """Each page's main content and CPU seconds a page, by the peer, without and with its
    original URL: {"no URL": (texts, times), "URL": (texts, times)}."""
    with tempfile.TemporaryDirectory(prefix="bench-content-peer-") as work:
        folder = Path(work) / "pages"
        folder.mkdir()
        for page_id, html in pages.items():
            (folder / f"{page_id}.html").write_text(html, encoding="utf-8")
        urls_file = Path(work) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        done = subprocess.run([str(VENV / "bin" / "python"), "-c", MEASURE, str(folder),
                               str(urls_file)], check=True, capture_output=True, text=True)
    result = json.loads(done.stdout)
    return {kind: (result["found"][kind], result["times"][kind]) for kind in result["found"]}
