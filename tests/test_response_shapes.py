"""Each response shape is declared once, on its ``*Out`` model (services.shapes): what the
repositories select, what the routes document and what a client receives are the same fields,
in the same order."""

import types
import typing
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from httpx import AsyncClient
from pydantic import BaseModel
from sqlalchemy import Select

from services.api_keys.repository import keys_query
from services.calendars.repository import subscriptions_query
from services.commitments.repository import champions_query, pledges_query
from services.entities.repository import entities_query
from services.meetings.repository import MeetingFilters, meetings_query
from services.memberships.repository import memberships_query
from services.mous.repository import MouFilters, mous_query
from services.networks.repository import networks_query
from services.networks.repository import posts_query as network_posts_query
from services.people.repository import people_query
from services.people.repository import posts_query as focal_point_posts_query
from services.principals import SYSTEM
from services.reviews.repository import ReviewFilters, recommendations_query, reviews_query
from services.schemas import OutputModel
from services.shapes import DECLARED, Derived, From, select_list, sources
from services.webhooks.repository import deliveries_query, endpoints_query
from services.working_groups.models import PostKind
from services.working_groups.repository import GroupFilters, groups_query, posts_query
from services.workplans.repository import activities_query, workplans_query
from tests.read_world import read_url, read_world
from tests.webhook_receiver import Receiver

