"""The pages an invitation's links open, for people, without a key (the signed link is the
credential: ``services.meetings.links``): the meeting as the invitee sees it, its calendar
file, and the answers. A GET never changes anything (mail scanners follow links); an answer
is recorded by the POST of its confirmation page's button. And the API route through which
an integrating system posts an iTIP REPLY on an invitee's behalf."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from api.access import UnsupportedMediaType
from api.calendars import CalendarResponse
from api.deps import Authenticated, CurrentPrincipal, DbRead, DbSession
from api.dispatch import PathRouter
from api.input import CheckedRoute
from api.invitation_pages import answered_page, confirm_page, meeting_page, refusal_page
from api.openapi import problems
from api.permissions import INTEGRATOR, Access, Capability
from api.responses import record_response
from services.clock import clock
from services.errors import DomainError, Forbidden, Gone
from services.locales import N_, Language, Localizer, localizer, named
from services.meetings.calendar import calendar_for
from services.meetings.links import InvitationLink, LinkExpired, LinkInvalid, invitation_url, verify_link
from services.meetings.models import InviteeAnswer
from services.meetings.replies import (
    MAX_REPLY_BYTES,
    LinkedInvitation,
    invitee_principal,
    linked_invitation,
    record_answer,
    record_itip_reply,
    require_answerable,
)
from services.meetings.repository import MeetingFilters, all_meeting_rows
from services.meetings.schemas import MeetingOut
from services.principals import Principal
from services.schemas import MULTI_LINE_PATTERN, OneLine

pages = PathRouter(route_class=CheckedRoute, prefix="/invitations", tags=["invitations"])
replies = PathRouter(
    route_class=CheckedRoute,
    prefix="/v1/meetings",
    tags=["meetings"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)

Token = Annotated[
    OneLine,
    Path(min_length=1, max_length=300, description="The signed token of an invitation's link, as the e-mail gave it."),
]
Answer = Annotated[Literal["accepted", "tentative", "declined"], Query(description="The answer to confirm.")]
Lang = Annotated[
    Language | None,
    Query(
        description="The page's language (ISO 639-1, one of the six official languages; the e-mail's links "
        "carry the language the e-mail was written in). Without it: the first of the six `Accept-Language` "
        "names, else the invitee's (the preferred language of the person the link was sent to, else the "
        "meeting's network's)."
    ),
]


def _reader(lang: str | None, request: Request, invitee_language: str = "en") -> Localizer:
    """The language a page is written in: ``?lang=``, else ``Accept-Language`` when it names one
    of the six, else the invitee's (services.meetings.replies.linked_invitation)."""
    return localizer(lang or named(request.headers.get("accept-language")) or invitee_language)


HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "An HTML page, for a person.", "content": {"text/html": {"schema": {"type": "string"}}}}
}


def _verified(token: str) -> InvitationLink:
    """What the link says, once its signature holds: 403 altered, 410 expired."""
    try:
        return verify_link(token, now=clock.now())
    except LinkExpired as error:
        raise Gone(
            "invitation-link-expired",
            N_("This link has expired: invitation links stop working some days after the meeting ends."),
        ) from error
    except LinkInvalid as error:
        raise Forbidden(
            "invitation-link-invalid",
            N_(
                "This link is not valid: it was not made by the registry, was altered or cut short when copied, "
                "or was replaced. Open the link from the latest invitation e-mail as it was sent."
            ),
        ) from error


async def _open(conn: AsyncConnection, token: str) -> tuple[InvitationLink, LinkedInvitation]:
    link = _verified(token)
    return link, await linked_invitation(conn, link)


async def open_invitation(conn: AsyncConnection, token: str) -> Principal:
    """The capability check (``api.permissions.Capability``): the link holds, its invitee is
    still invited; who acts through it."""
    link, _ = await _open(conn, token)
    return invitee_principal(link)


INVITATION_LINK = Capability(parameter="token", open=open_invitation, refusal=refusal_page)


def _answerable(meeting: dict[str, object]) -> bool:
    try:
        require_answerable(meeting, now=clock.now())
    except DomainError:
        return False
    return True


@pages.get("/{token}", response_class=Response, responses={**HTML, **problems(403, 410)})
@Access(capability=INVITATION_LINK)
async def invitation_page(token: Token, conn: DbRead, request: Request, lang: Lang = None) -> Response:
    """The meeting as its invitee sees it: when (in the meeting's zone and the reader's), where,
    the agenda, the invitee's answer, links to answer and to the calendar file; in the reader's
    language (`lang`)."""
    try:
        _, found = await _open(conn, token)
    except DomainError as refusal:
        return refusal_page(refusal, _reader(lang, request))
    return meeting_page(
        found.meeting,
        found.invitee,
        page_url=invitation_url(token),
        answerable=_answerable(found.meeting),
        loc=_reader(lang, request, found.language),
    )


