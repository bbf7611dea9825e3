"""PDF text extraction libraries side by side, on real documents: pages of Python's HTML
documentation printed to PDF by Debian's Chromium, and the PDFs Debian ships in
/usr/share/doc. CPU milliseconds a page and words found, for pypdfium2 (what --content uses),
pypdf and pdfminer.six, all in one venv (bench/.venv-pdf, made on the first run).

    .venv/bin/python -m bench.documents
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-pdf"
PACKAGES = ["pypdfium2==5.15.2", "pypdf==7.1.1", "pdfminer.six==20260107"]
DOCS = Path("/usr/share/doc/python3.11/html")
PRINTED = ["library/asyncio-task", "library/stdtypes", "library/functions", "tutorial/classes",
           "reference/datamodel"]
SHIPPED = ["/usr/share/doc/libtasn1-doc/libtasn1.pdf",
           "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"]
MEASURE = r'''
import glob, io, sys, time
import pypdfium2, pypdf
from pdfminer.high_level import extract_text

def pdfium(data):
    document = pypdfium2.PdfDocument(data)
    text = []
    for number in range(len(document)):
        page = document[number]
        textpage = page.get_textpage()
        text.append(textpage.get_text_bounded())
        textpage.close()
        page.close()
    return "\n".join(text)

libraries = [("pypdfium2", pdfium),
             ("pypdf", lambda data: "\n".join(p.extract_text() or ""
                                              for p in pypdf.PdfReader(io.BytesIO(data)).pages)),
             ("pdfminer.six", lambda data: extract_text(io.BytesIO(data)))]
files = sys.argv[1:]
pages = sum(len(pypdfium2.PdfDocument(open(f, "rb").read())) for f in files)
print(f"{len(files)} PDFs, {pages} pages\n")
print("| library | CPU ms a page | words |")
print("|---|---|---|")
for name, extract in libraries:
    cpu = words = 0
    for path in files:
        data = open(path, "rb").read()
        start = time.process_time()
        words += len(extract(data).split())
        cpu += time.process_time() - start
    print(f"| {name} | {1000 * cpu / pages:.1f} | {words} |")
'''


def main() -> None:
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PACKAGES], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as work:
        files = []
        for page in PRINTED:
            out = Path(work) / f"{page.replace('/', '-')}.pdf"
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-pdf-header-footer", f"--print-to-pdf={out}",
                            (DOCS / f"{page}.html").as_uri()], check=True, timeout=120,
                           capture_output=True)
            files.append(str(out))
        files += [path for path in SHIPPED if Path(path).is_file()]
        subprocess.run([str(VENV / "bin" / "python"), "-c", MEASURE, *files], check=True)


if __name__ == "__main__":
    main()
