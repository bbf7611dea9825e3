"""Documents built to hurt a reader: a PDF whose page tree contains itself, a PDF whose one
page decompresses to hundreds of megabytes of text operators, a DOCX that is a zip bomb, and
bytes that only claim to be a PDF. Made here, byte by byte, so no such file sits in the
repository."""

from __future__ import annotations

import io
import zipfile
import zlib


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of `objects` (numbered from 1) with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    start = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, start))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def page_tree_loop() -> bytes:
    """Its page tree lists itself among its kids."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>",
                _stream(b"BT /F1 12 Tf 72 712 Td (looped) Tj ET"), FONT])


def text_bomb(megabytes: int = 400) -> bytes:
    """One page whose content stream inflates to `megabytes` of text-showing operators."""
    packer = zlib.compressobj(9)
    chunk = b"BT /F1 12 Tf 72 712 Td (bomb bomb bomb bomb) Tj ET\n" * 20_000
    parts = [packer.compress(chunk) for _ in range(megabytes * (1 << 20) // len(chunk))]
    data = b"".join(parts) + packer.flush()
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>",
                _stream(data, b"/Filter /FlateDecode "), FONT])


def docx_zip_bomb(megabytes: int = 200) -> bytes:
    """A DOCX whose document.xml unpacks to `megabytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1 << 20)
            for _ in range(megabytes):
                entry.write(block)
    return out.getvalue()


NOT_A_PDF = b"<html>this says it is a PDF</html>" * 10