@pages.get("/{token}/meeting.ics", response_class=CalendarResponse, responses=problems(403, 410))
@Access(capability=INVITATION_LINK)
async def invitation_calendar(token: Token, conn: DbRead, request: Request, lang: Lang = None) -> Response:
    """The meeting's calendar file, with each invitee's answer; the words the registry adds in
    `lang` (else the first of the six `Accept-Language` names, else English)."""
    try:
        link = _verified(token)
        rows = await all_meeting_rows(conn, MeetingFilters(meeting_id=link.meeting_id), limit=1)
        if not rows or not any(i["id"] == str(link.invitee_id) for i in rows[0]["invitees"]):
            await linked_invitation(conn, link)  # says why: the invitee was removed
    except DomainError as refusal:
        return refusal_page(refusal, _reader(lang, request))
    body = calendar_for(
        rows,
        name=str(rows[0]["title"]),
        record_url=lambda _: invitation_url(token),
        language=_reader(lang, request).language,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="meeting.ics"', "Cache-Control": "no-store"},
    )


@pages.get("/{token}/reply", response_class=Response, responses={**HTML, **problems(403, 409, 410)})
@Access(capability=INVITATION_LINK)
async def confirm_answer(token: Token, answer: Answer, conn: DbRead, request: Request, lang: Lang = None) -> Response:
    """The page an answer's link opens: the meeting and a button that records the answer. It
    records nothing itself (mail scanners and link previews follow links)."""
    try:
        _, found = await _open(conn, token)
        require_answerable(found.meeting, now=clock.now())
    except DomainError as refusal:
        return refusal_page(refusal, _reader(lang, request))
    loc = _reader(lang, request, found.language)
    # Relative, so the form posts back to the address this page was served at (CSP form-action 'self').
    action = f"reply?answer={answer}&lang={loc.language}"
    return confirm_page(found.meeting, found.invitee, answer=answer, action=action, loc=loc)


@pages.post("/{token}/reply", response_class=Response, responses={**HTML, **problems(403, 409, 410)})
@Access(capability=INVITATION_LINK)
async def record_invitation_answer(
    token: Token, answer: Answer, session: DbSession, request: Request, lang: Lang = None
) -> Response:
    """Record the answer for the invitee the link names, as that invitee (the audit trail names
    the person it was sent to, or the invitee); the same answer again changes nothing."""
    try:
        link = _verified(token)
        row = await record_answer(
            session,
            meeting_id=link.meeting_id,
            invitee_id=link.invitee_id,
            answer=InviteeAnswer(answer),
            actor=invitee_principal(link),
            via="link",
            now=clock.now(),
        )
    except DomainError as refusal:
        return refusal_page(refusal, _reader(lang, request))
    invitee = next(i for i in row["invitees"] if i["id"] == str(link.invitee_id))
    return answered_page(row, invitee, page_url=invitation_url(token), loc=_reader(lang, request))


@replies.post(
    "/{meeting_id}/itip-replies",
    response_model=MeetingOut,
    responses=problems(403, 404, 409, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "An iTIP REPLY (RFC 5546): METHOD:REPLY, the meeting's UID, one ATTENDEE with its PARTSTAT.",
            "content": {
                "text/calendar": {
                    "schema": {"type": "string", "maxLength": MAX_REPLY_BYTES, "pattern": MULTI_LINE_PATTERN}
                }
            },
        }
    },
)
@Access(roles=INTEGRATOR)
async def post_itip_reply(
    meeting_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """An integrating system's calendar answers for an invitee: the REPLY's ATTENDEE must be one
    of the meeting's invitees (by the address or ``urn:uuid`` its invitation named), its
    PARTSTAT ACCEPTED, TENTATIVE or DECLINED, its SEQUENCE not older than the meeting's."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "text/calendar":
        raise UnsupportedMediaType(
            "unsupported-media-type",
            f"Send the REPLY as text/calendar (Content-Type was {media or 'missing'}).",
            headers={"Accept-Post": "text/calendar"},
        )
    row = await record_itip_reply(
        session, meeting_id=meeting_id, body=await request.body(), actor=principal, now=clock.now()
    )
    return record_response(row)
