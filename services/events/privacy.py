"""External invitees' e-mail addresses are personal data: only the secretariat reads them.
Every way a meeting leaves the service (the API, the change feed, webhooks) goes through here;
it sits with the event log, below both the feed and the webhook sender, so that the one rule
serves all three."""

from typing import Any


def without_invitee_emails(meeting: dict[str, Any]) -> dict[str, Any]:
    """A meeting representation with its invitees' e-mail addresses removed."""
    invitees = meeting.get("invitees")
    if not invitees:
        return meeting
    return {**meeting, "invitees": [{**invitee, "email": None} for invitee in invitees]}


def redact_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """An event payload fit for a reader who is not an admin."""
    if isinstance(payload.get("meeting"), dict):
        payload = {**payload, "meeting": without_invitee_emails(payload["meeting"])}
    changes = payload.get("changes")
    if isinstance(changes, dict) and "invitees" in changes:
        payload = {**payload, "changes": {**changes, "invitees": {"before": None, "after": "(changed)"}}}
    return payload
