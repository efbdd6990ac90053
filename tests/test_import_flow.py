"""The import flow at the service level: reading a CSV, each row through its domain service,
and the report (the CLI's behaviour, run as operators run it, is in test_import.py)."""

import codecs
import csv
import io

import orjson
import pytest
from sqlalchemy import select

from services.entities.models import Entity
from services.imports.flow import import_rows
from services.imports.kinds import ENTITIES, MEMBERSHIPS
from services.imports.reading import ImportFileError, read_file, read_rows
from services.memberships.models import MembershipTier
from services.principals import SYSTEM_IMPORT, Principal, Role
from tests.factories import make_entity, make_membership, make_network

COLUMNS = {"required": ENTITIES.required, "optional": ENTITIES.optional, "ignored": ENTITIES.ignored}


def rows(*lines: str):
    return read_rows("\r\n".join(lines) + "\r\n", **COLUMNS)


async def test_each_row_is_reported_in_its_place(session):
    await make_entity(session, acronym="FLOW-OLD", name="Old entity")
    await make_entity(session, acronym="FLOW-OLD2", name="Old entity 2")
    report = await import_rows(
        session,
        ENTITIES,
        rows(
            "acronym,name,kind,parent_acronym",
            "FLOW-HQ,Headquarters,un_system,",  # 2
            "",  # a blank line is no row
            "FLOW-RO,Regional office,un_system,flow-hq",  # 4: its parent, the row above (any case)
            "flow-hq,Headquarters,un_system,",  # 5: the same acronym in another case
            "FLOW-OLD,Old entity,un_system,",  # 6: already there, the same
            "FLOW-OLD2,Renamed,un_system,",  # 7: already there, otherwise
            "FLOW-X,Too,many,cells,here",  # 8
            '"FLOW-Q","Quoted, with a comma",un_system,',  # 9
            "FLOW-K,Kinded,planet,",  # 10
            "FLOW-T,@SUM(A1:A9),un_system,",  # 11
        ),
        actor=SYSTEM_IMPORT,
    )
    old = await session.scalar(select(Entity.id).where(Entity.acronym == "FLOW-OLD2"))
    assert [str(o) for o in report.outcomes] == [
        "line 2: created: entity FLOW-HQ",
        "line 4: created: entity FLOW-RO",
        "line 5: rejected: entity flow-hq repeats line 2",
        "line 6: unchanged: entity FLOW-OLD",
        "line 7: rejected: entity FLOW-OLD2 is already in the registry with another name; an import adds records "
        f"and changes none: change it with PATCH /v1/entities/{old}",
        "line 8: rejected: 5 cells where the header names 4",
        "line 9: created: entity FLOW-Q",
        "line 10: rejected: kind: Input should be 'un_system', 'member_state', 'civil_society', 'private_sector', "
        "'academia', 'local_authority' or 'other'",
        "line 11: rejected: name: '@SUM(A1:A9)' reads as a spreadsheet formula; give the value itself",
    ]
    assert report.summary() == "9 rows: 3 created, 1 unchanged, 5 rejected"


async def test_the_rules_are_the_services_and_the_principals(session):
    reader = Principal(id="key:reader", role=Role.READER)
    report = await import_rows(session, ENTITIES, rows("acronym,name,kind", "FLOW-R,Read only,un_system"), actor=reader)
    assert [str(o) for o in report.outcomes] == [
        "line 2: rejected: Only the secretariat (admin role) may add entities to the registry."
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty: the first line must name the columns"),
        ("acronym,name\r\n", "line 1: missing column(s) kind. Columns: acronym, name, kind (required), "),
        ("acronym,name,kind,kind\r\n", "line 1: a column is named twice."),
    ],
)
def test_a_file_the_kind_cannot_read_is_refused_whole(text, message):
    with pytest.raises(ImportFileError) as refused:
        read_rows(text, required=ENTITIES.required, optional=ENTITIES.optional)
    assert str(refused.value).startswith(message)


# Names in the scripts a spreadsheet garbles when a CSV file does not say it is UTF-8.
NAMES = {
    "RT-AR": "المنظمة الدولية للهجرة",
    "RT-ZH": "国际移民组织",
    "RT-RU": "Международная организация по миграции",
}


