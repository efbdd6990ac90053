"""MoU events: memoranda of understanding through their lifecycle."""

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from services.events.types.common import Changes, EventType, Mail, Recipients, RecordRef, Stamps, payload


class MouParty(BaseModel):
    entity: RecordRef
    signed_on: date | None
    signatory_name: str | None
    signatory_title: str | None


class MouRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    title: str
    reference_number: str
    status: str
    effective_date: date | None
    end_date: date | None
    review_due_date: date | None
    predecessor_id: uuid.UUID | None
    successor_id: uuid.UUID | None
    signed_on: date | None
    activated_on: date | None
    terminated_on: date | None
    termination_reason: str | None
    superseded_on: date | None
    parties: list[MouParty]
    areas: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    is_demo: bool


class Signature(BaseModel):
    entity_id: uuid.UUID
    signatory_name: str
    signatory_title: str | None
    signed_on: date


MouCreatedPayload = payload(
    "MouCreatedPayload",
    "The MoU; predecessor_id when it was created by refreshing another.",
    mou=(MouRecord, ...),
    predecessor_id=(uuid.UUID | None, None),
)
MouChangedPayload = payload(
    "MouChangedPayload",
    "The MoU after the change, and the changed fields.",
    mou=(MouRecord, ...),
    changes=(Changes, ...),
)
PartySignedPayload = payload(
    "PartySignedPayload", "The MoU, and the signature.", mou=(MouRecord, ...), signature=(Signature, ...)
)
MouSignedPayload = payload(
    "MouSignedPayload",
    "The MoU, the last signature, and the changed fields.",
    mou=(MouRecord, ...),
    signature=(Signature, ...),
    changes=(Changes, ...),
)
RefreshedPayload = payload(
    "MouRefreshedPayload",
    "The MoU, and the successor that refreshes it.",
    mou=(MouRecord, ...),
    successor_id=(uuid.UUID, ...),
)
SupersededPayload = payload(
    "MouSupersededPayload",
    "The MoU, its successor (now active), and the changed fields.",
    mou=(MouRecord, ...),
    successor_id=(uuid.UUID, ...),
    changes=(Changes, ...),
)

TYPES = (
    EventType("mou.created", "A MoU was drafted (or a refresh's successor created).", MouCreatedPayload, "MoU drafted"),
    EventType(
        "mou.updated", "A draft's or negotiated MoU's text, parties or areas changed.", MouChangedPayload, "MoU updated"
    ),
    EventType("mou.submitted", "A draft went into negotiation.", MouChangedPayload, "MoU submitted"),
    EventType("mou.party_signed", "A party signed; others have yet to.", PartySignedPayload, "MoU signed by a party"),
    EventType("mou.signed", "The last party signed.", MouSignedPayload, "MoU signed"),
    EventType("mou.activated", "A signed MoU's effective date came: it is active.", MouChangedPayload, "MoU activated"),
    EventType("mou.superseded", "A MoU's successor became active.", SupersededPayload, "MoU superseded"),
    EventType("mou.refreshed", "A successor was drafted to refresh the MoU.", RefreshedPayload, "MoU refreshed"),
    EventType("mou.terminated", "A MoU was terminated.", MouChangedPayload, "MoU terminated"),
    EventType("mou.expired", "An active MoU passed its end date.", MouChangedPayload, "MoU expired"),
    EventType(
        "mou.review_due",
        "A signed or active MoU's review falls due soon (once per review date).",
        MouChangedPayload,
        "MoU review due",
        mail=Mail(
            "reminder",
            Recipients.MOU_PARTIES,
            subject="Review due {mou[review_due_date]}: {mou[title]}",
            summary="The review of MoU {mou[reference_number]} ({mou[title]}) falls due on {mou[review_due_date]}.\n"
            "Refresh it in the registry, or record there that it stands.\n",
        ),
    ),
)
