"""Everything the code and the documents rely on is in the repository: no file points to a
design document, an issue or a pull request that is not in it (a tracker's address, a design
document's section sign, an issue number, a brief), and every relative link of a Markdown file names a file that exists.
Standards are cited by name (RFC 5545 §3.1), and reference data names its public source."""

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRECTORIES = {
    ".git",
    ".venv",
    ".data",
    "node_modules",
    "test-artifacts",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}
SKIPPED_FILES = {"requirements.lock", "package-lock.json"}  # hashes and registry addresses only
THIS_FILE = Path(__file__).resolve()

OUTSIDE = re.compile(
    r"(?i:design)(\.md|\s*§)"
    r"|\bSTYLE\.md\b"
    r"|\.\./shared\b"
    r"|\b[Ii]ssues?\s?#?\s?\d+"
    r"|\b(?:github|gitlab)\.com/[^\s)\"'`]+/(?:issues|pull|pulls|merge_requests|discussions)/\d+"
    r"|\bthe (?:brief|issue)\b",
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _text_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRECTORIES or part.endswith(".egg-info") for part in relative.parts):
            continue
        if not path.is_file() or path.name in SKIPPED_FILES or path.resolve() == THIS_FILE:
            continue
        yield path


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary: compiled catalogues, images, fonts


def test_no_file_points_to_a_document_or_issue_outside_the_repository():
    found = []
    for path in _text_files():
        text = _read(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = OUTSIDE.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}")
    assert found == [], "say it here, or in docs/, rather than point outside the repository:\n" + "\n".join(found)


def test_every_relative_markdown_link_names_a_file_of_the_repository():
    broken = []
    for path in _text_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(_read(path) or ""):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            if not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == [], "links to files that do not exist:\n" + "\n".join(broken)


def test_the_scan_finds_what_it_looks_for():
    for pointer in (
        "see Design §4.2",
        "in design.md",
        "as issue #23 asks",
        "issues 20",
        "https://github.com/schemathesis/schemathesis/issues/2983",
        "https://gitlab.com/group/project/-/merge_requests/7",
        "as the brief says",
        "../shared/STYLE.md",
    ):
        assert OUTSIDE.search(pointer), pointer
    for fine in ("RFC 5545 §3.1.4", "issued to a person", "the issuer", "https://www.iom.int"):
        assert not OUTSIDE.search(fine), fine
