"""Every ORM model, imported in one place so the metadata is complete (Alembic, tests)."""

from services.api_keys.models import ApiKey
from services.audit.models import AuditEntry
from services.base import Base
from services.calendars.models import CalendarSubscription
from services.commitments.models import ChampionCountry, Pledge
from services.entities.models import Entity, EntityIdentifier
from services.events.models import Event
from services.gcm.models import GcmObjective, GuidingPrinciple
from services.idempotency.models import IdempotencyKey
from services.mail.models import EmailAttempt, EmailDelivery
from services.meetings.models import Meeting, MeetingInvitee, MeetingLapse, MeetingReminder
from services.memberships.models import Membership
from services.mous.models import Mou, MouArea, MouAreaObjective, MouAreaSupporter, MouDocument, MouParty
from services.networks.models import Network, NetworkPost
from services.people.models import FocalPointPost, Person
from services.reviews.models import Recommendation, Review, ReviewPolicy, ReviewReminder
from services.scheduling.models import SchedulerSweep, SweepRun
from services.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.working_groups.models import (
    WorkingGroup,
    WorkingGroupObjective,
    WorkingGroupPost,
    WorkingGroupPrinciple,
)
from services.workplans.models import Activity, ActivityLead, ActivityOutput, ActivityStatusChange, Workplan

__all__ = [
    "Activity",
    "ActivityLead",
    "ActivityOutput",
    "ActivityStatusChange",
    "ApiKey",
    "AuditEntry",
    "Base",
    "CalendarSubscription",
    "ChampionCountry",
    "EmailAttempt",
    "EmailDelivery",
    "Entity",
    "EntityIdentifier",
    "Event",
    "FocalPointPost",
    "GcmObjective",
    "GuidingPrinciple",
    "IdempotencyKey",
    "Meeting",
    "MeetingInvitee",
    "MeetingLapse",
    "MeetingReminder",
    "Membership",
    "Mou",
    "MouArea",
    "MouAreaObjective",
    "MouAreaSupporter",
    "MouDocument",
    "MouParty",
    "Network",
    "NetworkPost",
    "Person",
    "Pledge",
    "Recommendation",
    "Review",
    "ReviewPolicy",
    "ReviewReminder",
    "SchedulerSweep",
    "SweepRun",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkingGroup",
    "WorkingGroupObjective",
    "WorkingGroupPost",
    "WorkingGroupPrinciple",
    "Workplan",
]
