import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.calendars import ICS, CalendarResponse, calendar_response
from api.deps import (
    Authenticated,
    CurrentPrincipal,
    DbRead,
    DbSession,
    IdempotencyKeyHeader,
    OptionalIfMatch,
    Pagination,
    RequiredIfMatch,
)
from api.dispatch import PathRouter
from api.documents import MeetingComplianceOut, documented
from api.export import exportable, exporter
from api.idempotency import create_once
from api.openapi import in_language, page_of, problems
from api.path_records import MEETING_NETWORK_LEADS
from api.permissions import FOCAL_POINT, Access, BodyOwner
from api.planned import PlannedRoute
from api.responses import json_response, localized_record_response, page_response, record_response
from services.calendars.models import FeedScope
from services.clock import clock
from services.dates import RegistryDateTime
from services.errors import NotFound
from services.events.privacy import without_invitee_emails
from services.export import ExportSource
from services.meetings import repository, service
from services.meetings.compliance import meeting_compliance
from services.meetings.models import MeetingKind, MeetingStatus
from services.meetings.schemas import (
    TRANSLATED_FIELDS,
    MeetingCancel,
    MeetingCreate,
    MeetingHold,
    MeetingOut,
    MeetingUpdate,
)
from services.pagination import Page

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/meetings",
    tags=["meetings"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)
feeds = PathRouter(
    route_class=PlannedRoute, tags=["meetings"], dependencies=[Authenticated], responses=problems(401, 429)
)


@router.post("", status_code=201, response_model=MeetingOut, responses=problems(403, 409, 422))
@Access(roles=FOCAL_POINT, owners=BodyOwner("network_id"))
async def create_meeting(
    body: MeetingCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.create_meeting(session, data=body, actor=principal),
        collection="/v1/meetings",
    )


@router.get("", responses={**in_language(exportable(page_of(MeetingOut))), **problems(422)})
async def list_meetings(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    working_group_id: uuid.UUID | None = None,
    kind: MeetingKind | None = None,
    status: MeetingStatus | None = None,
    starts_after: Annotated[RegistryDateTime | None, Query(description="RFC 3339, with offset.")] = None,
    starts_before: RegistryDateTime | None = None,
    invitee_entity_id: uuid.UUID | None = None,
    *,
    principal: CurrentPrincipal,
) -> Response:
    """External invitees' e-mail addresses are shown to admins only."""
    filters = repository.MeetingFilters(
        network_id, working_group_id, kind, status, starts_after, starts_before, invitee_entity_id
    )
    if (export := exporter(request)) is not None:
        query = repository.meetings_query(filters)
        shape = (lambda row: row) if principal.is_admin else without_invitee_emails
        return export.response("meetings", ExportSource(query, shape))
    result = await repository.list_meeting_rows(conn, page, filters)
    if not principal.is_admin:
        result = Page([without_invitee_emails(row) for row in result.items], result.next_cursor)
    return page_response(request, result, translated=TRANSLATED_FIELDS)


@router.get("/{meeting_id}.ics", response_class=CalendarResponse, responses={**ICS, **problems(404)})
async def meeting_calendar(meeting_id: uuid.UUID, request: Request, conn: DbRead) -> Response:
    response = await calendar_response(request, conn, FeedScope.MEETING, meeting_id)
    if response is None:
        raise NotFound("meeting-not-found", f"No meeting has id {meeting_id}.")
    return response


@router.get("/{meeting_id}", response_model=MeetingOut, responses=in_language(problems(404)))
async def get_meeting(meeting_id: uuid.UUID, request: Request, conn: DbRead, principal: CurrentPrincipal) -> Response:
    """External invitees' e-mail addresses are shown to admins only. The title in the language
    `Accept-Language` prefers where the meeting's `translations` hold it, else the original
    (`Content-Language` says which)."""
    row = await repository.get_meeting_row(conn, meeting_id)
    if row is None:
        raise NotFound("meeting-not-found", f"No meeting has id {meeting_id}.")
    return localized_record_response(
        request, row if principal.is_admin else without_invitee_emails(row), TRANSLATED_FIELDS
    )


@router.patch("/{meeting_id}", response_model=MeetingOut, responses=problems(403, 404, 409, 412, 422, 428))
@Access(roles=FOCAL_POINT, owners=MEETING_NETWORK_LEADS)
async def update_meeting(
    meeting_id: uuid.UUID,
    body: MeetingUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """Scheduled meetings only; a change of time or place bumps `sequence` and moves the reminders."""
    row = await service.update_meeting(
        session, meeting_id=meeting_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{meeting_id}/cancel", response_model=MeetingOut, responses=problems(403, 404, 409, 412, 422))
@Access(roles=FOCAL_POINT, owners=MEETING_NETWORK_LEADS)
async def cancel_meeting(
    meeting_id: uuid.UUID,
    body: MeetingCancel,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    row = await service.cancel_meeting(
        session, meeting_id=meeting_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{meeting_id}/hold", response_model=MeetingOut, responses=problems(403, 404, 409, 412, 422))
@Access(roles=FOCAL_POINT, owners=MEETING_NETWORK_LEADS)
async def hold_meeting(
    meeting_id: uuid.UUID, body: MeetingHold, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    """Record the meeting as held: minutes, attendance by entity, outcomes."""
    row = await service.hold_meeting(
        session, meeting_id=meeting_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@feeds.get(
    "/v1/networks/{network_id}/calendar.ics", response_class=CalendarResponse, responses={**ICS, **problems(404)}
)
async def network_calendar(network_id: uuid.UUID, request: Request, conn: DbRead) -> Response:
    response = await calendar_response(request, conn, FeedScope.NETWORK, network_id)
    if response is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    return response


@feeds.get(
    "/v1/working-groups/{group_id}/calendar.ics", response_class=CalendarResponse, responses={**ICS, **problems(404)}
)
async def working_group_calendar(group_id: uuid.UUID, request: Request, conn: DbRead) -> Response:
    response = await calendar_response(request, conn, FeedScope.WORKING_GROUP, group_id)
    if response is None:
        raise NotFound("working-group-not-found", f"No working group has id {group_id}.")
    return response


@feeds.get(
    "/v1/networks/{network_id}/meeting-compliance",
    responses={**documented(MeetingComplianceOut, "The annual-meeting rule, as it stands today."), **problems(404)},
)
async def get_meeting_compliance(network_id: uuid.UUID, conn: DbRead) -> Response:
    """When the extended membership last met with other stakeholders, whether the next such
    meeting is scheduled within 12 months of it, and whether the network is `at_risk` or `overdue`."""
    return json_response(await meeting_compliance(conn, network_id, today=clock.today()))
