"""The links an invitation carries: to the meeting's page and to the answers, one set per
invitee (and per person, when the e-mail goes to a person of the registry). No login: the
link is the capability. Its token names the meeting, the invitee, the person (if any) and
when it stops working, signed (HMAC-SHA256) with a key from ``INVITATION_LINK_KEYS``.

``INVITATION_LINK_KEYS`` holds ``key-id:key`` entries as ``SECRETS_ENCRYPTION_KEYS`` does:
the first signs, every one verifies, so a new key goes first and the old one stays until
the links it signed have expired. Removing a key stops every link it signed at once. Unset
(a developer's machine, the tests), a key generated once in ``DATA_DIR`` is used.

What a leaked link allows: seeing that meeting as its invitee sees it, and answering for
that invitee, until the link expires (``INVITATION_LINK_DAYS_AFTER_MEETING`` after the
meeting ends), the invitee is removed, or its key is removed. Nothing else: no other
meeting, no other invitee, no record of the API."""

import base64
import binascii
import hashlib
import hmac
import logging
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.encryption import Keyring, local_keys, parse_keys
from services.locales import N_
from services.settings import Settings, get_settings

logger = logging.getLogger("services.meetings.links")

LOCAL_KEYS_FILE = "invitation-link-keys"
_SETTING = "INVITATION_LINK_KEYS"
_NO_PERSON = uuid.UUID(int=0)
_BODY = struct.Struct(">16s16s16sQ")  # meeting, invitee, person (zeros: none), expiry (Unix seconds)


class LinkInvalid(ValueError):
    """The token was not made by the registry, or was altered (or its key was removed)."""


class LinkExpired(ValueError):
    """The token is genuine, but its time is over."""


@dataclass(frozen=True)
class InvitationLink:
    """What a genuine token says."""

    meeting_id: uuid.UUID
    invitee_id: uuid.UUID
    person_id: uuid.UUID | None
    expires_at: datetime


_cache: tuple[Settings, Keyring] | None = None


def link_keyring() -> Keyring:
    """The keys in force, from INVITATION_LINK_KEYS, else the development key file."""
    global _cache
    settings = get_settings()
    if _cache is not None and _cache[0] is settings:
        return _cache[1]
    if settings.invitation_link_keys:
        ring = parse_keys(settings.invitation_link_keys, setting=_SETTING)
    else:
        ring = parse_keys(local_keys(settings.data_dir, LOCAL_KEYS_FILE), setting=_SETTING)
        logger.warning(
            "INVITATION_LINK_KEYS is not set: invitation links are signed with the development key in %s. "
            "Every deployment must set its own key (docs/OPERATIONS.md, 'Invitation links').",
            (settings.data_dir / LOCAL_KEYS_FILE).resolve(),
        )
    _cache = (settings, ring)
    return ring


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed: str) -> str:
    return _encode(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def link_expiry(meeting_ends_at: datetime) -> datetime:
    """When the links to a meeting ending at ``meeting_ends_at`` stop working."""
    return meeting_ends_at + timedelta(days=get_settings().invitation_link_days_after_meeting)


def sign_link(
    *, meeting_id: uuid.UUID, invitee_id: uuid.UUID, person_id: uuid.UUID | None, expires_at: datetime
) -> str:
    """A token for the link of ``invitee_id`` (given to ``person_id``, if a person of the registry)."""
    ring = link_keyring()
    body = _encode(
        _BODY.pack(meeting_id.bytes, invitee_id.bytes, (person_id or _NO_PERSON).bytes, int(expires_at.timestamp()))
    )
    signed = f"{ring.active_id}.{body}"
    return f"{signed}.{_mac(ring.keys[ring.active_id], signed)}"


def verify_link(token: str, *, now: datetime) -> InvitationLink:
    """What ``token`` says. Raises ``LinkInvalid`` (not ours, altered, or its key removed) or
    ``LinkExpired``. The signature is checked before anything the token says is believed."""
    parts = token.rsplit(".", 2)
    if len(parts) != 3:
        raise LinkInvalid("not an invitation link")
    key_id, body, mac = parts
    key = link_keyring().keys.get(key_id)
    if key is None or not hmac.compare_digest(_mac(key, f"{key_id}.{body}"), mac):
        raise LinkInvalid("the signature does not match")
    try:
        meeting, invitee, person, expires = _BODY.unpack(_decode(body))
    except (binascii.Error, ValueError, struct.error) as error:
        raise LinkInvalid("the link is malformed") from error
    link = InvitationLink(
        meeting_id=uuid.UUID(bytes=meeting),
        invitee_id=uuid.UUID(bytes=invitee),
        person_id=None if person == _NO_PERSON.bytes else uuid.UUID(bytes=person),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )
    if link.expires_at <= now:
        raise LinkExpired("the link has expired")
    return link


def invitation_url(token: str) -> str:
    """The meeting's page, for the invitee the token names."""
    return f"{get_settings().public_base_url}/invitations/{token}"


ANSWERS = {"accepted": N_("Accept"), "tentative": N_("Tentative"), "declined": N_("Decline")}


def answer_url(token: str, answer: str) -> str:
    """The page confirming ``answer`` (one of ``ANSWERS``), for the invitee the token names."""
    return f"{invitation_url(token)}/reply?answer={answer}"
