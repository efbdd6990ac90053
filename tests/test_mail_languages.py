"""E-mails and calendar texts in each recipient's language, as a real SMTP server receives
them: a person's preferred language first, else the language of the network the message is
about, else English. Two focal points of one entity who prefer two languages get one message
each, in their own; an entity's contact address and an external stakeholder, with no person
behind them, get the network's. A network's ``language`` is written and read through the API
and refused in words when it is not one of the six."""

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import icalendar

from services.database import get_database
from services.meetings.models import MeetingKind
from services.meetings.schemas import AgendaItem, InviteeIn, MeetingCreate, MeetingTexts
from services.meetings.service import create_meeting
from services.networks.schemas import NetworkTexts
from services.people.schemas import FocalPointCreate, PersonCreate
from services.people.service import appoint_focal_point, create_person
from services.principals import SYSTEM
from tests.browser import artifacts_dir
from tests.factories import make_entity, make_membership, make_network
from tests.spreadsheet import csv_records
from tests.test_mail import _cancel_and_send, _relay_and_send, smtp  # noqa: F401 - the fixture

TITLE = "Réunion annuelle / الاجتماع السنوي"  # the record's own title: never translated


def _received(raw: list[bytes]) -> dict[str, EmailMessage]:
    """Each message as a mail reader parses it, by recipient; its raw header lines checked."""
    found = {}
    for data in raw:
        headers = data.split(b"\r\n\r\n", 1)[0].decode("ascii")  # policy.SMTP: ASCII headers, encoded words
        subject_line = next(line for line in headers.split("\r\n") if line.startswith("Subject:"))
        assert not subject_line.startswith("Subject:\r\n") and subject_line[len("Subject: ")] != " ", subject_line
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage) and not message.defects, message.defects
        found[str(message["To"])] = message
    return found


def _bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content()


def _calendar(message: EmailMessage) -> icalendar.Event:
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    [event] = calendar.walk("VEVENT")
    return event


async def _meeting_of_a_spanish_network(starts: datetime, **overrides: Any) -> dict:
    """A meeting of a network whose language is Spanish. Invited: UNHCR, whose two focal
    points prefer French and Arabic; ILO, with no focal point (its contact address); and an
    external stakeholder."""
    async with get_database().session() as session:
        iom = await make_entity(session, acronym="LG-IOM", name="IOM", contact_email="secretariat@iom.example")
        network = await make_network(
            session,
            coordinator_id=iom["id"],
            name="Red Regional sobre Migración",
            language="es",
            translations={"fr": NetworkTexts(name="Réseau régional sur les migrations")},
        )
        assert network["language"] == "es"
        unhcr = await make_entity(session, acronym="LG-UNHCR", name="UNHCR", contact_email="registry@unhcr.example")
        ilo = await make_entity(session, acronym="LG-ILO", name="ILO", contact_email="focal@ilo.example")
        for member in (unhcr, ilo):
            await make_membership(session, network_id=network["id"], entity_id=member["id"])
        for name, address, language in (
            ("Claire Dubois", "claire@unhcr.example", "fr"),
            ("Amira Haddad", "amira@unhcr.example", "ar"),
        ):
            person = await create_person(
                session,
                data=PersonCreate(entity_id=unhcr["id"], name=name, email=address, preferred_language=language),
                actor=SYSTEM,
            )
            await appoint_focal_point(
                session,
                person_id=person["id"],
                data=FocalPointCreate(entity_id=unhcr["id"], start_date=date(2020, 1, 1)),
                actor=SYSTEM,
            )
        return await create_meeting(
            session,
            data=MeetingCreate(
                network_id=network["id"],
                kind=MeetingKind.EXTENDED_MEMBERSHIP,
                title=TITLE,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                time_zone="Europe/Zurich",
                location="Palais des Nations",
                online_url="https://meet.example.org/annual",
                agenda=[AgendaItem(title="Opening")],
                invitees=[
                    InviteeIn(entity_id=unhcr["id"]),
                    InviteeIn(entity_id=ilo["id"]),
                    InviteeIn(name="Migrant Forum", email="mf@example.org"),
                ],
                **overrides,
            ),
            actor=SYSTEM,
        )


