import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from services.calendars.models import FeedScope
from services.schemas import InputModel, OutputModel


class SubscriptionCreate(InputModel):
    read_only = frozenset({"token", "url", "token_prefix", "owner_principal_id", "revoked_at", "revoked_by"})

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="What the feed is for, e.g. 'My Outlook calendar'."
    )
    scope: FeedScope = Field(description="Which meetings: a network's, a working group's, or one meeting.")
    subject_id: uuid.UUID = Field(description="The network, working group or meeting.")


class SubscriptionOut(OutputModel):
    id: uuid.UUID
    name: str
    scope: FeedScope
    subject_id: uuid.UUID
    token_prefix: str = Field(description="The token's first characters, to tell feeds apart; not a secret.")
    owner_principal_id: str
    owner_entity_id: uuid.UUID | None
    revoked_at: datetime | None
    revoked_by: str | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    url: str = Field(
        description="The feed's secret URL, for a calendar app's 'subscribe from URL'. Shown this once; "
        "anyone holding it reads the feed, so revoke it if it leaks."
    )
