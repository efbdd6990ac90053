"""Rules for people and their focal-point posts (docs/DOMAIN.md, "Focal points").

A person's name and e-mail address are personal data: the secretariat and the focal points
of the person's entity see them (``shown_to``); the audit trail never holds them, only the
pseudonym ``person:<id>`` (``_pseudonymous``), so that erasure leaves nothing in it to erase."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin
from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.events.service import append_event
from services.people import repository
from services.people.models import FocalPointPost, Person
from services.people.schemas import REQUIRED_ON_PERSON, FocalPointCreate, FocalPointEnd, PersonCreate, PersonUpdate
from services.principals import Principal, Role
from services.records import apply_patch, changes_payload, check_version

PERSONAL_FIELDS = ("name", "email")
NOT_YOUR_PERSON = (
    "not-your-entity",
    "You may not do this: only the secretariat (admin role) or a focal point of the person's entity may.",
)


def pseudonym(person_id: uuid.UUID) -> str:
    """How the audit trail names a person's personal data: never the data itself."""
    return f"person:{person_id}"


def sees_personal_data(actor: Principal, entity_id: uuid.UUID) -> bool:
    """The secretariat, and the focal points of the person's own entity."""
    return actor.is_admin or (actor.role == Role.FOCAL_POINT and actor.entity_id == entity_id)


def shown_to(row: dict[str, Any], actor: Principal) -> dict[str, Any]:
    """A person's row as ``actor`` may read it: without name and e-mail for anyone but the
    secretariat and the focal points of the person's entity."""
    if sees_personal_data(actor, row["entity_id"]):
        return row
    return {**row, **dict.fromkeys(PERSONAL_FIELDS)}


def people_export_query(actor: Principal, *, entity_id: uuid.UUID | None = None) -> Select[Any]:
    """Every person of the list (``entity_id``: one entity's), names and e-mail addresses
    included: a whole list of personal data leaves the registry only for the secretariat,
    whatever a focal point may read of its own entity's people one page at a time."""
    require_admin(actor, "export people, their names and e-mail addresses")
    return repository.people_query(entity_id=entity_id)


def posts_export_query(actor: Principal, *, person_id: uuid.UUID, as_of: date | None = None) -> Select[Any]:
    """A person's focal-point posts for export: the secretariat only, as for people, since the
    posts say who held which post when."""
    require_admin(actor, "export focal-point posts")
    return repository.posts_query(person_id=person_id, as_of=as_of)