# GET routes that document a body not read from a select (none today): the route, and why.
NOT_READ_FROM_ROWS: dict[str, str] = {
    "/v1/event-types": "the event catalogue, built from its declarations in code: no table behind it",
    "/v1/countries": "reference data shipped with the release (services/reference): no table behind it",
    "/v1/regions": "reference data shipped with the release (services/reference): no table behind it",
    "/v1/sdg-targets": "reference data shipped with the release (services/reference): no table behind it",
    # Documents computed or assembled by their route (api/documents.py), checked against their
    # models by tests/test_openapi_bounds.py.
    "/v1/events": "the change feed: events with their payloads, in log order",
    "/v1/gcm/objectives": "reference data loaded at migration",
    "/v1/gcm/principles": "reference data loaded at migration",
    "/v1/networks/{network_id}/coverage": "computed per objective from groups and MoU areas",
    "/v1/mous/{mou_id}/history": "the MoU chain's events",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def body_fields(model: type[BaseModel]) -> list[str]:
    """The keys a record of ``model`` is served with, in order."""
    return list(model.model_fields)


def selected_fields(model: type[BaseModel]) -> list[str]:
    """The keys a select of ``model`` returns (the version is the ETag), in order."""
    return [name for name, source in sources(model).items() if isinstance(source, From)]


def _columns(query: Select[Any]) -> list[str]:
    return [column.key for column in query.selected_columns if column.key != "version"]


def list_queries() -> dict[str, tuple[type[BaseModel], Select[Any]]]:
    """The statement each list (and its export) runs, by resource."""
    some_id = uuid.uuid4()
    return {
        "entities": (_model("EntityOut"), entities_query()),
        "networks": (_model("NetworkOut"), networks_query()),
        "network posts": (_model("NetworkPostOut"), network_posts_query(network_id=some_id)),
        "memberships": (_model("MembershipOut"), memberships_query()),
        "meetings": (_model("MeetingOut"), meetings_query(MeetingFilters())),
        "mous": (_model("MouOut"), mous_query(MouFilters())),
        "reviews": (_model("ReviewOut"), reviews_query(ReviewFilters())),
        "recommendations": (_model("RecommendationOut"), recommendations_query(some_id)),
        "working groups": (_model("WorkingGroupOut"), groups_query(GroupFilters(), today=date(2026, 1, 1))),
        "posts": (_model("PostOut"), posts_query(group_id=some_id, kind=PostKind.CHAIR, as_of=None)),
        "webhook endpoints": (_model("EndpointOut"), endpoints_query(SYSTEM)),
        "deliveries": (_model("DeliveryOut"), deliveries_query(endpoint_id=some_id, status=None)),
        "api keys": (_model("ApiKeyOut"), keys_query(SYSTEM, include_revoked=True)),
        "calendar subscriptions": (_model("SubscriptionOut"), subscriptions_query(SYSTEM, include_revoked=True)),
        "workplans": (_model("WorkplanOut"), workplans_query(network_id=None)),
        "activities": (_model("ActivityOut"), activities_query(workplan_id=some_id)),
        "champion countries": (_model("ChampionCountryOut"), champions_query(network_id=some_id, as_of=None)),
        "pledges": (_model("PledgeOut"), pledges_query(network_id=None, status=None)),
        "people": (_model("PersonOut"), people_query()),
        "focal-point posts": (_model("FocalPointOut"), focal_point_posts_query(person_id=some_id)),
    }


def _model(name: str) -> type[BaseModel]:
    (model,) = [m for m in DECLARED if m.__name__ == name]
    return model


def get_routes(app: Any) -> Iterator[APIRoute]:
    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if (original := getattr(route, "original_router", None)) is not None:
                yield from walk(original.routes)
            elif isinstance(route, APIRoute) and "GET" in route.methods:
                yield route

    yield from walk(app.router.routes)


def documented(route: APIRoute) -> tuple[type[BaseModel], bool] | None:
    """The model a GET route documents its body with, and whether the body is a page of it."""
    if isinstance(route.response_model, type) and issubclass(route.response_model, BaseModel):
        return route.response_model, False
    page = (route.responses.get(200) or {}).get("model")
    if page is not None and "items" in page.model_fields:
        (item,) = typing.get_args(page.model_fields["items"].annotation)
        return item, True
    return None


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (alone, in a list, or optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (list, typing.Union):
        for argument in typing.get_args(annotation):
            if (found := nested_model(argument)) is not None:
                return found
    return None


def assert_shape(value: Any, model: type[BaseModel], where: str, *, ordered: bool) -> None:
    """``value``'s keys are ``model``'s fields (in order at the top: PostgreSQL's jsonb keeps
    its own key order inside), and so on down every nested object."""
    assert isinstance(value, dict), where
    if ordered:
        assert list(value) == body_fields(model), where
    else:
        assert set(value) == set(body_fields(model)), where
    for name, field in model.model_fields.items():
        inner = nested_model(field.annotation)
        items = value[name] if isinstance(value[name], list) else [value[name]]
        for item in items if inner is not None else []:
            if item is not None:
                assert_shape(item, inner, f"{where}.{name}", ordered=False)


def test_every_list_selects_its_models_fields_in_order() -> None:
    queries = list_queries()
    for resource, (model, query) in queries.items():
        assert _columns(query) == selected_fields(model), resource
    listed = {model for model, _ in queries.values()}
    assert set(DECLARED) - listed == {_model("ReviewPolicyOut")}  # one per network: no list


def test_every_declared_select_list_is_its_models_fields() -> None:
    for model, columns in DECLARED.items():
        names = [column.key for column in columns]
        assert names[: len(selected_fields(model))] == selected_fields(model), model.__name__
        assert names[len(selected_fields(model)) :] in ([], ["version"]), model.__name__


def test_only_the_delivery_adds_a_field_in_python() -> None:
    derived = {
        f"{model.__name__}.{name}"
        for model in DECLARED
        for name, source in sources(model).items()
        if isinstance(source, Derived)
    }
    assert derived == {"DeliveryOut.webhook_id"}


def test_a_field_without_a_source_is_refused_at_import() -> None:
    class Unsourced(OutputModel):
        name: str

    with pytest.raises(TypeError, match=r"Unsourced\.name needs one From"):
        select_list(Unsourced)
    assert Unsourced not in DECLARED


async def test_every_read_route_serves_a_declared_shape_field_for_field(
    app: Any, client: AsyncClient, session: Any, receiver: Receiver
) -> None:
    ids = await read_world(client, session, receiver)
    served: set[type[BaseModel]] = set()
    for route in get_routes(app):
        shape = documented(route)
        if shape is None or route.path in NOT_READ_FROM_ROWS:
            continue
        model, is_page = shape
        assert model in DECLARED, f"GET {route.path} documents {model.__name__}, which declares no select"
        url = read_url(route.path, ids)
        response = await client.get(url)
        assert response.status_code == 200, f"GET {url}: {response.text}"
        records = response.json()["items"] if is_page else [response.json()]
        assert records, f"GET {url} served no record to compare"
        for record in records:
            assert_shape(record, model, f"GET {url}", ordered=True)
        served.add(model)
    assert served == set(DECLARED), set(DECLARED) - served


def _outside_parentheses(text: str) -> str:
    depth, kept = 0, []
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")"
    return "".join(kept)


def test_no_subquery_of_a_shape_reads_a_table_it_should_correlate() -> None:
    """A field's subquery nested below the list's own select must correlate to it; one that
    does not lists the outer table among its own FROMs (``FROM a JOIN b ON ..., meetings``)
    and reads every row of it: an invitee's invitation once matched any meeting's."""
    from sqlalchemy.dialects import postgresql

    for resource, (_, query) in list_queries().items():
        sql = str(query.compile(dialect=postgresql.dialect()))
        for line in sql.splitlines():
            if line.lstrip().startswith("FROM "):
                clause = _outside_parentheses(line.split(" WHERE ")[0].split(" ORDER BY ")[0])
                assert ", " not in clause, f"{resource}: a cross join in {line.strip()!r}"
