"""Reference data checked against real lists: countries (ISO 3166-1 and XK), regions (the UN
regional commissions), SDG targets and entity identifier schemes. A made-up value is a 422
that says in words what is wrong and what would do; real ones are accepted."""

import pytest

from services.networks.models import NetworkScope
from services.reference.countries import countries, country_code_problem
from services.reference.identifiers import identifier_problem
from services.reference.regions import RegionalCommission, commissions, country_outside_region
from services.reference.sdg import goals, sdg_target_problem, targets
from tests.factories import make_network


def _detail(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]["detail"]


# The lists


def test_the_lists_are_complete():
    assert len(targets()) == 169 and len(goals()) == 17
    assert {"1.1", "10.7", "10.c", "17.19", "16.10", "16.b"} <= set(targets())
    assert {"1.19", "4.g", "16.19", "17.20", "18.1"}.isdisjoint(targets())
    assert len(countries()) == 250  # the 249 of ISO 3166-1 and Kosovo
    assert countries()["FR"].m49 == "250" and countries()["KE"].m49 == "404" and countries()["XK"].m49 is None
    sizes = {c.value: len(commissions()[c].members) for c in RegionalCommission}
    assert sizes == {"ECA": 54, "ECE": 56, "ECLAC": 46, "ESCAP": 53, "ESCWA": 21}
    for commission in commissions().values():  # every code of every list is a country the registry knows
        assert commission.members | commission.associate_members <= set(countries())


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (
            "ZZ",
            "ZZ is not an ISO 3166-1 country code (ISO 3166-1 leaves it to private use); did you mean ZA (South Africa)",
        ),
        ("AA", "AA is not an ISO 3166-1 country code (ISO 3166-1 leaves it to private use); did you mean AD (Andorra)"),
        ("fr", "Country codes are written in capital letters: write FR (France), not 'fr'."),
        ("FRA", "'FRA' is not a two-letter ISO 3166-1 country code; did you mean FR (France)?"),
        ("AN", "AN (Netherlands Antilles) was withdrawn from ISO 3166-1 on 2010-12-15"),
    ],
)
def test_a_made_up_country_code_is_explained(value, words):
    assert country_code_problem(value).startswith(words)


def test_real_country_codes_and_kosovo_are_accepted():
    assert [country_code_problem(code) for code in ("FR", "KE", "CN", "XK")] == [None] * 4


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.19", "'1.19' is not an SDG target: goal 1's targets are 1.1 to 1.5, 1.a and 1.b. The nearest are 1.1,"),
        ("4.g", "'4.g' is not an SDG target: goal 4's targets are 4.1 to 4.7 and 4.a to 4.c. The nearest are 4.c"),
        (
            "16.19",
            "'16.19' is not an SDG target: goal 16's targets are 16.1 to 16.10, 16.a and 16.b. The nearest are 16.9",
        ),
        ("18.1", "'18.1' is not an SDG target: targets are numbered goal.target, goals 1 to 17"),
    ],
)
def test_a_made_up_sdg_target_names_the_nearest_valid_ones(value, words):
    assert sdg_target_problem(value).startswith(words)


def test_a_country_network_sits_in_its_commissions_region():
    assert country_outside_region(RegionalCommission.ECLAC, "BR") is None
    assert country_outside_region(RegionalCommission.ECLAC, "GP") is None  # an associate member
    assert country_outside_region(RegionalCommission.ECE, "XK") is None  # a designated area within it
    assert "is a member of ECLAC from outside its region" in country_outside_region(RegionalCommission.ECLAC, "FR")
    assert "is not in the region of ECA" in country_outside_region(RegionalCommission.ECA, "BR")


@pytest.mark.parametrize(
    ("scheme", "value", "problem"),
    [
        ("iati", "XM-DAC-47066", None),
        ("iati", "GB-COH-01234567", None),
        ("iati", "XM-DAC-4706", "after XM-DAC- comes the organisation's five-digit OECD DAC channel code"),
        ("iati", "47066", "is not an IATI organisation identifier: an IATI organisation identifier is the"),
        ("iati", "ZZ-COH-123", "starts with ZZ, which is neither a country code nor XM/XI"),
        ("ror", "03m2x1q45", None),
        ("ror", "R-1", "is not a ROR id"),
        ("wikidata", "Q3358", None),
        ("duns", "123", "'duns' is not an identifier scheme of the registry; it knows iati, ror, wikidata."),
    ],
)
def test_identifiers_are_checked_by_their_schemes_format(scheme, value, problem):
    found = identifier_problem(scheme, value)
    assert found is None if problem is None else problem in found


# Through the API