async def test_each_recipient_reads_the_invitation_in_their_own_language(committed, smtp):  # noqa: F811
    year = datetime.now(UTC).year + 1
    starts = datetime(year, 1, 14, 13, 0, tzinfo=UTC)  # 14:00 in Zurich
    await _meeting_of_a_spanish_network(starts)
    await _relay_and_send()
    messages = _received(smtp.raw)
    assert set(messages) == {"claire@unhcr.example", "amira@unhcr.example", "focal@ilo.example", "mf@example.org"}
    languages = {address: str(message["Content-Language"]) for address, message in messages.items()}
    assert languages == {
        "claire@unhcr.example": "fr",  # her preferred language
        "amira@unhcr.example": "ar",  # hers: the same entity, another language
        "focal@ilo.example": "es",  # a contact address: the network's
        "mf@example.org": "es",  # an external stakeholder: the network's
    }
    subjects = {address: str(message["Subject"]) for address, message in messages.items()}
    assert subjects == {
        "claire@unhcr.example": f"Invitation : {TITLE}",
        "amira@unhcr.example": f"دعوة: {TITLE}",
        "focal@ilo.example": f"Invitación: {TITLE}",
        "mf@example.org": f"Invitación: {TITLE}",
    }

    plain, html = _bodies(messages["claire@unhcr.example"])
    assert "Vous êtes invité à la réunion ci-dessous." in plain
    assert "Vous êtes invité en qualité de : l'un des points focaux de UNHCR." in plain
    assert f"Réunion : {TITLE}" in plain
    assert "Réseau : Réseau régional sur les migrations" in plain  # the network's translated name
    jour = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")[starts.weekday()]
    assert f"Quand : {jour} 14 janvier {year}, 14:00\u201317:00 Europe/Zurich (13:00\u201316:00 UTC)" in plain
    assert "Organisée par : IOM, secrétariat du réseau <secretariat@iom.example>" in plain
    assert "Participerez-vous ? Répondez par l'un de ces liens :" in plain and "  Accepter: " in plain
    assert html.startswith('<!DOCTYPE html><html lang="fr" dir="ltr">')
    assert f'<span dir="auto">{TITLE}</span>' in html and ">Accepter</a>" in html
    event = _calendar(messages["claire@unhcr.example"])
    assert str(event["SUMMARY"]) == TITLE  # the record's own words stay as written
    assert "En ligne : https://meet.example.org/annual" in str(event["DESCRIPTION"])

    plain, html = _bodies(messages["amira@unhcr.example"])
    assert "أنت مدعو إلى الاجتماع المبين أدناه." in plain
    assert "أنت مدعو بصفتك إحدى جهات الاتصال لدى UNHCR." in plain
    assert f"14 يناير {year}، 14:00" in plain and "هل ستحضر؟" in plain  # the Arabic comma
    assert "الشبكة: Red Regional sobre Migración" in plain  # no Arabic name: the original
    assert html.startswith('<!DOCTYPE html><html lang="ar" dir="rtl">')
    assert f'<span dir="auto">{TITLE}</span>' in html and ">قبول</a>" in html
    assert "عبر الإنترنت: https://meet.example.org/annual" in str(
        _calendar(messages["amira@unhcr.example"])["DESCRIPTION"]
    )

    plain, html = _bodies(messages["mf@example.org"])
    assert "Usted está invitado como Migrant Forum, a título nominal." in plain
    día = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")[starts.weekday()]
    assert f"{día}, 14 de enero de {year}, 14:00\u201317:00 Europe/Zurich" in plain
    assert html.startswith('<!DOCTYPE html><html lang="es" dir="ltr">')
    plain, _ = _bodies(messages["focal@ilo.example"])
    assert "la dirección de contacto de ILO, que no tiene punto focal registrado" in plain
    for address in ("claire@unhcr.example", "amira@unhcr.example"):
        (artifacts_dir() / f"meeting-mail-{languages[address]}.eml").write_bytes(
            next(raw for raw in smtp.raw if address.encode() in raw.split(b"\r\n\r\n", 1)[0])
        )


async def test_a_cancellation_is_in_the_recipients_language_with_its_reason(committed, smtp):  # noqa: F811
    year = datetime.now(UTC).year + 1
    meeting = await _meeting_of_a_spanish_network(datetime(year, 2, 3, 8, 0, tzinfo=UTC))
    await _relay_and_send()
    invited = len(smtp.raw)
    await _cancel_and_send(meeting["id"], "Salle indisponible.")
    cancellations = _received(smtp.raw[invited:])
    assert {address: str(m["Content-Language"]) for address, m in cancellations.items()} == {
        "claire@unhcr.example": "fr",
        "amira@unhcr.example": "ar",
        "focal@ilo.example": "es",
        "mf@example.org": "es",
    }
    claire = cancellations["claire@unhcr.example"]
    assert str(claire["Subject"]) == f"Annulée : {TITLE}"
    plain, _ = _bodies(claire)
    assert "Cette réunion est annulée." in plain and "Motif indiqué :\n  Salle indisponible." in plain
    assert "Vous étiez invité en qualité de : l'un des points focaux de UNHCR." in plain
    assert "Accepter" not in plain  # no answer is taken for a cancelled meeting
    assert "Annulée : Salle indisponible." in str(_calendar(claire)["DESCRIPTION"])


