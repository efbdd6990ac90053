"""Rules for MoUs (docs/DOMAIN.md, "MoUs"): parties and areas, and the lifecycle
draft → negotiation → signed → active → expired / terminated / superseded."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin, require_entity_editor
from services.clock import clock
from services.dates import DATE_MAX, clamp_date
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import append_events
from services.mous import repository
from services.mous.models import (
    EDITABLE,
    FINAL,
    Mou,
    MouArea,
    MouAreaObjective,
    MouAreaSupporter,
    MouDocument,
    MouParty,
    MouStatus,
)
from services.mous.schemas import AreaIn, DocumentIn, MouCreate, MouRefresh, MouSign, MouTerminate, MouUpdate
from services.networks.models import Network
from services.principals import SYSTEM, Principal
from services.records import apply_patch, check_version, loaded_change, record_change
from services.settings import get_settings

CONTENT_FIELDS = frozenset({"party_entity_ids", "areas", "documents"})


async def _record(session: AsyncSession, event: str, mou: Mou, actor: Principal, **details: Any) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="mou",
        subject_id=mou.id,
        network_id=mou.network_id,
        load_row=repository.get_mou_row,
        actor=actor,
        **details,
    )


async def load_mou_for_update(session: AsyncSession, mou_id: uuid.UUID) -> Mou:
    mou = await session.scalar(select(Mou).where(Mou.id == mou_id).with_for_update())
    if mou is None:
        raise NotFound("mou-not-found", f"No MoU has id {mou_id}.")
    return mou


def review_due(effective_date: date | None) -> date | None:
    if effective_date is None:
        return None
    years = get_settings().mou_review_years
    if effective_date.year + years > DATE_MAX.year:
        return DATE_MAX
    try:
        due = effective_date.replace(year=effective_date.year + years)
    except ValueError:  # 29 February
        due = effective_date.replace(year=effective_date.year + years, day=28)
    return clamp_date(due)


async def _check_parties(session: AsyncSession, entity_ids: list[uuid.UUID]) -> None:
    entities = {e.id: e for e in (await session.scalars(select(Entity).where(Entity.id.in_(entity_ids)))).all()}
    missing = [str(i) for i in entity_ids if i not in entities]
    if missing:
        raise InvalidInput("reference-not-found", f"Not entities of the registry: {', '.join(missing)}.")
    outside = sorted(e.acronym for e in entities.values() if not e.un_system)
    if outside:
        raise Conflict("party-not-un-system", f"A MoU is between UN-system entities; {', '.join(outside)} is not one.")


def _check_areas(areas: list[AreaIn], parties: set[uuid.UUID]) -> None:
    for number, area in enumerate(areas, start=1):
        strangers = [area.lead_entity_id, *area.supporting_entity_ids]
        if any(entity not in parties for entity in strangers):
            raise InvalidInput(
                "area-party-not-a-party", f"Area {number}: its lead and supporting entities must be parties to the MoU."
            )


async def _replace_content(
    session: AsyncSession,
    mou: Mou,
    *,
    parties: list[uuid.UUID] | None,
    areas: list[AreaIn] | None,
    documents: list[DocumentIn] | None,
) -> dict[str, tuple[Any, Any]]:
    """Replace parties, areas and documents as given; returns what changed."""
    changes: dict[str, tuple[Any, Any]] = {}
    current_parties = set((await session.scalars(select(MouParty.entity_id).where(MouParty.mou_id == mou.id))).all())
    party_set = set(parties) if parties is not None else current_parties
    if parties is not None:
        await _check_parties(session, parties)
    if areas is not None or parties is not None:
        if areas is None:
            leads_and_supporters = set(
                (await session.scalars(select(MouArea.lead_entity_id).where(MouArea.mou_id == mou.id))).all()
            )
            leads_and_supporters |= set(
                (
                    await session.scalars(select(MouAreaSupporter.entity_id).where(MouAreaSupporter.mou_id == mou.id))
                ).all()
            )
            if not leads_and_supporters <= party_set:
                raise InvalidInput(
                    "area-party-not-a-party",
                    "A party that leads or supports an area cannot leave the MoU; change the areas too.",
                )
        else:
            _check_areas(areas, party_set)
    if areas is not None:
        await session.execute(delete(MouArea).where(MouArea.mou_id == mou.id))
        changes["areas"] = (None, [a.model_dump(mode="json") for a in areas])
    if parties is not None and party_set != current_parties:
        await session.execute(delete(MouParty).where(MouParty.mou_id == mou.id, MouParty.entity_id.not_in(party_set)))
        session.add_all(MouParty(mou_id=mou.id, entity_id=e) for e in parties if e not in current_parties)
        changes["party_entity_ids"] = (sorted(map(str, current_parties)), sorted(map(str, party_set)))
    await session.flush()
    if areas is not None:
        for position, area in enumerate(areas, start=1):
            row = MouArea(
                mou_id=mou.id, position=position, description=area.description, lead_entity_id=area.lead_entity_id
            )
            session.add(row)
            await session.flush()
            session.add_all(MouAreaObjective(area_id=row.id, objective_number=n) for n in area.gcm_objectives)
            session.add_all(
                MouAreaSupporter(area_id=row.id, mou_id=mou.id, entity_id=e) for e in area.supporting_entity_ids
            )
    if documents is not None:
        await session.execute(delete(MouDocument).where(MouDocument.mou_id == mou.id))
        session.add_all(
            MouDocument(mou_id=mou.id, position=p, uri=d.uri, title=d.title, sha256=d.sha256)
            for p, d in enumerate(documents, start=1)
        )
        changes["documents"] = (None, [d.model_dump(mode="json") for d in documents])
    return changes


async def _check_reference_free(
    session: AsyncSession, reference_number: str, other_than: uuid.UUID | None = None
) -> None:
    existing = await session.scalar(select(Mou.id).where(Mou.reference_number == reference_number))
    if existing is not None and existing != other_than:
        raise Conflict("reference-number-taken", f"Another MoU already has the reference number {reference_number!r}.")


async def create_mou(
    session: AsyncSession, *, data: MouCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Draw up a MoU (a draft)."""
    require_admin(actor, "draw up MoUs")
    if await session.get(Network, data.network_id) is None:
        raise InvalidInput("reference-not-found", f"network_id {data.network_id} is not a network of the registry.")
    await _check_reference_free(session, data.reference_number)
    mou = Mou(
        network_id=data.network_id,
        title=data.title,
        reference_number=data.reference_number,
        effective_date=data.effective_date,
        end_date=data.end_date,
        review_due_date=data.review_due_date or review_due(data.effective_date),
        is_demo=is_demo,
    )
    session.add(mou)
    await session.flush()
    await _replace_content(
        session, mou, parties=data.party_entity_ids, areas=data.areas or [], documents=data.documents or []
    )
    return await _record(session, "created", mou, actor)


