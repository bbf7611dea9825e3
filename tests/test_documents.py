"""Documents the crawl fetches get their text in `content` with --content: a PDF that Debian's
Chromium printed (tests/data/report.pdf, from report.html) and a DOCX that python-docx wrote,
linked from an HTML page; hostile ones (a page tree that contains itself, a decompression bomb,
a zip bomb, bytes that only claim to be a PDF, a PDF cut at --max-body-bytes) cost an error
record each, within the parse deadline, and the crawl goes on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx

from tests.conftest import by_url
from tests.hostile_documents import NOT_A_PDF, docx_zip_bomb, page_tree_loop, text_bomb
from tests.site import Site
from tests.test_cli import run_cli

DATA = Path(__file__).parent / "data"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def report_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Harbour minutes"
    document.add_heading("Minutes of the harbour board", 1)
    document.add_paragraph("The board agreed to paint the pier lamps green before winter.")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "Item", (0, 1): "Cost", (1, 0): "Paint",
                             (1, 1): "forty crowns"}.items():
        table.cell(row, col).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def crawl(site: Site, tmp_path: Path, *args: str) -> dict[str, dict]:
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--allow-network", "127.0.0.0/8", "-o",
                                 "out.jsonl", *args, cwd=tmp_path)
    assert code == 0, err
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    return by_url([json.loads(line) for line in lines])


async def test_pdf_and_docx_text_is_the_content(site: Site, tmp_path: Path) -> None:
    site.page("/", "/report.pdf", "/minutes.docx", "/download")
    site.add("/report.pdf", (DATA / "report.pdf").read_bytes(), content_type=PDF)
    site.add("/minutes.docx", report_docx(), content_type=DOCX)
    site.add("/download", (DATA / "report.pdf").read_bytes(),
             content_type="application/octet-stream")  # known by its %PDF- signature
    records = await crawl(site, tmp_path, "--content", "text", "--parse-mode", "inline")
    pdf = records[site.url("/report.pdf")]
    assert pdf["title"] == "Annual report of the lighthouse keepers" and pdf["error"] is None
    assert "forty-two passing ships" in pdf["content"] and "Fresnel lens" in pdf["content"]
    assert records[site.url("/download")]["content"] == pdf["content"]
    minutes = records[site.url("/minutes.docx")]
    assert minutes["title"] == "Harbour minutes"
    assert "paint the pier lamps green" in minutes["content"]
    assert "Paint\tforty crowns" in minutes["content"]
    plain = tmp_path / "plain"
    plain.mkdir()
    records = await crawl(site, plain)  # without --content, documents are only fetched
    assert records[site.url("/report.pdf")]["content"] is None


async def test_hostile_documents_are_error_records(site: Site, tmp_path: Path) -> None:
    site.page("/", "/loop.pdf", "/bomb.pdf", "/bomb.docx", "/fake.pdf", "/cut.pdf", "/fine")
    site.page("/fine")
    site.add("/loop.pdf", page_tree_loop(), content_type=PDF)
    site.add("/bomb.pdf", text_bomb(400), content_type=PDF)
    site.add("/bomb.docx", docx_zip_bomb(200), content_type=DOCX)
    site.add("/fake.pdf", NOT_A_PDF, content_type=PDF)
    site.add("/cut.pdf", (DATA / "report.pdf").read_bytes()[:15000], content_type=PDF)
    records = await crawl(site, tmp_path, "--content", "text", "--parse-timeout", "3",
                          "--parse-memory-mb", "1024")
    errors = {path: records[site.url(path)]["error"] or "" for path in
              ("/loop.pdf", "/bomb.pdf", "/bomb.docx", "/fake.pdf", "/cut.pdf")}
    assert errors["/loop.pdf"].startswith("unreadable PDF"), errors
    assert errors["/bomb.pdf"].startswith(("parse timed out", "parse worker", "parse failed",
                                           "unreadable PDF")), errors
    assert errors["/bomb.docx"].startswith("DOCX refused") and "zip bomb" in errors[
        "/bomb.docx"]
    assert errors["/fake.pdf"] == "unreadable PDF (PDFium: Data format error)"
    assert errors["/cut.pdf"].startswith("unreadable PDF"), errors
    assert records[site.url("/fine")]["status"] == 200
    assert records[site.url("/fine")]["error"] is None
