"""Commitment events: champion countries of a network, and pledges with their follow-up."""

import uuid
from datetime import date

from services.events.types.common import Changes, EventType, Mail, Recipients, RecordRef, Stamps, payload


class ChampionCountryRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    country_code: str
    start_date: date
    end_date: date | None
    is_demo: bool


class PledgeRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    pledger_country_code: str | None
    pledger_entity: RecordRef | None
    title: str
    description: str | None
    gcm_objectives: list[int]
    due_date: date
    status: str
    status_changed_on: date
    is_demo: bool


ChampionPayload = payload(
    "ChampionCountryPayload", "The champion country.", champion_country=(ChampionCountryRecord, ...)
)
ChampionChangedPayload = payload(
    "ChampionCountryChangedPayload",
    "The champion country after the change, and the changed fields.",
    champion_country=(ChampionCountryRecord, ...),
    changes=(Changes, ...),
)
PledgePayload = payload("PledgePayload", "The pledge.", pledge=(PledgeRecord, ...))
PledgeChangedPayload = payload(
    "PledgeChangedPayload",
    "The pledge after the change, and the changed fields.",
    pledge=(PledgeRecord, ...),
    changes=(Changes, ...),
)

TYPES = (
    EventType(
        "champion_country.created",
        "A member state became a champion country of the network (dated).",
        ChampionPayload,
        "Champion country",
    ),
    EventType(
        "champion_country.ended",
        "A champion country's period ended (its last day recorded).",
        ChampionChangedPayload,
        "Champion country ended",
    ),
    EventType("pledge.created", "A pledge was recorded (announced).", PledgePayload, "Pledge recorded"),
    EventType(
        "pledge.status_changed",
        "A pledge moved on: in progress, fulfilled or withdrawn (dated).",
        PledgeChangedPayload,
        "Pledge status changed",
    ),
    EventType(
        "pledge.due_soon",
        "An open pledge falls due within a reminder offset (once per offset and due date).",
        PledgeChangedPayload,
        "Pledge due soon",
        mail=Mail(
            "reminder",
            Recipients.PLEDGER_AND_COORDINATOR,
            subject="Pledge due {pledge[due_date]}: {pledge[title]}",
            summary="The pledge {pledge[title]} falls due on {pledge[due_date]}; its status is {pledge[status]}.\n"
            "Record its progress in the registry.\n",
        ),
    ),
    EventType(
        "pledge.overdue",
        "An open pledge passed its due date (once per due date).",
        PledgeChangedPayload,
        "Pledge overdue",
        mail=Mail(
            "alert",
            Recipients.PLEDGER_AND_COORDINATOR,
            subject="Pledge overdue since {pledge[due_date]}: {pledge[title]}",
            summary="The pledge {pledge[title]} was due on {pledge[due_date]}; its status is still {pledge[status]}.\n"
            "Record in the registry whether it was fulfilled or withdrawn.\n",
        ),
    ),
)
