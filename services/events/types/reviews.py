"""Review events: a network's review policy, its effectiveness review cycles, and their
recommendations."""

import uuid
from datetime import date
from typing import Any

from services.events.types.common import Changes, EventType, Mail, Recipients, RecordRef, Stamps, payload


class ReviewPolicyRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    cadence_months: int
    lead_time_days: int
    reminder_offsets_days: list[int]
    lead_entity: RecordRef
    first_due_date: date
    next_due_date: date | None
    next_opens_on: date | None


class ReviewRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    number: int
    period_start: date
    due_date: date
    lead_entity: RecordRef
    status: str
    overdue: bool
    overdue_since: date | None
    started_on: date | None
    start_snapshot: dict[str, Any] | None
    completed_on: date | None
    end_snapshot: dict[str, Any] | None
    findings: str | None
    recommendations: dict[str, int]
    carried_over: list[dict[str, Any]]
    is_demo: bool


class RecommendationRecord(Stamps):
    id: uuid.UUID
    review_id: uuid.UUID
    network_id: uuid.UUID
    text: str
    owner_entity: RecordRef
    due_date: date
    status: str
    status_changed_on: date | None
    dropped_reason: str | None
    overdue: bool
    overdue_since: date | None


PolicyPayload = payload("ReviewPolicyPayload", "The review policy.", review_policy=(ReviewPolicyRecord, ...))
PolicyChangedPayload = payload(
    "ReviewPolicyChangedPayload",
    "The review policy after the change, and the changed fields.",
    review_policy=(ReviewPolicyRecord, ...),
    changes=(Changes, ...),
)
ReviewPayload = payload("ReviewPayload", "The review cycle.", review=(ReviewRecord, ...))
ReviewChangedPayload = payload(
    "ReviewChangedPayload",
    "The review cycle after the change, and the changed fields.",
    review=(ReviewRecord, ...),
    changes=(Changes, ...),
)
ReviewReminderPayload = payload(
    "ReviewReminderPayload",
    "The review cycle, and the days left until it is due.",
    review=(ReviewRecord, ...),
    days_before=(int, ...),
)
RecommendationPayload = payload(
    "RecommendationPayload", "The recommendation.", recommendation=(RecommendationRecord, ...)
)
RecommendationChangedPayload = payload(
    "RecommendationChangedPayload",
    "The recommendation after the change, and the changed fields.",
    recommendation=(RecommendationRecord, ...),
    changes=(Changes, ...),
)
RecommendationReminderPayload = payload(
    "RecommendationReminderPayload",
    "The recommendation, and the days left until it is due.",
    recommendation=(RecommendationRecord, ...),
    days_before=(int, ...),
)

# Each e-mail's words are whole sentences (message catalogues translate them as they are) and
# end with no link: the records' API addresses answer a person's browser with 401.

TYPES = (
    EventType("review_policy.created", "A network's review policy was set.", PolicyPayload, "Review policy set"),
    EventType(
        "review_policy.updated", "A network's review policy changed.", PolicyChangedPayload, "Review policy changed"
    ),
    EventType(
        "review.scheduled",
        "A review cycle opened (the policy's lead time before its due date).",
        ReviewPayload,
        "Review cycle opened",
        mail=Mail(
            "notice",
            Recipients.REVIEW_LEAD_AND_COORDINATOR,
            subject="Opened: effectiveness review {review[number]} (period {review[period_start]} to {review[due_date]})",
            summary="Effectiveness review {review[number]} (period {review[period_start]} to {review[due_date]}) "
            "is open and falls due on {review[due_date]}. Start it in the registry when work begins.\n",
        ),
    ),
    EventType("review.started", "Work on a review cycle began.", ReviewPayload, "Review started"),
    EventType(
        "review.completed", "A review cycle was completed, with its findings.", ReviewPayload, "Review completed"
    ),
    EventType(
        "review.reminder_due",
        "A review cycle falls due within one of the policy's reminder offsets.",
        ReviewReminderPayload,
        "Review reminder sent",
        mail=Mail(
            "reminder",
            Recipients.REVIEW_LEAD_AND_COORDINATOR,
            subject="Due {review[due_date]}: effectiveness review {review[number]}",
            summary="Effectiveness review {review[number]} (period {review[period_start]} to {review[due_date]}) "
            "falls due on {review[due_date]}; its status is {review[status]}.\n",
        ),
    ),
    EventType(
        "review.overdue",
        "A review cycle passed its due date unfinished.",
        ReviewChangedPayload,
        "Review overdue",
        mail=Mail(
            "alert",
            Recipients.REVIEW_LEAD_AND_COORDINATOR,
            subject="Overdue: effectiveness review {review[number]}",
            summary="Effectiveness review {review[number]} (period {review[period_start]} to {review[due_date]}) "
            "was due on {review[due_date]} and is not completed.\n",
        ),
    ),
    EventType(
        "recommendation.created", "A review made a recommendation.", RecommendationPayload, "Recommendation made"
    ),
    EventType(
        "recommendation.updated",
        "A recommendation's text, owner or due date changed.",
        RecommendationChangedPayload,
        "Recommendation updated",
    ),
    EventType(
        "recommendation.in_progress",
        "Work on a recommendation began.",
        RecommendationChangedPayload,
        "Recommendation in progress",
    ),
    EventType(
        "recommendation.done", "A recommendation was carried out.", RecommendationChangedPayload, "Recommendation done"
    ),
    EventType(
        "recommendation.dropped",
        "A recommendation was dropped, with a reason.",
        RecommendationChangedPayload,
        "Recommendation dropped",
    ),
    EventType(
        "recommendation.reminder_due",
        "An open recommendation falls due within one of the policy's reminder offsets.",
        RecommendationReminderPayload,
        "Recommendation reminder sent",
        mail=Mail(
            "reminder",
            Recipients.RECOMMENDATION_OWNER,
            subject="Recommendation due ({recommendation[due_date]})",
            summary="This recommendation, owned by {recommendation[owner_entity][acronym]}, falls due on "
            "{recommendation[due_date]}:\n\n{recommendation[text]}\n\n"
            "Its status is {recommendation[status]}. Record its progress in the registry.\n",
        ),
    ),
    EventType(
        "recommendation.overdue",
        "An open recommendation passed its due date.",
        RecommendationChangedPayload,
        "Recommendation overdue",
        mail=Mail(
            "alert",
            Recipients.RECOMMENDATION_OWNER,
            subject="Recommendation overdue ({recommendation[due_date]})",
            summary="This recommendation, owned by {recommendation[owner_entity][acronym]}, was due on "
            "{recommendation[due_date]} and is not done:\n\n{recommendation[text]}\n\n"
            "Its status is {recommendation[status]}. Record its progress in the registry.\n",
        ),
    ),
)
