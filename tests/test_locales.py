# ruff: noqa: RUF001 (text in other scripts is the point of these strings)
"""The six languages: which one a request asks for, dates and numbers by locale, and message
catalogues that are complete, compiled from their sources and in step with the code. Problems
(title, detail, validation messages in words) in the caller's language, saying which with
Content-Language; the GCM texts held in English only, saying which languages are missing."""

from datetime import date

import orjson
import pytest
from babel.messages.mofile import read_mo

from api.app import create_app  # noqa: F401 (imports every module that declares a problem title)
from api.errors import TITLES
from services.errors import DomainError
from services.locales import LANGUAGES, Localizer, direction, localizer, negotiate
from services.locales.catalogues import TRANSLATED, po_path, read_catalogue, template
from tests.test_api_conventions import assert_problem


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("fr-CH", "fr"),
        ("zh-Hans", "zh"),
        ("zh-Hant-TW", "zh"),
        ("de-DE, es;q=0.5", "es"),
        ("en;q=0.1, ar;q=0.9", "ar"),
        ("ru;q=0, fr;q=0.5", "fr"),  # q=0 means "not this one"
        ("es;q=abc, fr", "fr"),  # a malformed weight drops its range
        ("de, it", "en"),
        ("*", "en"),
        ("ES", "es"),
    ],
)
def test_the_language_is_negotiated_from_accept_language(header, language):
    assert negotiate(header) == language


def test_arabic_is_written_right_to_left_and_the_others_left_to_right():
    assert [direction(language) for language in LANGUAGES] == ["rtl", "ltr", "ltr", "ltr", "ltr", "ltr"]
    assert localizer("ar").direction == "rtl"


def test_dates_and_numbers_follow_the_locale():
    day = date(2025, 3, 7)
    assert localizer("en").date(day) == "7 March 2025"
    assert localizer("fr").date(day) == "7 mars 2025"
    assert localizer("es").date(day) == "7 de marzo de 2025"
    assert localizer("zh").date(day) == "2025年3月7日"
    assert "марта 2025" in localizer("ru").date(day)
    assert "مارس" in localizer("ar").date(day)
    assert localizer("fr").number(1234567) == "1\u202f234\u202f567"
    assert localizer("es").number(1234567) == "1.234.567"
    assert localizer("en").number(1234567) == "1,234,567"


def test_only_an_official_language_has_a_localizer():
    with pytest.raises(ValueError, match="not one of the official languages"):
        Localizer("de")


def test_every_message_is_translated_in_every_language_with_its_placeholders():
    source = template()
    assert len(source) > 300
    for language in TRANSLATED:
        catalog = read_catalogue(language)
        untranslated = [
            m.id for m in catalog if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
        ]
        assert untranslated == [], language
        assert _ids(catalog) == _ids(source), (
            f"{language}: run `make messages` (the catalogue is not in step with the code)"
        )


def _ids(catalog):
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def test_the_compiled_catalogues_are_the_committed_sources():
    """The .mo files the service loads hold exactly what the .po files say."""
    for language in TRANSLATED:
        with po_path(language).with_suffix(".mo").open("rb") as mo:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(mo) if m.id}
        written = {_key(m.id): _key(m.string) for m in read_catalogue(language) if m.id}
        assert compiled == written, f"{language}: run `make messages` to compile the catalogue"


def _key(value):
    return value if isinstance(value, str) else tuple(value)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_problem_title_is_in_the_catalogues():
    titles = {sub.title for sub in _subclasses(DomainError)}
    assert titles <= set(TITLES), titles - set(TITLES)
    assert all(localizer("fr").translated(title) for title in TITLES)


async def test_a_problem_is_in_the_callers_language_and_says_which(client):
    unknown = "/v1/networks/00000000-0000-7000-8000-000000000000"
    body = assert_problem(await client.get(unknown, headers={"Accept-Language": "fr"}), 404)
    english = assert_problem(await client.get(unknown), 404)
    assert body["title"] == "Introuvable" and english["title"] == "Not found"
    # The detail names the record: composed in English by its domain, and said to be English.
    response = await client.get(unknown, headers={"Accept-Language": "fr"})
    assert response.json()["detail"] == english["detail"]
    assert response.headers["content-language"] == "fr, en"
    assert (await client.get(unknown)).headers["content-language"] == "en"
    # A detail the catalogues hold is translated whole.
    missing = await client.get("/v1/no-such-thing", headers={"Accept-Language": "es"})
    assert missing.json()["detail"] == "No hay ningún recurso en /v1/no-such-thing."
    assert missing.headers["content-language"] == "es"


async def test_validation_messages_in_words_in_every_language(client):
    """The worded form of a value (decision 0020) and Pydantic's commonest messages."""
    bad = {"acronym": "IOM-W", "name": "Worded", "kind": "un_system", "contact_email": "name.un.org"}
    expected = {
        "en": ("Invalid request", "Should be an e-mail address such as name@un.org"),
        "fr": ("Requête non valide", "Doit être une adresse électronique, par exemple nom@un.org"),
        "es": ("Solicitud no válida", "Debe ser una dirección de correo electrónico, como nombre@un.org"),
        "ru": ("Недопустимый запрос", "Требуется адрес электронной почты, например name@un.org"),
        "zh": ("请求无效", "应为电子邮件地址，例如 name@un.org"),
        "ar": ("طلب غير صالح", "يجب أن تكون القيمة عنوان بريد إلكتروني مثل name@un.org"),
    }
    for language, (title, email) in expected.items():
        response = await client.post("/v1/entities", json=bad, headers={"Accept-Language": language})
        body = assert_problem(response, 422, "validation-error")
        assert body["title"] == title, language
        details = {e["pointer"]: e["detail"] for e in body["errors"]}
        assert details["#/contact_email"] == email, (language, body)
        assert response.headers["content-language"] == language
    french = await client.post("/v1/entities", json={"name": "x"}, headers={"Accept-Language": "fr"})
    assert {e["detail"] for e in french.json()["errors"]} >= {"Champ obligatoire"}


async def test_the_gcm_texts_say_they_are_english_and_which_languages_are_missing(client):
    for path in ("/v1/gcm/objectives", "/v1/gcm/principles"):
        response = await client.get(path, headers={"Accept-Language": "fr"})
        assert response.status_code == 200
        body = response.json()
        assert body["language"] == "en" and body["missing_languages"] == ["ar", "zh", "fr", "ru", "es"]
        assert response.headers["content-language"] == "en"
    objectives = (await client.get("/v1/gcm/objectives")).json()["items"]
    assert objectives[0]["title"].startswith("Collect and utilize accurate and disaggregated data")


def test_an_unexpected_error_is_answered_in_the_callers_language():
    from api.errors import unexpected_error_response

    scope = {"type": "http", "method": "POST", "path": "/v1/entities", "headers": [(b"accept-language", b"es")]}
    response = unexpected_error_response(scope, RuntimeError("a bug"), "req-1")
    body = orjson.loads(response.body)
    assert response.status_code == 500 and response.headers["content-language"] == "es"
    assert body["title"] == "Error interno del servidor"
    assert body["detail"] == (
        "Se produjo un error por nuestra parte; el cambio no se guardó. "
        "Indique el identificador de solicitud req-1 al notificarlo."
    )
    english = orjson.loads(unexpected_error_response(scope | {"headers": []}, RuntimeError("a bug"), "req-2").body)
    assert english["detail"] == (
        "Something went wrong on our side; the change was not saved. Quote request id req-2 when reporting it."
    )
