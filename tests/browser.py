"""Headless Chromium for tests: render a local HTML file to a screenshot (or dump its DOM) and
collect what the page said on its console and what it failed to load.

With ``--enable-logging=stderr`` Chromium writes each console message of the page to stderr
as ``[pid:tid:time:INFO:CONSOLE:12] "message", source: file:///... (12)`` (older versions:
``CONSOLE(12)``). A page that loads nothing but inline CSS and data: URLs under
``default-src 'none'`` reports any other load as a CSP violation on that console, so a
failed or forbidden load shows there too; network errors (``net::ERR_...``) are caught as well.
"""

import fcntl
import json
import os
import re
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.integration.required import required_command

CONSOLE_LINE = re.compile(r":CONSOLE[:(]\d+")
FAILED_LOAD = re.compile(r"net::ERR_|Failed to load resource")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW = (1280, 2400)
ROOT = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    """Where tests leave files for a person to look at: $TEST_ARTIFACTS_DIR, or test-artifacts/."""
    path = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium() -> str:
    """The Chromium binary (Debian's ``chromium`` package); skips locally, fails under CI=true."""
    return required_command("chromium", "render the HTML report in a real browser (apt-get install chromium)")


@dataclass(frozen=True)
class BrowserRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def console_messages(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if CONSOLE_LINE.search(line)]

    @property
    def failed_loads(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if FAILED_LOAD.search(line)]

    def problems(self) -> list[str]:
        """Everything that makes the page fail the check; empty when it rendered cleanly."""
        found = [f"console: {line}" for line in self.console_messages]
        found += [f"failed load: {line}" for line in self.failed_loads]
        if self.returncode != 0:
            found.append(f"chromium exited with {self.returncode}")
        return found


def run_chromium(page: Path, *mode: str, window: tuple[int, int] = WINDOW) -> BrowserRun:
    """Open ``page`` (a local file) in headless Chromium with a fresh profile; ``mode`` is
    ``--screenshot=<png>``, ``--print-to-pdf=<pdf>`` or ``--dump-dom``."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                f"--window-size={window[0]},{window[1]}",
                *mode,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
            check=False,
        )
    return BrowserRun(done.returncode, done.stdout, done.stderr)


def screenshot(page: Path, png: Path, window: tuple[int, int] = WINDOW) -> BrowserRun:
    png.unlink(missing_ok=True)
    return run_chromium(page, f"--screenshot={png}", window=window)


def print_pdf(page: Path, pdf: Path) -> BrowserRun:
    """Chromium's print to PDF (the page's own ``@page`` size and margins, no header or footer)."""
    pdf.unlink(missing_ok=True)
    return run_chromium(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")


def pdf_pages(pdf: Path) -> int:
    """The number of pages of a PDF Chromium wrote (its page objects are not compressed)."""
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-"), f"{pdf} is not a PDF"
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


@dataclass(frozen=True)
class PngFacts:
    width: int
    height: int
    distinct_bytes: int  # in the decompressed pixel rows: a blank page has a handful


def png_facts(png: Path) -> PngFacts:
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{png} is not a PNG"
    position, pixels, width, height = len(PNG_SIGNATURE), b"", 0, 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            pixels += chunk
        position += 12 + length
    return PngFacts(width, height, len(set(zlib.decompress(pixels))))


A11Y = ROOT / "tests" / "a11y"


def _install_axe() -> None:
    """``npm ci`` in tests/a11y unless both packages are there, under a lock: test processes
    running side by side would otherwise install at once, and ``npm ci`` first removes what
    the other is about to use."""
    installed = [
        A11Y / "node_modules" / "axe-core" / "axe.min.js",
        A11Y / "node_modules" / "playwright-core" / "index.js",
    ]
    with open(Path(tempfile.gettempdir()) / "mnr-a11y-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(path.is_file() for path in installed):
            return
        npm = required_command("npm", "install axe-core (apt-get install npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=A11Y, check=True, capture_output=True, timeout=300)


def axe_violations(pages: list[Path], width: int) -> dict[str, list[dict[str, object]]]:
    """axe-core's WCAG 2.1 A and AA violations on each page, in Debian's Chromium at
    ``width`` (tests/a11y/axe.mjs; its two npm packages installed from the lock file on first
    use). Empty lists when the pages pass."""
    node = required_command("node", "run axe-core on the HTML pages (apt-get install nodejs npm)")
    browser = chromium()
    _install_axe()
    done = subprocess.run(
        [node, str(A11Y / "axe.mjs"), "--width", str(width), *(str(p) for p in pages)],
        env={**os.environ, "CHROMIUM": browser},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {Path(name).name: found for name, found in json.loads(done.stdout).items()}
