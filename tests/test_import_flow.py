"""The import flow at the service level: reading a CSV, each row through its domain service,
and the report (the CLI's behaviour, run as operators run it, is in test_import.py)."""

import pytest
from sqlalchemy import select

from services.entities.models import Entity
from services.imports.flow import import_rows
from services.imports.kinds import ENTITIES
from services.imports.reading import ImportFileError, read_rows
from services.principals import SYSTEM_IMPORT, Principal, Role
from tests.factories import make_entity


def rows(*lines: str):
    return read_rows("\r\n".join(lines) + "\r\n", required=ENTITIES.required, optional=ENTITIES.optional)


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