async def test_made_up_country_codes_are_refused_in_words(client, session):
    network = await make_network(session)
    coordinator = {"entity_id": str(network["coordinator"]["id"]), "mandate_relevance": "M.", "capacity": "C."}
    base = {"name": "N", "scope": "country", "parent_network_id": str(network["id"]), "established_on": "2020-01-01"}
    for code in ("ZZ", "AA"):
        detail = _detail(
            await client.post("/v1/networks", json={**base, "country_code": code, "coordinator": coordinator})
        )
        assert detail.startswith(f"{code} is not an ISO 3166-1 country code") and "did you mean" in detail
        detail = _detail(
            await client.post(
                "/v1/entities", json={"acronym": f"E{code}", "name": "E", "kind": "academia", "country_code": code}
            )
        )
        assert "is not an ISO 3166-1 country code" in detail
    lower = _detail(
        await client.post(
            "/v1/entities", json={"acronym": "LOW", "name": "L", "kind": "academia", "country_code": "ke"}
        )
    )
    assert lower == "Country codes are written in capital letters: write KE (Kenya), not 'ke'."
    assert "capital letters" in _detail(await client.get("/v1/entities", params={"country_code": "ke"}))
    for code in ("KE", "XK"):
        created = await client.post(
            "/v1/networks", json={**base, "name": code, "country_code": code, "coordinator": coordinator}
        )
        assert created.status_code == 201, created.text
        assert created.json()["country_code"] == code


async def test_a_free_text_region_is_refused_naming_the_commissions(client, session):
    network = await make_network(session)
    coordinator = {"entity_id": str(network["coordinator"]["id"]), "mandate_relevance": "M.", "capacity": "C."}
    base = {
        "scope": "regional",
        "parent_network_id": str(network["id"]),
        "established_on": "2020-01-01",
        "coordinator": coordinator,
    }
    detail = _detail(await client.post("/v1/networks", json={**base, "name": "Africa", "region": "Africa"}))
    assert detail.startswith(
        "'Africa' is not a UN regional commission. A region is one of ECA (Economic Commission for Africa), ECE"
    )
    assert detail.endswith("For 'Africa', use ECA.")
    assert "For 'Mediterranean'" not in _detail(
        await client.post("/v1/networks", json={**base, "name": "M", "region": "Mediterranean"})
    )
    for region in ("ECA", "ESCWA"):
        created = await client.post("/v1/networks", json={**base, "name": region, "region": region})
        assert created.status_code == 201 and created.json()["region"] == region


async def test_a_country_network_outside_its_regional_parents_commission_is_refused(client, session):
    world = await make_network(session)
    lac = await make_network(
        session, scope=NetworkScope.REGIONAL, region="ECLAC", parent_network_id=world["id"], name="LAC"
    )
    africa = await make_network(
        session, scope=NetworkScope.REGIONAL, region="ECA", parent_network_id=world["id"], name="Africa"
    )
    coordinator = {"entity_id": str(world["coordinator"]["id"]), "mandate_relevance": "M.", "capacity": "C."}

    async def country(parent, code):
        body = {
            "name": f"{code} network",
            "scope": "country",
            "parent_network_id": str(parent["id"]),
            "country_code": code,
            "established_on": "2020-01-01",
            "coordinator": coordinator,
        }
        return await client.post("/v1/networks", json=body)

    refused = await country(lac, "FR")
    assert refused.json()["type"] == "/problems/country-outside-region"
    assert refused.json()["detail"].startswith("FR (France) is a member of ECLAC from outside its region")
    assert "is not in the region of ECA" in (await country(africa, "BR")).json()["detail"]
    brazil, kenya = await country(lac, "BR"), await country(africa, "KE")
    assert brazil.status_code == 201 and kenya.status_code == 201
    # Moving a country network's country, or a regional network's region, out of the region: refused.
    url = f"/v1/networks/{brazil.json()['id']}"
    moved = await client.patch(url, json={"country_code": "KE"}, headers={"If-Match": brazil.headers["etag"]})
    assert moved.json()["type"] == "/problems/country-outside-region"
    etag = (await client.get(f"/v1/networks/{lac['id']}")).headers["etag"]
    renamed = await client.patch(f"/v1/networks/{lac['id']}", json={"region": "ECA"}, headers={"If-Match": etag})
    assert renamed.status_code == 422 and "BR network (BR)" in renamed.json()["detail"]
    assert (
        await client.patch(url, json={"country_code": "AR"}, headers={"If-Match": brazil.headers["etag"]})
    ).status_code == 200


