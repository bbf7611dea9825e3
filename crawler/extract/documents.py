"""The text of documents the crawl fetches (PDF, DOCX), for `content` with --content. Runs in
the parse pool's worker processes only, whatever --parse-mode says: there a document has the
page deadline (--parse-timeout) and the address-space cap (--parse-memory-mb), so a hostile
one (an endless object loop, a decompression bomb) costs one error record and a worker, never
the crawl.

- PDF: pypdfium2, the binding of PDFium (Chrome's PDF engine, fuzzed by OSS-Fuzz; Apache-2.0
  or BSD-3-Clause). It extracted the text of 233 pages at 4.0 ms of CPU a page, pypdf at 98 ms
  and pdfminer.six at 185 ms, with the same words (`python -m bench.documents`). PyMuPDF is
  AGPL.
- DOCX: python-docx (MIT): paragraphs and table cells in document order. Its zip is checked
  first: at most MAX_UNZIPPED_BYTES unpacked and MAX_ZIP_ENTRIES entries (a zip bomb is a
  record's error before anything is unpacked).

Bounded: the first MAX_PAGES pages of a PDF and MAX_TEXT_CHARS characters; what is cut is said
in the record's error (`content cut: ...`), the text before it kept.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS = {PDF: "pdf", "application/x-pdf": "pdf", DOCX: "docx"}
MAX_PAGES = 1000
MAX_TEXT_CHARS = 4 << 20
MAX_UNZIPPED_BYTES = 64 << 20
MAX_ZIP_ENTRIES = 10_000


class DocumentError(Exception):
    """A document whose text cannot be read; the message says why, in one line."""


@dataclass(slots=True)
class DocumentText:
    text: str
    title: str | None = None
    cut: str | None = None  # what was left out, when a bound was reached


def document_kind(content_type: str | None, body: bytes = b"") -> str | None:
    """"pdf", "docx" or None, by the media type (and a PDF's signature when the server says
    only application/octet-stream)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in KINDS:
        return KINDS[media]
    if media in ("application/octet-stream", "binary/octet-stream") and body.startswith(
            b"%PDF-"):
        return "pdf"
    return None


def document_text(body: bytes, kind: str) -> DocumentText:
    """The document's text and title; DocumentError when it cannot be read."""
    return pdf_text(body) if kind == "pdf" else docx_text(body)


def pdf_text(body: bytes) -> DocumentText:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(body)
    except pypdfium2.PdfiumError as exc:
        raise DocumentError(f"unreadable PDF ({_reason(exc)})") from None
    try:
        pages = len(document)
        title = (document.get_metadata_dict().get("Title") or "").strip() or None
        parts: list[str] = []
        size = 0
        cut = None
        for number in range(min(pages, MAX_PAGES)):
            page = document[number]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                textpage.close()
            finally:
                page.close()
            parts.append(text.replace("\r\n", "\n").strip())
            size += len(text)
            if size > MAX_TEXT_CHARS:
                cut = f"content cut: the text past page {number + 1} of {pages} was left out " \
                      f"(over {MAX_TEXT_CHARS} characters)"
                break
        else:
            if pages > MAX_PAGES:
                cut = f"content cut: pages past {MAX_PAGES} of {pages} were left out"
    except pypdfium2.PdfiumError as exc:
        raise DocumentError(f"unreadable PDF ({_reason(exc)})") from None
    finally:
        document.close()
    return DocumentText("\n\n".join(part for part in parts if part)[:MAX_TEXT_CHARS], title, cut)


def docx_text(body: bytes) -> DocumentText:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(f"unreadable DOCX (not a zip file: {exc})") from None
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNZIPPED_BYTES:
        raise DocumentError(f"DOCX refused: {len(entries)} entries, {unpacked} bytes unpacked "
                            f"(at most {MAX_ZIP_ENTRIES} and {MAX_UNZIPPED_BYTES}: a zip bomb?)")
    import docx

    try:
        document = docx.Document(io.BytesIO(body))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml's errors...
        raise DocumentError(f"unreadable DOCX ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    size = 0
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            text = "\n".join("\t".join(cell.text for cell in row.cells) for row in block.rows)
        else:
            text = block.text
        if text.strip():
            parts.append(text)
            size += len(text)
            if size > MAX_TEXT_CHARS:
                return DocumentText("\n\n".join(parts)[:MAX_TEXT_CHARS], _docx_title(document),
                                    f"content cut: the text past {MAX_TEXT_CHARS} characters "
                                    "was left out")
    return DocumentText("\n\n".join(parts), _docx_title(document))


def _docx_title(document: object) -> str | None:
    title = getattr(getattr(document, "core_properties", None), "title", None)
    return title.strip() or None if isinstance(title, str) else None


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text[text.find("(") + 1:text.rfind(")")] if "(" in text else text or \
        type(exc).__name__