async def update_mou(
    session: AsyncSession, *, mou_id: uuid.UUID, data: MouUpdate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Edit a draft or a MoU under negotiation. A change of text under negotiation clears the
    signatures given so far: they were given to another text."""
    require_admin(actor, "edit MoUs")
    mou = await load_mou_for_update(session, mou_id)
    check_version("MoU", mou.version, expected_version)
    if mou.status not in EDITABLE:
        raise Conflict("mou-not-editable", f"A {mou.status.value} MoU is not edited; refresh it to draw up a new text.")
    fields = data.model_fields_set
    if "reference_number" in fields and data.reference_number is not None:
        await _check_reference_free(session, data.reference_number, other_than=mou_id)
    effective = data.effective_date if "effective_date" in fields else mou.effective_date
    end = data.end_date if "end_date" in fields else mou.end_date
    if effective and end and end < effective:
        raise InvalidInput("invalid-period", "end_date must be on or after effective_date.")
    if mou.status == MouStatus.NEGOTIATION and "effective_date" in fields and effective is None:
        raise InvalidInput("required-field", "A MoU under negotiation keeps its effective_date.")
    review_was_default = mou.review_due_date == review_due(mou.effective_date)
    changes = apply_patch(mou, data, required=frozenset({"title", "reference_number"}), skip=CONTENT_FIELDS)
    if "effective_date" in changes and "review_due_date" not in fields and review_was_default:
        mou.review_due_date = review_due(mou.effective_date)
    content = await _replace_content(
        session,
        mou,
        parties=data.party_entity_ids if "party_entity_ids" in fields else None,
        areas=data.areas if "areas" in fields else None,
        documents=data.documents if "documents" in fields else None,
    )
    changes |= content
    if changes and mou.status == MouStatus.NEGOTIATION:
        cleared = await session.execute(
            update(MouParty)
            .where(MouParty.mou_id == mou_id, MouParty.signed_on.is_not(None))
            .values(signed_on=None, signatory_name=None, signatory_title=None)
        )
        if cleared.rowcount:  # type: ignore[attr-defined]
            changes["signatures"] = ("given", "cleared: the text changed")
    if content:
        mou.updated_at = clock.now()
    return await _record(session, "updated", mou, actor, changes=changes)


async def submit_mou(
    session: AsyncSession, *, mou_id: uuid.UUID, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """draft → negotiation: the parties, at least one area and the effective date are set."""
    require_admin(actor, "put MoUs to negotiation")
    mou = await load_mou_for_update(session, mou_id)
    check_version("MoU", mou.version, expected_version)
    if mou.status != MouStatus.DRAFT:
        raise Conflict("invalid-transition", f"Only a draft goes to negotiation; this MoU is {mou.status.value}.")
    if mou.effective_date is None:
        raise Conflict("mou-incomplete", "Set the effective_date before negotiation.")
    if await session.scalar(select(MouArea.id).where(MouArea.mou_id == mou_id).limit(1)) is None:
        raise Conflict(
            "mou-incomplete", "A MoU clarifies areas of responsibility: add at least one area before negotiation."
        )
    mou.status = MouStatus.NEGOTIATION
    return await _record(session, "submitted", mou, actor, changes={"status": ("draft", "negotiation")})


async def _activate(session: AsyncSession, mou: Mou, on: date, actor: Principal) -> None:
    """signed → active; its predecessor, if any, is superseded in the same transaction."""
    mou.status = MouStatus.ACTIVE
    mou.activated_on = on
    if mou.predecessor_id is not None:
        predecessor = await load_mou_for_update(session, mou.predecessor_id)
        if predecessor.status not in (MouStatus.TERMINATED, MouStatus.SUPERSEDED):
            previous = predecessor.status.value
            predecessor.status = MouStatus.SUPERSEDED
            predecessor.superseded_on = on
            await _record(
                session,
                "superseded",
                predecessor,
                actor,
                changes={"status": (previous, "superseded"), "superseded_on": (None, on)},
                successor_id=mou.id,
            )


async def sign_mou(
    session: AsyncSession, *, mou_id: uuid.UUID, data: MouSign, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """A party signs (its focal point, or an admin). When the last party signs, the MoU is
    signed, and active at once if its effective date has come (else the scheduler flips it)."""
    require_entity_editor(actor, data.entity_id, "sign for this entity")
    mou = await load_mou_for_update(session, mou_id)
    check_version("MoU", mou.version, expected_version)
    if mou.status != MouStatus.NEGOTIATION:
        raise Conflict("invalid-transition", f"MoUs are signed under negotiation; this one is {mou.status.value}.")
    today = clock.today()
    if data.signed_on > today:
        raise InvalidInput("signature-in-the-future", "signed_on cannot be after today.")
    party = await session.get(MouParty, (mou_id, data.entity_id), with_for_update=True)
    if party is None:
        raise Conflict("not-a-party", "That entity is not a party to this MoU.")
    if party.signed_on is not None:
        raise Conflict("already-signed", f"This party signed on {party.signed_on} ({party.signatory_name}).")
    party.signatory_name = data.signatory_name
    party.signatory_title = data.signatory_title
    party.signed_on = data.signed_on
    mou.updated_at = clock.now()
    await session.flush()
    unsigned = await session.scalar(
        select(MouParty.entity_id).where(MouParty.mou_id == mou_id, MouParty.signed_on.is_(None)).limit(1)
    )
    signature = {
        "entity_id": data.entity_id,
        "signatory_name": data.signatory_name,
        "signatory_title": data.signatory_title,
        "signed_on": data.signed_on,
    }
    if unsigned is not None:
        return await _record(session, "party_signed", mou, actor, owner_entity_id=data.entity_id, signature=signature)
    all_dates = (await session.scalars(select(MouParty.signed_on).where(MouParty.mou_id == mou_id))).all()
    mou.status = MouStatus.SIGNED
    mou.signed_on = max(d for d in all_dates if d is not None)
    changes: dict[str, tuple[Any, Any]] = {"status": ("negotiation", "signed"), "signed_on": (None, mou.signed_on)}
    assert mou.effective_date is not None
    if mou.effective_date <= today:
        # Active from the later of its effective date and the last signature.
        await _activate(session, mou, max(mou.effective_date, mou.signed_on), actor)
        changes["status"] = ("negotiation", "active")
    return await _record(
        session, "signed", mou, actor, owner_entity_id=data.entity_id, signature=signature, changes=changes
    )


async def terminate_mou(
    session: AsyncSession, *, mou_id: uuid.UUID, data: MouTerminate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    require_admin(actor, "terminate MoUs")
    mou = await load_mou_for_update(session, mou_id)
    check_version("MoU", mou.version, expected_version)
    if mou.status in FINAL:
        raise Conflict("invalid-transition", f"This MoU is already {mou.status.value}.")
    previous = mou.status.value
    mou.status = MouStatus.TERMINATED
    mou.terminated_on = data.terminated_on
    mou.termination_reason = data.reason
    return await _record(
        session,
        "terminated",
        mou,
        actor,
        changes={
            "status": (previous, "terminated"),
            "terminated_on": (None, data.terminated_on),
            "termination_reason": (None, data.reason),
        },
    )


async def refresh_mou(
    session: AsyncSession, *, mou_id: uuid.UUID, data: MouRefresh, actor: Principal
) -> dict[str, Any]:
    """Draw up the successor of a signed, active or expired MoU: a new draft with the same
    parties and areas. It supersedes this one when it becomes active."""
    require_admin(actor, "refresh MoUs")
    mou = await load_mou_for_update(session, mou_id)
    if mou.status not in (MouStatus.SIGNED, MouStatus.ACTIVE, MouStatus.EXPIRED):
        raise Conflict(
            "invalid-transition", f"A {mou.status.value} MoU is not refreshed; only signed, active or expired ones are."
        )
    live = await session.scalar(select(Mou.id).where(Mou.predecessor_id == mou_id, Mou.status != MouStatus.TERMINATED))
    if live is not None:
        raise Conflict(
            "refresh-exists", f"This MoU is already being refreshed by {live}; continue that draft or terminate it."
        )
    await _check_reference_free(session, data.reference_number)
    source = await repository.get_mou_row(session, mou_id)
    assert source is not None
    successor = Mou(
        network_id=mou.network_id,
        title=data.title or mou.title,
        reference_number=data.reference_number,
        effective_date=data.effective_date,
        review_due_date=review_due(data.effective_date),
        predecessor_id=mou.id,
        is_demo=mou.is_demo,
    )
    session.add(successor)
    await session.flush()
    areas = [
        AreaIn(
            description=a["description"],
            gcm_objectives=a["gcm_objectives"],
            lead_entity_id=a["lead"]["id"],
            supporting_entity_ids=[s["id"] for s in a["supporting"]],
        )
        for a in source["areas"]
    ]
    parties = [uuid.UUID(str(p["entity"]["id"])) for p in source["parties"]]
    await _replace_content(session, successor, parties=parties, areas=areas, documents=[])
    await _record(session, "refreshed", mou, actor, successor_id=successor.id)
    return await _record(session, "created", successor, actor, predecessor_id=mou.id)


async def apply_due_transition(session: AsyncSession, *, mou_id: uuid.UUID, actor: Principal) -> str | None:
    """What the calendar does to one MoU today: a signed MoU whose effective date has come
    becomes active; an active one past its end date expires. Idempotent; returns the event."""
    mou = await session.scalar(select(Mou).where(Mou.id == mou_id).with_for_update(skip_locked=True))
    if mou is None:
        return None
    today = clock.today()
    if mou.status == MouStatus.SIGNED and mou.effective_date is not None and mou.effective_date <= today:
        await _activate(session, mou, mou.effective_date, actor)
        await _record(
            session,
            "activated",
            mou,
            actor,
            changes={"status": ("signed", "active"), "activated_on": (None, mou.activated_on)},
        )
        return "activated"
    if mou.status == MouStatus.ACTIVE and mou.end_date is not None and mou.end_date < today:
        mou.status = MouStatus.EXPIRED
        await _record(session, "expired", mou, actor, changes={"status": ("active", "expired")})
        return "expired"
    return None


async def remind_due_reviews(session: AsyncSession, *, today: date) -> int:
    """``mou.review_due`` for each signed or active MoU whose review falls due within
    MOU_REVIEW_REMINDER_DAYS (or has passed), once per review date; returns how many."""
    horizon = today + timedelta(days=get_settings().mou_review_reminder_days)
    due = (
        await session.scalars(
            select(Mou)
            .where(
                Mou.status.in_((MouStatus.SIGNED, MouStatus.ACTIVE)),
                Mou.review_due_date <= horizon,
                Mou.review_reminded_for.is_distinct_from(Mou.review_due_date),
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    changes: dict[uuid.UUID, dict[str, tuple[Any, Any]]] = {}
    for mou in due:
        changes[mou.id] = {"review_reminded_for": (mou.review_reminded_for, mou.review_due_date)}
        mou.review_reminded_for = mou.review_due_date
    await session.flush()
    rows = await repository.get_mou_rows(session, changes)  # the batch's MoUs in one read
    await append_events(
        session,
        [
            loaded_change(
                event="review_due",
                subject_type="mou",
                subject_id=mou.id,
                row=rows[mou.id],
                actor=SYSTEM,
                network_id=mou.network_id,
                changes=changes[mou.id],
            )
            for mou in due
        ],
    )
    return len(due)
