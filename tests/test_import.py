"""`registry import`, run as operators run it: a dry run reports every row it would reject by
line and reason and changes nothing; a real import is all or nothing, through the domain
services (events and audit entries); the same file twice changes nothing the second time."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from services.database import get_database
from services.entities.models import EntityKind
from tests.conftest import ROOT, TEST_DATABASE_URL, committed_admin_key
from tests.factories import make_entity, make_network

BIN = Path(sys.executable).parent


def registry(*args: str, stderr_tty: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROKER_URL", "JWT_"))}
    env |= {"DATABASE_URL": TEST_DATABASE_URL, "LOG_LEVEL": "WARNING"}
    if not stderr_tty:
        return subprocess.run(
            [str(BIN / "registry"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    leader, follower = pty.openpty()  # stderr on a terminal, as an operator's shell has it
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    try:
        done = subprocess.run(
            [str(BIN / "registry"), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
        )
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
        return subprocess.CompletedProcess(done.args, done.returncode, done.stdout, terminal.decode(errors="replace"))
    finally:
        os.close(leader)


async def counts() -> dict[str, int]:
    async with get_database().read() as conn:
        return {
            table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("entities", "memberships", "events", "audit_log")
        }


@pytest.fixture
async def network(committed):
    async with get_database().session() as session:
        network = await make_network(session)
        for acronym in ("IMP-A", "IMP-B", "IMP-C"):
            await make_entity(session, acronym=acronym)
        await make_entity(session, acronym="IMP-NGO", kind=EntityKind.CIVIL_SOCIETY)
    return network


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_a_dry_run_reports_every_rejected_row_and_changes_nothing(network, tmp_path):
    net = network["id"]
    errors = write(
        tmp_path / "memberships.csv",
        [
            "network_id,entity,tier,start_date,end_date,notes",
            f"{net},IMP-A,extended,2020-01-01,,",  # 2: fine
            f"{net},NOPE,extended,2020-01-01,,",  # 3: unknown entity
            f"{net},IMP-B,extended,2020-13-01,,",  # 4: bad date
            f"{net},IMP-A,extended,2020-01-01,,",  # 5: repeats line 2
            f"{net},IMP-A,extended,2020-06-01,,",  # 6: overlaps line 2's membership
            f'{net},IMP-C,extended,2021-01-01,,"=HYPERLINK(""http://evil.example"",""x"")"',  # 7: a formula
            f"{net},IMP-NGO,extended,2021-01-01,,",  # 8: not a UN-system entity (a service rule)
            f"{net},IMP-B,extended,2021-01-01,,Joined after the 2020 review",  # 9: fine
        ],
    )
    before = await counts()
    for args in (("--dry-run",), ()):  # a dry run, then a real run: both refuse the file whole
        done = registry("import", "memberships", str(errors), *args)
        assert done.returncode == 1, done.stderr
        report = done.stdout.splitlines()
        assert report[:6] == [
            "line 3: rejected: entity: no entity has the acronym 'NOPE'",
            "line 4: rejected: start_date: Input should be a valid date or datetime, "
            "month value is outside expected range of 1-12",
            "line 5: rejected: membership of IMP-A from 2020-01-01 repeats line 2",
            report[3],
            'line 7: rejected: notes: \'=HYPERLINK("http://evil.example","x")\' reads as a spreadsheet formula; '
            "give the value itself",
            report[5],
        ]
        assert report[3].startswith("line 6: rejected: ") and "IMP-A" in report[3] and "2020-01-01" in report[3]
        assert report[5].startswith("line 8: rejected: IMP-NGO is a civil society stakeholder")
        assert report[6] == "8 rows: 2 created, 0 unchanged, 6 rejected (memberships, as system:import)"
        assert report[7] == (
            "Dry run: nothing was changed."
            if args
            else "Nothing was changed: an import is all or nothing. Fix the rejected rows and run it again."
        )
        assert await counts() == before
        assert "row/s" not in done.stderr  # no progress bar when stderr is not a terminal


async def test_an_import_commits_through_the_services_and_a_second_run_changes_nothing(network, tmp_path):
    net = network["id"]
    entities = write(
        tmp_path / "entities.csv",
        [
            "acronym,name,kind,country_code,website,parent_acronym",
            "IMP-HQ,Imported headquarters,un_system,,https://hq.example.org,",
            "IMP-RO,Imported regional office,un_system,KE,,IMP-HQ",  # its parent: the row above
            "IMP-CSO,Imported civil society,civil_society,,,",
        ],
    )
    memberships = write(
        tmp_path / "memberships.csv",
        [
            "network_id,entity,tier,start_date,end_date,mandate_relevance,capacity",
            f"{net},IMP-HQ,core,2020-01-01,,Migration is its mandate.,A regional presence.",
            f"{net},IMP-RO,extended,2019-01-01,2019-12-31,,",
        ],
    )
    before, started = await counts(), datetime.now(UTC)
    for path, kind in ((entities, "entities"), (memberships, "memberships")):
        done = registry("import", kind, str(path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "2 created" in done.stdout or "3 created" in done.stdout
        assert "Committed." in done.stdout
    after = await counts()
    assert after["entities"] == before["entities"] + 3
    assert after["memberships"] == before["memberships"] + 2
    assert after["events"] == before["events"] + 5  # each record's event...
    assert after["audit_log"] == before["audit_log"] + 5  # ...and audit entry, as through the API
    async with get_database().read() as conn:
        imported = (
            await conn.execute(
                text(
                    "SELECT principal_id, count(*) AS entries, count(DISTINCT request_id) AS imports FROM audit_log "
                    "WHERE request_id LIKE 'import-%' AND occurred_at >= :started GROUP BY principal_id"
                ),
                {"started": started},
            )
        ).all()
    assert [tuple(r) for r in imported] == [("system:import", 5, 2)]  # two imports, each under its own id
    for path, kind, rows in ((entities, "entities", 3), (memberships, "memberships", 2)):
        again = registry("import", kind, str(path), "--verbose")
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"{rows} rows: 0 created, {rows} unchanged, 0 rejected" in again.stdout
        assert all(": unchanged: " in line for line in again.stdout.splitlines()[:rows])
    assert await counts() == after
    changed = write(tmp_path / "changed.csv", ["acronym,name,kind", "IMP-HQ,Another name,un_system"])
    refused = registry("import", "entities", str(changed))
    assert refused.returncode == 1
    assert refused.stdout.startswith("line 2: rejected: entity IMP-HQ is already in the registry with another name")


async def test_the_operators_key_decides_what_it_may_import(network, tmp_path):
    async with get_database().session() as session:
        from services.api_keys.schemas import ApiKeyCreate
        from services.api_keys.service import create_api_key
        from services.principals import SYSTEM

        _, reader_key = await create_api_key(session, data=ApiKeyCreate(name="reader", role="reader"), actor=SYSTEM)
    path = write(tmp_path / "entities.csv", ["acronym,name,kind", "IMP-KEY,Imported with a key,un_system"])
    refused = registry("import", "entities", str(path), "--api-key", reader_key)
    assert refused.returncode == 1
    assert refused.stdout.startswith("line 2: rejected: Only the secretariat (admin role) may add entities")
    admin_key = await committed_admin_key()
    done = registry("import", "entities", str(path), "--api-key", admin_key, stderr_tty=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rows: 1 created" in done.stdout and "as key:" in done.stdout
    assert "100%" in done.stderr and "1/1" in done.stderr  # the progress bar, on a terminal
    unknown = registry("import", "entities", str(path), "--api-key", "mnr_not_a_key")
    assert unknown.returncode == 2 and "registry import:" in unknown.stderr


async def test_a_file_with_unknown_columns_is_refused_whole(network, tmp_path):
    path = write(tmp_path / "entities.csv", ["acronym,name,kind,colour", "IMP-X,X,un_system,blue"])
    done = registry("import", "entities", str(path), "--dry-run")
    assert done.returncode == 2
    assert "line 1: unknown column(s) colour. Columns: acronym, name, kind (required)" in done.stderr


async def test_working_group_seats_are_given_through_the_working_groups_service(network, tmp_path):
    from datetime import date

    from services.principals import SYSTEM
    from services.working_groups.schemas import WorkingGroupCreate
    from services.working_groups.service import create_working_group
    from tests.factories import make_membership

    async with get_database().session() as session:
        entities = {
            row.acronym: row.id
            for row in (await session.execute(text("SELECT acronym, id FROM entities WHERE acronym LIKE 'IMP-%'")))
        }
        for acronym in ("IMP-A", "IMP-B"):
            await make_membership(
                session, network_id=network["id"], entity_id=entities[acronym], start_date=date(2019, 1, 1)
            )
        group = await create_working_group(
            session,
            data=WorkingGroupCreate(network_id=network["id"], name="Imported seats", slug="imported-seats"),
            actor=SYSTEM,
        )
    seats = write(
        tmp_path / "seats.csv",
        [
            "working_group_id,entity,start_date",
            f"{group['id']},IMP-A,2020-01-01",
            f"{group['id']},IMP-B,2020-01-01",
            f"{group['id']},IMP-C,2020-01-01",  # 4: not a member of the network (the service's rule)
            "not-a-group,IMP-A,2020-01-01",  # 5
        ],
    )
    checked = registry("import", "working-group-seats", str(seats), "--dry-run")
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("line 4: rejected: ") and "IMP-C" in lines[0]
    assert lines[1] == "line 5: rejected: working_group_id: 'not-a-group' is not an id (a UUID)"
    good = write(tmp_path / "good.csv", seats.read_text().splitlines()[:3])  # the header and the two good rows
    before = await counts()
    assert registry("import", "working-group-seats", str(good)).returncode == 0
    after = await counts()
    assert after["events"] == before["events"] + 2 and after["audit_log"] == before["audit_log"] + 2
    again = registry("import", "working-group-seats", str(good))
    assert again.returncode == 0 and "2 rows: 0 created, 2 unchanged, 0 rejected" in again.stdout
    assert await counts() == after
    async with get_database().read() as conn:
        held = (
            await conn.execute(
                text("SELECT count(*) FROM working_group_posts WHERE working_group_id = :g AND kind = 'member'"),
                {"g": group["id"]},
            )
        ).scalar_one()
    assert held == 2


async def test_a_file_as_the_export_writes_it_imports_from_the_command_line(network, tmp_path):
    exported = tmp_path / "entities.csv"  # a byte-order mark, a header in words, the registry's own columns
    lines = (
        "\ufeffID,Acronym,Name,Kind,UN system,Country code,Created at",
        "0190c5d2-7e6a-7b3c-8f00-5d1c2a3b4c5d,IMP-AR,المنظمة الدولية للهجرة,un_system,yes,KE,2024-01-01T00:00:00+00:00",
    )
    exported.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    done = registry("import", "entities", str(exported))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rows: 1 created" in done.stdout
    async with get_database().read() as conn:
        name = (await conn.execute(text("SELECT name FROM entities WHERE acronym = 'IMP-AR'"))).scalar_one()
    assert name == "المنظمة الدولية للهجرة"