def _pseudonymous(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {**row, **{f: pseudonym(row["id"]) for f in PERSONAL_FIELDS if row.get(f) is not None}}


def _require_own(actor: Principal, entity_id: uuid.UUID) -> None:
    if not sees_personal_data(actor, entity_id):
        raise Forbidden(*NOT_YOUR_PERSON)


async def _record_person(
    session: AsyncSession,
    event: str,
    person: Person,
    actor: Principal,
    *,
    before: dict[str, Any] | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get_person_row(session, person.id)
    assert row is not None
    payload: dict[str, Any] = {"person": row}
    if changes is not None:
        payload["changes"] = changes_payload(changes)
    await append_event(
        session,
        type=f"person.{event}",
        subject_type="person",
        subject_id=person.id,
        owner_entity_id=person.entity_id,
        actor=actor,
        payload=payload,
        before=_pseudonymous(before),
        after=_pseudonymous(row),
    )
    return row


async def create_person(
    session: AsyncSession, *, data: PersonCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Record a person of an entity: the secretariat, or a focal point of that entity."""
    _require_own(actor, data.entity_id)
    if await session.get(Entity, data.entity_id) is None:
        raise InvalidInput("reference-not-found", f"entity_id {data.entity_id} is not an entity of the registry.")
    person = Person(
        entity_id=data.entity_id,
        name=data.name,
        title=data.title,
        email=data.email.lower(),
        preferred_language=data.preferred_language,
        is_demo=is_demo,
    )
    session.add(person)
    return await _record_person(session, "created", person, actor)


async def _load_person_for_update(session: AsyncSession, person_id: uuid.UUID) -> Person:
    person = await session.scalar(select(Person).where(Person.id == person_id).with_for_update())
    if person is None:
        raise NotFound("person-not-found", f"No person has id {person_id}.")
    return person


def _require_not_erased(person: Person) -> None:
    if person.erased_at is not None:
        raise Conflict("person-erased", f"Person {person.id} was erased on {person.erased_at:%Y-%m-%d}; record anew.")


async def update_person(
    session: AsyncSession, *, person_id: uuid.UUID, data: PersonUpdate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Change a person's name, title, e-mail or language (a merge patch)."""
    person = await _load_person_for_update(session, person_id)
    _require_own(actor, person.entity_id)
    check_version("person", person.version, expected_version)
    _require_not_erased(person)
    before = await repository.get_person_row(session, person.id)
    if data.email is not None:
        data = data.model_copy(update={"email": data.email.lower()})
    changes = apply_patch(person, data, required=REQUIRED_ON_PERSON)
    if not changes:
        assert before is not None
        return before
    return await _record_person(session, "updated", person, actor, before=before, changes=changes)


async def address_to_erase(session: AsyncSession, person_id: uuid.UUID) -> str | None:
    """The person's e-mail address, their row locked until the transaction ends: what an
    erasure (``services.flows.person_erasure``) also removes from other domains' records.
    None for an unknown or erased person (the erasure then refuses)."""
    person = await session.scalar(select(Person).where(Person.id == person_id).with_for_update())
    return person.email if person is not None else None


async def erase_person(session: AsyncSession, *, person_id: uuid.UUID, actor: Principal) -> dict[str, Any]:
    """Erase a person's name and e-mail address at their request (the secretariat): from the
    person, and from every earlier event about them, so that the change feed and webhooks no
    longer show them. The posts stay, naming the person by id."""
    require_admin(actor, "erase a person")
    person = await _load_person_for_update(session, person_id)
    _require_not_erased(person)
    before = await repository.get_person_row(session, person.id)
    person.name = None
    person.email = None
    person.erased_at = clock.now()
    await session.flush()
    await _erase_from_events(session, person.id)
    return await _record_person(session, "erased", person, actor, before=before)


# The person's name and e-mail address nulled, changes to them dropped.
_ERASE_FROM_EVENTS = text(
    "UPDATE events SET payload = jsonb_set(jsonb_set(payload, '{person,name}', 'null'::jsonb),"
    " '{person,email}', 'null'::jsonb) #- '{changes,name}' #- '{changes,email}'"
    " WHERE subject_type = 'person' AND subject_id = :person_id"
)


async def _erase_from_events(session: AsyncSession, person_id: uuid.UUID) -> None:
    """The person's earlier events without their name and e-mail address: the events table
    is what the change feed and webhook bodies are read from."""
    await session.execute(_ERASE_FROM_EVENTS, {"person_id": person_id})


def _describe(post: FocalPointPost) -> str:
    until = f"to {post.end_date}" if post.end_date is not None else "with no end date"
    return f"focal-point post {post.id} (from {post.start_date} {until})"


def _overlaps(post: FocalPointPost, start: date, end: date | None) -> bool:
    return (end is None or post.start_date <= end) and (post.end_date is None or post.end_date >= start)


def _same_subject(post: FocalPointPost, data: FocalPointCreate) -> bool:
    return (post.entity_id, post.network_id, post.working_group_id) == (
        data.entity_id,
        data.network_id,
        data.working_group_id,
    )


async def _check_subject(session: AsyncSession, person: Person, data: FocalPointCreate) -> None:
    if data.entity_id is not None and data.entity_id != person.entity_id:
        raise InvalidInput(
            "not-the-persons-entity",
            f"A person is focal point for their own entity ({person.entity_id}) only; record a person of "
            f"{data.entity_id} instead.",
            fields=["entity_id"],
        )
    for field in repository.SUBJECT_TABLES:
        subject_id = getattr(data, field)
        if subject_id is not None and not await repository.subject_exists(session, field, subject_id):
            raise InvalidInput("reference-not-found", f"{field} {subject_id} is not in the registry.", fields=[field])


async def _record_post(
    session: AsyncSession, event: str, post: FocalPointPost, person: Person, actor: Principal, *, before: Any = None
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get_post_row(session, post.id)
    assert row is not None
    await append_event(
        session,
        type=f"focal_point.{event}",
        subject_type="focal_point",
        subject_id=post.id,
        network_id=post.network_id,
        owner_entity_id=person.entity_id,
        actor=actor,
        payload={"focal_point": row},
        before=before,
        after=row,
    )
    return row


async def appoint_focal_point(
    session: AsyncSession, *, person_id: uuid.UUID, data: FocalPointCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Appoint a person focal point for their entity, a network or a working group from
    ``data.start_date``: the secretariat, or a focal point of the person's entity. A person
    holds one post at a time for one subject."""
    person = await _load_person_for_update(session, person_id)
    _require_own(actor, person.entity_id)
    _require_not_erased(person)
    await _check_subject(session, person, data)
    for other in await repository.posts_of_person(session, person.id):
        if _same_subject(other, data) and _overlaps(other, data.start_date, None):
            raise Conflict(
                "post-overlap",
                f"The person already holds the {_describe(other)} for this subject; end it before {data.start_date}.",
            )
    post = FocalPointPost(
        person_id=person.id,
        entity_id=data.entity_id,
        network_id=data.network_id,
        working_group_id=data.working_group_id,
        start_date=data.start_date,
        is_demo=is_demo,
    )
    session.add(post)
    return await _record_post(session, "appointed", post, person, actor)


async def end_focal_point(
    session: AsyncSession,
    *,
    person_id: uuid.UUID,
    post_id: uuid.UUID,
    data: FocalPointEnd,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """End a focal-point post on ``data.end_date`` (its last day)."""
    person = await _load_person_for_update(session, person_id)
    _require_own(actor, person.entity_id)
    post = await session.scalar(
        select(FocalPointPost)
        .where(FocalPointPost.id == post_id, FocalPointPost.person_id == person_id)
        .with_for_update()
    )
    if post is None:
        raise NotFound("focal-point-post-not-found", f"This person has no focal-point post {post_id}.")
    check_version("post", post.version, expected_version)
    if post.end_date is not None:
        raise Conflict("post-already-ended", f"This focal-point post already ended on {post.end_date}.")
    if data.end_date < post.start_date:
        raise InvalidInput(
            "invalid-period", f"end_date {data.end_date} is before the post's start_date {post.start_date}."
        )
    before = await repository.get_post_row(session, post.id)
    post.end_date = data.end_date
    post.end_reason = data.reason or "ended"
    return await _record_post(session, "ended", post, person, actor, before=before)
