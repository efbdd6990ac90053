# ruff: noqa: RUF001 (French apostrophes and Cyrillic letters are the point of these strings)
"""The activity report in the six official languages: chosen by ``?lang=`` or Accept-Language,
said by Content-Language, varied on by caches (Vary, an ETag per language), every label in
the reader's language (the event catalogue's too), dates and numbers as the locale writes
them, Arabic right to left, country names from the reference data."""

import re
from datetime import date
from html import escape

import pytest

from services.locales import localizer
from tests.test_api_conventions import assert_problem
from tests.test_reports import PERIOD, history  # noqa: F401 (the fixture)

HTML = {"Accept": "text/html"}


def _url(history) -> str:  # noqa: F811
    return f"/v1/networks/{history['network']['id']}/reports/activity"


async def _page(client, history, **headers):  # noqa: F811
    response = await client.get(_url(history), params=PERIOD, headers=HTML | headers)
    assert response.status_code == 200, response.text
    return response


async def test_accept_language_chooses_the_language_and_content_language_says_which(client, history):  # noqa: F811
    for accept, language in (
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("zh-Hans-CN", "zh"),
        ("de, ar;q=0.5", "ar"),
        ("de-DE", "en"),
        ("en;q=0.2, ru", "ru"),
    ):
        response = await _page(client, history, **{"Accept-Language": accept})
        assert response.headers["content-language"] == language, accept
        assert f'<html lang="{language}"' in response.text
        assert response.headers["vary"] == "Accept, Accept-Language"
    # ?lang= wins over the header.
    response = await client.get(_url(history), params=PERIOD | {"lang": "es"}, headers=HTML | {"Accept-Language": "fr"})
    assert response.headers["content-language"] == "es" and '<html lang="es" dir="ltr">' in response.text


async def test_the_french_page_has_every_label_in_french(client, history):  # noqa: F811
    page = (await _page(client, history, **{"Accept-Language": "fr"})).text
    assert "<title>Rapport d’activité : " in page
    assert "Du 1 janvier 2022 au 31 décembre 2022" in page  # dates as French writes them
    assert "Points d’attention au 31 décembre 2022" in page
    assert "Évolution des membres" in page and "Mémorandums d’accord" in page and "Synthèse" in page
    assert "Changement de cercle" in page  # a code in words
    assert "Membres du noyau" in page  # an indicator
    # The event catalogue's labels, as "Changes to the records" shows them.
    recorded = (await client.get(_url(history), params=PERIOD)).json()["record_changes"]
    changes = [c for c in recorded if c["label"] != c["event_type"]]  # a type the catalogue lists
    french = localizer("fr")
    assert changes and all(french.translated(c["label"]) for c in changes)
    for change in changes:
        assert f"<td>{escape(french.gettext(change['label']))}</td>" in page, change
    # No English label of ours is left: each of these is in the English page.
    english = (await _page(client, history)).text
    for words in ("Membership changes", "Key figures", "Changed tier", changes[0]["label"], "Needs attention"):
        assert words in english and words not in page, words
    # Text from records is the record's, isolated in its own direction.
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; Co" in page
    assert '<h1><bdi lang="en">' in page  # an untranslated name is marked as English


async def test_the_arabic_page_runs_right_to_left_with_record_text_isolated(client, history):  # noqa: F811
    response = await client.get(_url(history), params=PERIOD | {"lang": "ar"}, headers=HTML)
    page = response.text
    assert response.headers["content-language"] == "ar"
    assert '<html lang="ar" dir="rtl">' in page
    assert "تقرير الأنشطة" in page and "موجز" in page and "التغييرات في العضوية" in page
    assert "٣١ ديسمبر ٢٠٢٢" in page or "31 ديسمبر 2022" in page
    # Names from records, in Latin script, find their own direction inside the Arabic page.
    assert '<td dir="auto">' in page and '<h1><bdi lang="en">' in page
    # The GCM objectives' titles are official texts held in English: marked as English.
    titles = re.findall(r'<td lang="en" dir="ltr">([^<]+)</td>', page)
    assert len(titles) == 23 and "Collect and utilize accurate and disaggregated data" in titles[0]


