"""Networks' and working groups' names and descriptions in the six languages: a translations
map set on create and update under each field's own rules, reads in the language asked for
with an English fallback field by field (Content-Language, Vary, an ETag per language that
If-Match takes), the map itself always returned and carried by events and exports, and the
report naming the network and its groups in the reader's language."""

import json
import uuid
from datetime import date

from sqlalchemy import select

from services.events.models import Event
from services.principals import SYSTEM
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group
from tests.factories import make_entity
from tests.spreadsheet import csv_records
from tests.test_api_conventions import assert_problem

FRENCH = {"name": "Réseau des Nations Unies sur les migrations", "description": "Le réseau mondial."}
ARABIC = {"name": "شبكة الأمم المتحدة المعنية بالهجرة"}
CHINESE = {"name": "联合国移民网络", "short_name": "联合国移民网络", "description": "全球网络。"}


async def _network(client, session, **fields):
    iom = await make_entity(session, acronym="IOM-T")
    body = {
        "name": "United Nations Network on Migration",
        "short_name": "UNNM",
        "scope": "global",
        "established_on": "2018-12-09",
        "description": "The global network.",
        "coordinator": {"entity_id": str(iom["id"]), "mandate_relevance": "Migration.", "capacity": "Secretariat."},
        **fields,
    }
    response = await client.post("/v1/networks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_network_reads_in_the_language_asked_for_field_by_field(client, session):
    network = await _network(client, session, translations={"fr": FRENCH, "ar": ARABIC, "zh": CHINESE})
    assert network["translations"] == {"ar": ARABIC, "fr": FRENCH, "zh": CHINESE}  # stored as sent
    url = f"/v1/networks/{network['id']}"

    french = await client.get(url, headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert french.status_code == 200, french.text
    body = french.json()
    assert (body["name"], body["description"]) == (FRENCH["name"], FRENCH["description"])
    assert body["short_name"] == "UNNM"  # no French short name: English
    assert french.headers["content-language"] == "fr, en"
    assert french.headers["vary"] == "Accept-Language"
    assert french.headers["etag"] == '"1-fr"'
    assert body["translations"]["fr"] == FRENCH  # the map, untouched, for an editor

    chinese = await client.get(url, headers={"Accept-Language": "zh-Hans-CN"})
    assert chinese.json()["name"] == CHINESE["name"] and chinese.json()["description"] == "全球网络。"
    assert chinese.headers["content-language"] == "zh" and chinese.headers["etag"] == '"1-zh"'

    arabic = await client.get(url, headers={"Accept-Language": "ar"})
    assert arabic.json()["name"] == ARABIC["name"] and arabic.json()["description"] == "The global network."
    assert arabic.headers["content-language"] == "ar, en"

    # A language with no translation, or none asked for: the English original.
    for headers in ({"Accept-Language": "ru"}, {"Accept-Language": "de"}, {}):
        plain = await client.get(url, headers=headers)
        assert plain.json()["name"] == "United Nations Network on Migration", headers
        assert plain.headers["content-language"] == "en"
    assert (await client.get(url)).headers["etag"] == '"1"'
    assert (await client.get(url, headers={"Accept-Language": "ru"})).headers["etag"] == '"1-ru"'

    listed = await client.get("/v1/networks", headers={"Accept-Language": "zh"})
    assert [n["name"] for n in listed.json()["items"]] == [CHINESE["name"]]
    assert listed.headers["content-language"] == "zh" and listed.headers["vary"] == "Accept, Accept-Language"


async def test_a_network_without_translations_answers_in_english_and_says_so(client, session):
    network = await _network(client, session)
    assert network["translations"] == {}
    for language in ("fr", "ar", "zh"):
        response = await client.get(f"/v1/networks/{network['id']}", headers={"Accept-Language": language})
        assert response.json()["name"] == "United Nations Network on Migration"
        assert response.headers["content-language"] == "en", language


async def test_translations_are_replaced_on_update_with_an_etag_of_any_language(client, session):
    network = await _network(client, session, translations={"fr": FRENCH})
    url = f"/v1/networks/{network['id']}"
    etag = (await client.get(url, headers={"Accept-Language": "fr"})).headers["etag"]
    assert etag == '"1-fr"'
    updated = await client.patch(
        url, json={"translations": {"es": {"name": "Red de las Naciones Unidas"}}}, headers={"If-Match": etag}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["translations"] == {"es": {"name": "Red de las Naciones Unidas"}}  # the whole map
    spanish = await client.get(url, headers={"Accept-Language": "es"})
    assert spanish.json()["name"] == "Red de las Naciones Unidas" and spanish.headers["etag"] == '"2-es"'
    assert (await client.get(url, headers={"Accept-Language": "fr"})).headers["content-language"] == "en"

    stale = await client.patch(url, json={"translations": {}}, headers={"If-Match": '"1-fr"'})
    assert_problem(stale, 412, "stale-etag")
    assert_problem(await client.patch(url, json={"translations": {}}, headers={"If-Match": '"2-de"'}), 422)
    cleared = await client.patch(url, json={"translations": None}, headers={"If-Match": '"2"'})
    assert "send {} to remove every translation" in assert_problem(cleared, 422, "required-field")["detail"]
    emptied = await client.patch(url, json={"translations": {"fr": {}}}, headers={"If-Match": '"2"'})
    assert emptied.json()["translations"] == {}  # a language with nothing in it is not kept

    # The change, in its event and so in its webhooks and the change feed, carries the map as stored.
    events = await session.scalars(
        select(Event.payload)
        .where(Event.type == "network.updated", Event.subject_id == uuid.UUID(network["id"]))
        .order_by(Event.position)
    )
    assert [e["network"]["translations"] for e in events] == [{"es": {"name": "Red de las Naciones Unidas"}}, {}]


async def test_translations_follow_their_fields_rules(client, session):
    iom = await make_entity(session, acronym="IOM-R")
    base = {
        "name": "N",
        "scope": "global",
        "established_on": "2018-12-09",
        "coordinator": {"entity_id": str(iom["id"]), "mandate_relevance": "M.", "capacity": "C."},
    }
    for translations, words in (
        ({"de": {"name": "Netzwerk"}}, "translations.de"),  # not an official language
        ({"en": {"name": "Network"}}, "translations.en"),  # English is the record's own fields
        ({"fr": {"slug": "reseau"}}, "translations.fr.slug"),  # not a translatable field
        ({"fr": {"name": "Réseau\nmondial"}}, "line break"),  # a name is one line
        ({"fr": {"name": "Réseau\u0007"}}, "control character"),
        ({"fr": {"name": ""}}, "translations.fr.name"),  # a name is never empty
        ({"fr": {"name": "R" * 301}}, "translations.fr.name"),  # the name's bound
        ({"fr": {"description": "D" * 10001}}, "translations.fr.description"),
        ({"fr": "Réseau"}, "translations.fr"),
    ):
        body = assert_problem(await client.post("/v1/networks", json=base | {"translations": translations}), 422)
        assert words in json.dumps(body, ensure_ascii=False), (translations, body)
    # A description may hold line breaks and tabs; right-to-left marks and overrides are text.
    hostile = {"name": "\u202eشبكة <script>alert(1)</script>", "description": "سطر\nسطر\tآخر"}
    response = await client.post("/v1/networks", json=base | {"translations": {"ar": hostile}})
    assert response.status_code == 201, response.text
    read = await client.get(f"/v1/networks/{response.json()['id']}", headers={"Accept-Language": "ar"})
    assert read.json()["name"] == hostile["name"] and read.json()["description"] == hostile["description"]


async def test_a_working_group_reads_in_the_language_asked_for(client, session):
    network = await _network(client, session)
    created = await client.post(
        "/v1/working-groups",
        json={
            "network_id": network["id"],
            "name": "Data and evidence",
            "slug": "data",
            "terms_of_reference": "Improve data.",
            "translations": {
                "fr": {"name": "Données et preuves"},
                "zh": {"name": "数据与证据", "terms_of_reference": "改进数据。"},
            },
        },
    )
    assert created.status_code == 201, created.text
    url = f"/v1/working-groups/{created.json()['id']}"
    french = await client.get(url, headers={"Accept-Language": "fr"})
    assert french.json()["name"] == "Données et preuves" and french.json()["terms_of_reference"] == "Improve data."
    assert french.headers["content-language"] == "fr, en" and french.headers["etag"] == '"1-fr"'
    chinese = await client.get(url, headers={"Accept-Language": "zh"})
    assert chinese.json()["terms_of_reference"] == "改进数据。" and chinese.headers["content-language"] == "zh"
    arabic = await client.get(url, headers={"Accept-Language": "ar"})
    assert arabic.json()["name"] == "Data and evidence" and arabic.headers["content-language"] == "en"
    listed = await client.get("/v1/working-groups", headers={"Accept-Language": "fr"})
    assert [g["name"] for g in listed.json()["items"]] == ["Données et preuves"]

    patched = await client.patch(
        url, json={"translations": {"ar": {"name": "البيانات والأدلة"}}}, headers={"If-Match": '"1-fr"'}
    )
    assert patched.status_code == 200, patched.text
    assert (await client.get(url, headers={"Accept-Language": "ar"})).json()["name"] == "البيانات والأدلة"
    too_long = await client.patch(
        url, json={"translations": {"fr": {"terms_of_reference": "T" * 20001}}}, headers={"If-Match": '"2"'}
    )
    assert_problem(too_long, 422)


async def test_the_csv_export_keeps_the_english_fields_and_the_translations_as_json(client, session):
    network = await _network(client, session, translations={"fr": FRENCH})
    exported = await client.get(
        "/v1/networks", params={"header": "fields"}, headers={"Accept": "text/csv", "Accept-Language": "fr"}
    )
    assert exported.status_code == 200, exported.text
    [row] = csv_records(exported.content)
    assert row["id"] == network["id"] and row["name"] == "United Nations Network on Migration"
    assert json.loads(row["translations"]) == {"fr": FRENCH}


async def test_the_report_names_the_network_and_its_groups_in_the_readers_language(client, session):
    network = await _network(
        client, session, translations={"fr": {"name": "Réseau <b>mondial</b>"}, "ar": {"name": "\u202eشبكة"}}
    )
    coordinator = network["coordinator"]["id"]
    for name, translations in (("Data", {"fr": {"name": "Données"}}), ("Returns", {})):
        group = await create_working_group(
            session,
            data=WorkingGroupCreate(
                network_id=network["id"], name=name, slug=name.lower(), gcm_objectives=[2], translations=translations
            ),
            actor=SYSTEM,
        )
        chair = PostCreate(entity_id=coordinator, start_date=date(2022, 3, 1))
        await add_post(session, group_id=group["id"], kind=PostKind.CHAIR, data=chair, actor=SYSTEM)
        await activate_working_group(
            session,
            group_id=group["id"],
            data=WorkingGroupActivate(activated_on=date(2022, 3, 1)),
            expected_version=None,
            actor=SYSTEM,
        )
    url = f"/v1/networks/{network['id']}/reports/activity"
    period = {"from": "2022-01-01", "to": "2022-12-31"}

    french = await client.get(url, params=period, headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert french.status_code == 200, french.text
    page = french.text
    assert "<h1><bdi>Réseau &lt;b&gt;mondial&lt;/b&gt;</bdi></h1>" in page  # translated, and escaped
    assert '<td dir="auto">Données</td>' in page
    assert '<td dir="auto" lang="en">Returns</td>' in page  # untranslated: English, and marked so
    assert '<td><bdi>Données</bdi>; <bdi lang="en">Returns</bdi></td>' in page  # objective 2's groups
    arabic = (await client.get(url, params=period, headers={"Accept": "text/html", "Accept-Language": "ar"})).text
    assert "<h1><bdi>\u202eشبكة</bdi></h1>" in arabic  # an override stays inside its isolate
    english = (await client.get(url, params=period, headers={"Accept": "text/html"})).text
    assert "<h1><bdi>United Nations Network on Migration</bdi></h1>" in english and "Données" not in english
