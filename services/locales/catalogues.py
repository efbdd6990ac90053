"""Keeping the message catalogues: ``make messages`` (``python -m services.locales.catalogues``)
extracts every message from the source into ``messages.pot``, merges it into each language's
``messages.po`` (new messages empty, vanished ones dropped) and compiles each ``.po`` into the
``.mo`` the service loads. Translators edit only the ``.po`` files, then run it again.

Messages are found by Babel's extractor (``_``, ``gettext``, ``ngettext`` and ``N_``; ``NP_``
and ``n_`` with a plural), plus what is declared as data rather than called: the event
catalogue's labels (``EventType(..., label)``), its e-mails' subjects and summaries
(``Mail(..., subject, summary)``) and the worded forms of validation
(``Form(pattern, expected)``). Reading the source, never importing it, keeps this tool free of
the service's own packages. The committed ``.mo`` files are what a fresh clone, ``make install``
and the image use; a test checks they are compiled from the committed ``.po`` files and that
every message is translated."""

import ast
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from services.locales import CATALOGUES, DEFAULT_LANGUAGE, DOMAIN, LANGUAGES

ROOT = CATALOGUES.parent.parent
SOURCES = ("services", "api")
KEYWORDS = {**DEFAULT_KEYWORDS, "NP_": (1, 2), "n_": (1, 2)}
TEMPLATE = CATALOGUES / f"{DOMAIN}.pot"
TRANSLATED = tuple(language for language in LANGUAGES if language != DEFAULT_LANGUAGE)
HEADER = """\
# The Migration Network Registry's own words (pages, reports, problems), in {language}.
# Written by the registry's developers; awaiting review by United Nations translators.
# Official texts (the Global Compact, UN designation footnotes) are never translated here.
# Edit the msgstr lines, then run `make messages`."""


def _literal(node: ast.expr | None) -> str | None:
    """A string literal, implicit concatenations included."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


# Messages declared as data: the call, and each argument holding one (its position, keyword).
DECLARED = {
    "EventType": ((3, "label"),),
    "Form": ((1, "expected"),),
    "Mail": ((2, "subject"), (3, "summary")),  # an e-mail's subject and summary templates
}


def _declared(path: Path) -> Iterator[tuple[str, int]]:
    """Event labels, e-mails' subjects and summaries, and validation forms' words in one
    file, with their line numbers."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        for position, keyword in DECLARED.get(node.func.id, ()):
            values = [k.value for k in node.keywords if k.arg == keyword]
            found = _literal(node.args[position] if len(node.args) > position else values[0] if values else None)
            if found:
                yield found, node.lineno


def template() -> Catalog:
    """Every message of the source, with where it is used."""
    catalog = Catalog(project="Migration Network Registry", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for source in SOURCES:
        found = extract_from_dir(ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS)
        for filename, lineno, message, comments, context in found:
            catalog.add(message, locations=[(f"{source}/{filename}", lineno)], auto_comments=comments, context=context)
        for path in sorted((ROOT / source).rglob("*.py")):
            for message, lineno in _declared(path):
                catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)])
    return catalog


def po_path(language: str) -> Path:
    return CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    with po_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _write_po(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as po:
        write_po(po, catalog, width=100, omit_header=False, sort_output=False, no_location=False)


def update() -> None:
    """Extract, merge into each language's ``.po`` and compile its ``.mo``."""
    pot = template()
    if TEMPLATE.exists():  # the same messages keep their date: no change to commit when nothing changed
        with TEMPLATE.open("rb") as existing:
            previous = read_po(existing)
        if [(m.id, m.locations) for m in previous] == [(m.id, m.locations) for m in pot]:
            pot.creation_date = previous.creation_date
    with TEMPLATE.open("wb") as out:
        write_po(out, pot, width=100)
    for language in TRANSLATED:
        path = po_path(language)
        catalog = read_catalogue(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.header_comment = HEADER.format(language=language)
        _write_po(catalog, path)
        path.with_suffix(".mo").write_bytes(compiled(catalog))
        missing = [m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
        print(f"{language}: {len(catalog)} messages, {len(missing)} untranslated", file=sys.stderr)


if __name__ == "__main__":
    update()