async def _export(client, header: str) -> bytes:
    response = await client.get("/v1/entities", params={"header": header}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return response.content


async def test_an_export_opens_in_a_spreadsheet_and_imports_back_with_either_header(client, session, connection):
    savepoint = await connection.begin_nested()
    for acronym, name in NAMES.items():
        await make_entity(session, acronym=acronym, name=name, country_code="KE", website="https://example.org/")
    exported = {header: await _export(client, header) for header in ("labels", "fields")}
    for content in exported.values():
        assert content.startswith(codecs.BOM_UTF8)  # what tells a spreadsheet the file is UTF-8
        as_a_spreadsheet_reads_it = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        header, *lines = as_a_spreadsheet_reads_it
        assert not header[0].startswith("\ufeff")
        assert {line[2] for line in lines} >= set(NAMES.values())  # the name, the third column
    labels = csv.reader(io.StringIO(exported["labels"].decode("utf-8-sig")))
    assert next(labels)[:4] == ["ID", "Acronym", "Name", "Kind"]
    fields = csv.reader(io.StringIO(exported["fields"].decode("utf-8-sig")))
    assert next(fields)[:4] == ["id", "acronym", "name", "kind"]

    def import_(content: bytes, *, with_mark: bool):
        text = content.decode("utf-8" if with_mark else "utf-8-sig")  # utf-8 keeps the mark in the text
        assert text.startswith("\ufeff") == with_mark
        return import_rows(session, ENTITIES, read_rows(text, **COLUMNS), actor=SYSTEM_IMPORT)

    # Into the registry it came from: every row is already there with the same values.
    for header, content in exported.items():
        for with_mark in (True, False):
            report = await import_(content, with_mark=with_mark)
            assert not report.rejected, (header, with_mark, [str(o) for o in report.rejected])
            assert {o.status for o in report.outcomes} == {"unchanged"}
    # Into a registry without them: created, with their names as they were.
    await savepoint.rollback()
    report = await import_(exported["labels"], with_mark=True)
    created = sorted(o.detail for o in report.outcomes if o.status == "created")
    assert [str(o) for o in report.rejected] == []
    assert created == [f"entity {acronym}" for acronym in sorted(NAMES)]
    stored = dict((await session.execute(select(Entity.acronym, Entity.name).where(Entity.acronym.in_(NAMES)))).all())
    assert stored == NAMES


def test_a_header_may_name_the_columns_for_people_or_by_field_and_in_any_case():
    for header in ("Acronym,Name,Kind,Parent acronym,Country code", "acronym,NAME,kind,parent_acronym,country code"):
        [row] = rows(header, "RT-X,X,un_system,RT-HQ,KE")
        assert row.values == {
            "acronym": "RT-X",
            "name": "X",
            "kind": "un_system",
            "parent_acronym": "RT-HQ",
            "country_code": "KE",
        }
    [exported] = rows("ID,Acronym,Name,Kind,UN system,Is demo,Created at", "1,RT-Y,Y,un_system,yes,no,2020-01-01")
    assert exported.values == {"acronym": "RT-Y", "name": "Y", "kind": "un_system"}  # the registry's own left aside
    with pytest.raises(ImportFileError) as refused:
        rows("Acronym,Name,Kind,Colour", "RT-Z,Z,un_system,blue")
    assert str(refused.value).startswith("line 1: unknown column(s) Colour.")


def test_a_file_with_a_byte_order_mark_reads_as_one_without(tmp_path):
    lines = "acronym,name,kind\r\nRT-B,Бюро,un_system\r\n"
    for name, content in (("bom.csv", codecs.BOM_UTF8 + lines.encode()), ("plain.csv", lines.encode())):
        path = tmp_path / name
        path.write_bytes(content)
        [row] = read_file(path, **COLUMNS)
        assert row.values == {"acronym": "RT-B", "name": "Бюро", "kind": "un_system"}


async def test_a_memberships_export_imports_back_its_entity_read_from_the_exported_object(client, session):
    network = await make_network(session)
    for acronym, name in NAMES.items():
        entity = await make_entity(session, acronym=acronym, name=name)
        await make_membership(session, network_id=network["id"], entity_id=entity["id"], tier=MembershipTier.CORE)
    exported = await client.get(f"/v1/networks/{network['id']}/memberships", headers={"Accept": "text/csv"})
    assert exported.status_code == 200, exported.text
    columns = {"required": MEMBERSHIPS.required, "optional": MEMBERSHIPS.optional, "ignored": MEMBERSHIPS.ignored}
    read = read_rows(exported.content.decode("utf-8"), **columns)
    entities = [orjson.loads(row.values["entity"]) for row in read]
    assert {e["name"] for e in entities if e["acronym"] in NAMES} == set(NAMES.values())
    report = await import_rows(session, MEMBERSHIPS, read, actor=SYSTEM_IMPORT)
    assert {o.status for o in report.outcomes} == {"unchanged"}, [str(o) for o in report.outcomes]
    assert {o.detail for o in report.outcomes} >= {f"membership of {acronym} from 2019-01-01" for acronym in NAMES}
