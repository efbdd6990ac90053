"""The report as a PDF: the HTML page (services/reports/html.py) laid out on A4 by WeasyPrint,
its print style deciding the pages (the summary first, then the sections flowing, table
headers repeated across pages).

WeasyPrint is imported on first use: it loads Pango through cffi, which importing this
module must not do. A machine without Pango answers 503 with what to install, rather than
failing to start."""

from typing import Any

from services.errors import DomainError
from services.locales import Localizer
from services.reports.html import report_html


class PdfUnavailable(DomainError):
    status = 503
    title = "Service unavailable"


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The page loads nothing (its charts are inline SVG), and nothing in it may make the
    renderer fetch: not a file, not a URL."""
    raise ValueError(f"the report loads nothing; refused {url[:80]!r}")


def report_pdf(report: dict[str, Any], loc: Localizer | None = None) -> bytes:
    """The PDF's bytes, in ``loc``'s language (English when None). CPU-bound (tens to hundreds
    of milliseconds a page): call it in a thread."""
    try:
        from weasyprint import HTML
    except OSError as error:  # Pango or its fonts are not on this machine
        raise PdfUnavailable(
            "pdf-unavailable",
            "The PDF of the report cannot be made on this server: its PDF renderer needs Pango "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0). The HTML page prints to PDF too.",
        ) from error
    pdf: bytes = HTML(string=report_html(report, loc), url_fetcher=_no_fetching, media_type="print").write_pdf()
    return pdf