async def test_made_up_sdg_targets_are_refused_and_real_ones_accepted(client, session):
    network = await make_network(session)
    body = {"network_id": str(network["id"]), "name": "Data", "gcm_objectives": [1]}
    for n, target in enumerate(("1.19", "4.g", "16.19")):
        response = await client.post(
            "/v1/working-groups", json={**body, "slug": f"bad-{n}", "sdg_targets": ["10.7", target]}
        )
        assert response.json()["errors"][0]["pointer"] == "#/sdg_targets/1"
        assert _detail(response).startswith(f"'{target}' is not an SDG target") and "The nearest are" in _detail(
            response
        )
    created = await client.post(
        "/v1/working-groups", json={**body, "slug": "good", "sdg_targets": ["10.7", "10.c", "17.19"]}
    )
    assert created.status_code == 201 and created.json()["sdg_targets"] == ["10.7", "10.c", "17.19"]


async def test_iati_identifiers_through_the_api(client):
    body = {"name": "International Organization for Migration", "kind": "un_system"}
    created = await client.post(
        "/v1/entities", json={**body, "acronym": "IOM-R", "identifiers": [{"scheme": "iati", "value": "XM-DAC-47066"}]}
    )
    assert created.status_code == 201 and created.json()["identifiers"] == [{"scheme": "iati", "value": "XM-DAC-47066"}]
    refused = await client.post(
        "/v1/entities", json={**body, "acronym": "IOM-X", "identifiers": [{"scheme": "iati", "value": "IOM"}]}
    )
    assert "is not an IATI organisation identifier" in _detail(refused)


async def test_two_countries_in_two_languages(client):
    french = (await client.get("/v1/countries", params={"lang": "fr"})).json()
    arabic = (await client.get("/v1/countries", params={"lang": "ar"})).json()
    chinese = {c["code"]: c for c in (await client.get("/v1/countries", params={"lang": "zh"})).json()["items"]}
    fr = {c["code"]: c for c in french["items"]}
    ar = {c["code"]: c for c in arabic["items"]}
    assert french["language"] == "fr" and len(french["items"]) == 250
    assert fr["DE"]["name"] == "Allemagne" and fr["CI"]["name"] == "Côte d'Ivoire" and fr["DE"]["m49"] == "276"
    assert ar["DE"]["name"] == "ألمانيا" and chinese["DE"]["name"] == "德国" and chinese["JP"]["name"] == "日本"
    assert fr["XK"]["in_iso_3166_1"] is False and fr["XK"]["designation_footnote"].startswith("References to Kosovo")
    assert fr["DE"]["designation_footnote"] is None
    assert (await client.get("/v1/countries", params={"lang": "de"})).status_code == 422


async def test_regions_and_sdg_targets_are_listed(client):
    regions = {r["code"]: r for r in (await client.get("/v1/regions")).json()["items"]}
    assert list(regions) == ["ECA", "ECE", "ECLAC", "ESCAP", "ESCWA"]
    assert "BR" in regions["ECLAC"]["countries"] and "FR" not in regions["ECLAC"]["countries"]
    assert "FR" in regions["ECLAC"]["non_regional_members"] and "XK" in regions["ECE"]["countries"]
    items = (await client.get("/v1/sdg-targets")).json()["items"]
    assert len(items) == 169 and items[0] == {
        "number": "1.1",
        "goal": 1,
        "goal_title": "End poverty in all its forms everywhere",
    }


async def test_the_entities_import_takes_identifiers(session):
    from services.imports.kinds import ENTITIES, RowRejected

    json_cell = '[{"scheme": "iati", "value": "XM-DAC-41122"}]'
    for acronym, cell in (("IMP-A", json_cell), ("IMP-B", "iati:XM-DAC-41114; wikidata:Q3358")):
        prepared = await ENTITIES.prepare(
            session, {"acronym": acronym, "name": acronym, "kind": "un_system", "identifiers": cell}
        )
        assert prepared.data.identifiers[0].value.startswith("XM-DAC-41")
        assert len(prepared.data.identifiers) == (1 if acronym == "IMP-A" else 2)
    with pytest.raises(RowRejected, match="scheme:value"):
        await ENTITIES.prepare(
            session, {"acronym": "IMP-C", "name": "C", "kind": "un_system", "identifiers": "XM-DAC-41114"}
        )


async def test_the_demo_un_entities_carry_their_iati_ids(client, session):
    from services.demo.service import load_demo_data

    assert await load_demo_data(session)
    found = {}
    for acronym in ("IOM", "UNHCR", "UNICEF", "UNDP", "ILO", "FAO"):
        [entity] = (await client.get("/v1/entities", params={"acronym": acronym})).json()["items"]
        found[acronym] = entity["identifiers"]
    assert found["IOM"] == [{"scheme": "iati", "value": "XM-DAC-47066"}]
    assert found["UNHCR"] == [{"scheme": "iati", "value": "XM-DAC-41121"}]
    assert all(ids and ids[0]["value"].startswith("XM-DAC-") for ids in found.values())
