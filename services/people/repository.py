"""Queries on people and their focal-point posts."""

import functools
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, bindparam, column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.people.models import FocalPointPost, Person
from services.people.schemas import FocalPointOut, PersonOut
from services.shapes import select_list

_PERSON_COLUMNS = select_list(PersonOut, version=Person.version)
_POST_COLUMNS = select_list(FocalPointOut, version=FocalPointPost.version)

# The subjects a post may name, by the tables' ids only: the domains sit above this one.
SUBJECT_TABLES = {
    "network_id": table("networks", column("id")),
    "working_group_id": table("working_groups", column("id")),
}


def post_active_on(day: Any) -> Any:
    """The condition "this post runs on ``day``" (a date or a SQL expression)."""
    return (FocalPointPost.start_date <= day) & or_(FocalPointPost.end_date.is_(None), FocalPointPost.end_date >= day)


async def person_with_address(conn: AsyncConnection, entity_id: uuid.UUID, email: str) -> uuid.UUID | None:
    """The person of ``entity_id`` whose address is ``email`` (stored lower-case), unless erased."""
    found = await conn.scalar(
        select(Person.id).where(
            Person.entity_id == entity_id, Person.email == email.strip().lower(), Person.erased_at.is_(None)
        )
    )
    return found


async def get_person_row(conn: AsyncConnection | AsyncSession, person_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(select(*_PERSON_COLUMNS).where(Person.id == person_id))).mappings().first()
    return dict(row) if row is not None else None


def people_query(*, entity_id: uuid.UUID | None = None) -> Select[Any]:
    query = select(*_PERSON_COLUMNS)
    if entity_id is not None:
        query = query.where(Person.entity_id == entity_id)
    return query.order_by(Person.id)


# The lists' statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _people_page(by_entity: bool, after: bool) -> Select[Any]:
    query = select(*_PERSON_COLUMNS)
    if by_entity:
        query = query.where(Person.entity_id == bindparam("entity_id"))
    return keyset_page(query, Person.id, after=after)


async def list_person_rows(conn: AsyncConnection, page: PageRequest, *, entity_id: uuid.UUID | None = None) -> Page:
    statement = _people_page(entity_id is not None, page.after is not None)
    return await fetch_page(conn, statement, page, entity_id=entity_id)


async def get_post_row(conn: AsyncConnection | AsyncSession, post_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(select(*_POST_COLUMNS).where(FocalPointPost.id == post_id))).mappings().first()
    return dict(row) if row is not None else None


def posts_query(*, person_id: uuid.UUID, as_of: date | None = None) -> Select[Any]:
    """A person's focal-point posts (those running on ``as_of``), in id order."""
    query = select(*_POST_COLUMNS).where(FocalPointPost.person_id == person_id)
    if as_of is not None:
        query = query.where(post_active_on(as_of))
    return query.order_by(FocalPointPost.id)


@functools.cache
def _posts_page(as_of: bool, after: bool) -> Select[Any]:
    query = select(*_POST_COLUMNS).where(FocalPointPost.person_id == bindparam("person_id"))
    if as_of:
        query = query.where(post_active_on(bindparam("as_of", type_=Date)))
    return keyset_page(query, FocalPointPost.id, after=after)


async def list_post_rows(
    conn: AsyncConnection, page: PageRequest, *, person_id: uuid.UUID, as_of: date | None = None
) -> Page:
    statement = _posts_page(as_of is not None, page.after is not None)
    return await fetch_page(conn, statement, page, person_id=person_id, as_of=as_of)


async def posts_of_person(session: AsyncSession, person_id: uuid.UUID) -> list[FocalPointPost]:
    """The person's posts, locked (the person row is locked first), in start order."""
    query = (
        select(FocalPointPost)
        .where(FocalPointPost.person_id == person_id)
        .order_by(FocalPointPost.start_date, FocalPointPost.id)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


async def subject_exists(session: AsyncSession, field: str, subject_id: uuid.UUID) -> bool:
    subjects = SUBJECT_TABLES[field]
    return (await session.scalar(select(subjects.c.id).where(subjects.c.id == subject_id))) is not None


def focal_point_subquery(day: date) -> Any:
    """Each entity's focal points on ``day`` with an address, to outer-join on entity_id."""
    return (
        select(
            FocalPointPost.entity_id.label("entity_id"),
            Person.email.label("email"),
            Person.id.label("person_id"),
        )
        .join(Person, Person.id == FocalPointPost.person_id)
        .where(FocalPointPost.entity_id.is_not(None), post_active_on(day), Person.email.is_not(None))
        .subquery("focal_points")
    )