async def test_a_networks_language_is_written_read_exported_and_checked_in_words(client, session):
    iom = await make_entity(session, acronym="LG-IOM2")
    body = {
        "name": "United Nations Network on Migration",
        "scope": "global",
        "established_on": "2018-12-09",
        "coordinator": {"entity_id": str(iom["id"]), "mandate_relevance": "Migration.", "capacity": "Secretariat."},
    }
    refused = await client.post("/v1/networks", json=body | {"language": "de"}, headers={"Accept-Language": "fr"})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["pointer"] == "#/language", error
    assert error["detail"] == "La valeur doit être 'ar', 'zh', 'en', 'fr', 'ru' or 'es'", error
    created = await client.post("/v1/networks", json=body)
    assert created.status_code == 201, created.text
    network = created.json()
    assert network["language"] == "en"  # English unless set
    etag = (await client.get(f"/v1/networks/{network['id']}")).headers["etag"]
    changed = await client.patch(f"/v1/networks/{network['id']}", json={"language": "ru"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert (await client.get(f"/v1/networks/{network['id']}")).json()["language"] == "ru"
    etag = changed.headers["etag"]
    cleared = await client.patch(f"/v1/networks/{network['id']}", json={"language": None}, headers={"If-Match": etag})
    assert cleared.status_code == 422, cleared.text
    exported = await client.get("/v1/networks", params={"header": "fields"}, headers={"Accept": "text/csv"})
    assert [row["language"] for row in csv_records(exported.content)] == ["ru"]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert schema["NetworkCreate"]["properties"]["language"]["enum"] == ["ar", "zh", "en", "fr", "ru", "es"]


async def test_a_meetings_title_reads_and_is_mailed_in_the_language_of_its_translations(committed, client, smtp):  # noqa: F811
    year = datetime.now(UTC).year + 1
    french = {"title": "Réunion annuelle du réseau"}
    meeting = await _meeting_of_a_spanish_network(
        datetime(year, 3, 9, 8, 0, tzinfo=UTC), translations={"fr": MeetingTexts(**french)}
    )
    assert meeting["translations"] == {"fr": french} and meeting["title"] == TITLE
    url = f"/v1/meetings/{meeting['id']}"
    read = await client.get(url, headers={"Accept-Language": "fr-CH, fr;q=0.9"})
    assert read.json()["title"] == french["title"] and read.headers["content-language"] == "fr"
    assert read.headers["etag"].endswith('-fr"') and read.headers["vary"] == "Accept-Language"
    fallback = await client.get(url, headers={"Accept-Language": "ar"})
    assert fallback.json()["title"] == TITLE and fallback.headers["content-language"] == "en"  # says so
    listed = await client.get(
        "/v1/meetings", params={"network_id": str(meeting["network_id"])}, headers={"Accept-Language": "fr"}
    )
    assert [m["title"] for m in listed.json()["items"]] == [french["title"]]
    etag = (await client.get(url)).headers["etag"]
    spanish = {"title": "Reunión anual de la red"}
    changed = await client.patch(url, json={"translations": {"es": spanish}}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["translations"] == {"es": spanish}  # replaced whole
    cleared = await client.patch(url, json={"translations": None}, headers={"If-Match": changed.headers["etag"]})
    assert cleared.status_code == 422, cleared.text

    await _relay_and_send()
    invitations = _received(smtp.raw[:4])  # the invitation, sent with the translations it was made with
    # The French focal point reads the French title; the others, with no translation then, the original.
    assert str(invitations["claire@unhcr.example"]["Subject"]) == f"Invitation : {french['title']}"
    assert str(_calendar(invitations["claire@unhcr.example"])["SUMMARY"]) == french["title"]
    assert str(invitations["amira@unhcr.example"]["Subject"]) == f"دعوة: {TITLE}"
    assert str(invitations["mf@example.org"]["Subject"]) == f"Invitación: {TITLE}"