async def test_the_chinese_and_russian_pages(client, history):  # noqa: F811
    chinese = (await _page(client, history, **{"Accept-Language": "zh-Hans"})).text
    assert "活动报告" in chinese and "2022年1月1日至2022年12月31日" in chinese and "成员变动" in chinese
    russian = (await _page(client, history, **{"Accept-Language": "ru-RU"})).text
    assert "Отчёт о деятельности" in russian, russian[:2000]
    russian_period = "С {start} по {end}".format(
        start=localizer("ru").date(date(2022, 1, 1)), end=localizer("ru").date(date(2022, 12, 31))
    )
    assert russian_period in russian and "1 января 2022" in russian_period
    assert re.search(r"\d+ строк[аи]?\)", russian)  # "(14 строк)": the plural form Russian needs


async def test_country_names_are_in_the_readers_language(client, history):  # noqa: F811
    champions = f"/v1/networks/{history['network']['id']}/champion-countries"
    response = await client.post(champions, json={"country_code": "MX", "start_date": "2022-02-01"})
    assert response.status_code == 201, response.text
    for language, name in (("en", "Mexico"), ("fr", "Mexique"), ("zh", "墨西哥"), ("ar", "المكسيك"), ("ru", "Мексика")):
        page = (await _page(client, history, **{"Accept-Language": language})).text
        assert f'<td dir="auto">{name}</td>' in page, language
    data = (await client.get(_url(history), params=PERIOD, headers={"Accept-Language": "fr"})).json()
    assert data["champion_countries"][0]["country"] == "Mexico"  # the JSON is for programs: English, codes


async def test_the_etag_varies_by_language_and_a_matching_one_is_304(client, history):  # noqa: F811
    french = await _page(client, history, **{"Accept-Language": "fr"})
    english = await _page(client, history)
    etag = french.headers["etag"]
    assert etag.startswith('W/"') and etag != english.headers["etag"]
    again = await client.get(
        _url(history), params=PERIOD, headers=HTML | {"Accept-Language": "fr", "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["content-language"] == "fr"
    # The French page's ETag does not match the English page: that one is sent in full.
    other = await _page(client, history, **{"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["content-language"] == "en"
    # JSON is one representation for every language.
    first = await client.get(_url(history), params=PERIOD, headers={"Accept-Language": "fr"})
    second = await client.get(_url(history), params=PERIOD, headers={"Accept-Language": "ar"})
    assert first.headers["etag"] == second.headers["etag"] and first.headers["content-language"] == "en"


async def test_a_language_that_is_not_official_is_a_problem_in_words(client, history):  # noqa: F811
    body = assert_problem(
        await client.get(_url(history), params=PERIOD | {"lang": "de"}, headers=HTML), 422, "validation-error"
    )
    assert body["errors"][0]["parameter"] == "lang"
    assert all(code in body["errors"][0]["detail"] for code in ("'ar'", "'zh'", "'en'", "'fr'", "'ru'", "'es'"))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", "Évolution des membres"),
        ("ar", "التغييرات في العضوية"),
        ("zh", "成员变动"),
        ("es", "Cambios en la composición"),
    ],
)
async def test_the_pdf_is_in_the_readers_language(client, history, language, words):  # noqa: F811
    from io import BytesIO

    from pypdf import PdfReader

    from tests.integration.required import required_library

    required_library("pango-1.0", "lay out the report's PDF (apt-get install libpango-1.0-0 libpangoft2-1.0-0)")
    response = await client.get(
        _url(history), params=PERIOD | {"lang": language}, headers={"Accept": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == language
    assert response.headers["content-disposition"].endswith(f'-{language}.pdf"')
    pdf = PdfReader(BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert 2 <= len(pdf.pages) <= 11, len(
        pdf.pages
    )  # French 10 pages, Arabic 11 (English 9): longer words, taller script
    if language != "ar":  # pypdf gives Arabic glyphs back in visual order; checked in the browser test
        assert words in text
