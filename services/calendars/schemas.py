import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from services.calendars.models import CalendarSubscription, FeedScope
from services.schemas import SINGLE_LINE, InputModel, OutputModel
from services.shapes import From


class SubscriptionCreate(InputModel):
    read_only = frozenset({"token", "url", "token_prefix", "owner_principal_id", "revoked_at", "revoked_by"})

    name: Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE] = Field(
        description="What the feed is for, e.g. 'My Outlook calendar'."
    )
    scope: FeedScope = Field(description="Which meetings: a network's, a working group's, or one meeting.")
    subject_id: uuid.UUID = Field(description="The network, working group or meeting.")


class SubscriptionOut(OutputModel):
    id: Annotated[uuid.UUID, From(CalendarSubscription.id)]
    name: Annotated[str, From(CalendarSubscription.name)]
    scope: Annotated[FeedScope, From(CalendarSubscription.scope)]
    subject_id: Annotated[uuid.UUID, From(CalendarSubscription.subject_id)]
    token_prefix: Annotated[str, From(CalendarSubscription.token_prefix)] = Field(
        description="The token's first characters, to tell feeds apart; not a secret."
    )
    owner_principal_id: Annotated[str, From(CalendarSubscription.owner_principal_id)]
    owner_entity_id: Annotated[uuid.UUID | None, From(CalendarSubscription.owner_entity_id)]
    revoked_at: Annotated[datetime | None, From(CalendarSubscription.revoked_at)]
    revoked_by: Annotated[str | None, From(CalendarSubscription.revoked_by)]
    created_at: Annotated[datetime, From(CalendarSubscription.created_at)]
    updated_at: Annotated[datetime, From(CalendarSubscription.updated_at)]


class SubscriptionCreated(SubscriptionOut):
    url: str = Field(
        description="The feed's secret URL, for a calendar app's 'subscribe from URL'. Shown this once; "
        "anyone holding it reads the feed, so revoke it if it leaks."
    )
