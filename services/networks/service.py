"""Rules for networks (docs/DOMAIN.md, "Networks")."""

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin, restrict_fields
from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.memberships.models import MembershipTier
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.networks import posts, repository
from services.networks.models import Network, NetworkScope
from services.networks.schemas import REQUIRED_ON_NETWORK, NetworkCreate, NetworkUpdate
from services.principals import Principal
from services.records import apply_patch, check_version, patch_translations, record_change
from services.reference.regions import RegionalCommission, country_outside_region
from services.schemas import stored_translations

# What a focal point of a network's lead may change; the rest is the secretariat's.
LEAD_NETWORK_FIELDS = frozenset(
    {"name", "short_name", "region", "country_code", "description", "translations", "language"}
)

# Which scope a network's parent may have.
ALLOWED_PARENT_SCOPES = {
    NetworkScope.REGIONAL: {NetworkScope.GLOBAL},
    NetworkScope.COUNTRY: {NetworkScope.GLOBAL, NetworkScope.REGIONAL},
}


async def _record(
    session: AsyncSession, event: str, network_id: uuid.UUID, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="network",
        subject_id=network_id,
        network_id=network_id,
        load_row=repository.get_network_row,
        actor=actor,
        **details,
    )


async def create_network(
    session: AsyncSession, *, data: NetworkCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Create a network; its coordinator becomes its first core member on ``established_on``,
    and holds its first coordinator and secretariat posts from that day."""
    require_admin(actor, "create networks")
    if data.scope == NetworkScope.GLOBAL:
        if await session.scalar(select(exists().where(Network.scope == NetworkScope.GLOBAL))):
            raise Conflict("global-network-exists", "The global UN Network on Migration already exists; there is one.")
    else:
        assert data.parent_network_id is not None
        parent = await session.get(Network, data.parent_network_id)
        if parent is None:
            raise InvalidInput(
                "reference-not-found", f"parent_network_id {data.parent_network_id} is not a network of the registry."
            )
        allowed = ALLOWED_PARENT_SCOPES[data.scope]
        if parent.scope not in allowed:
            raise Conflict(
                "invalid-parent-network",
                f"A {data.scope.value} network's parent must be a {' or '.join(sorted(s.value for s in allowed))} network, "
                f"not a {parent.scope.value} one.",
            )
        if data.scope == NetworkScope.COUNTRY:
            assert data.country_code is not None
            _check_in_parent_region(parent, data.country_code)
    coordinator = await session.get(Entity, data.coordinator.entity_id)
    if coordinator is None:
        raise InvalidInput(
            "reference-not-found",
            f"coordinator.entity_id {data.coordinator.entity_id} is not an entity of the registry.",
        )
    if not coordinator.un_system:
        raise Conflict(
            "entity-not-un-system", f"{coordinator.acronym} is not a UN-system entity; a network is coordinated by one."
        )
    network = Network(
        **data.model_dump(exclude={"coordinator", "translations"}),
        translations=stored_translations(data.translations),
        is_demo=is_demo,
    )
    session.add(network)
    await session.flush()  # assigns the id
    first_posts = await posts.open_first_posts(session, network=network, entity_id=coordinator.id, is_demo=is_demo)
    row = await _record(session, "created", network.id, actor)
    await posts.record_first_posts(session, first_posts, actor)
    await create_membership(
        session,
        network_id=network.id,
        data=MembershipCreate(
            entity_id=coordinator.id,
            tier=MembershipTier.CORE,
            start_date=data.established_on,
            mandate_relevance=data.coordinator.mandate_relevance,
            capacity=data.coordinator.capacity,
            notes="Coordinator and secretariat of the network.",
        ),
        actor=actor,
        is_demo=is_demo,
    )
    return row


async def update_network(
    session: AsyncSession, *, network_id: uuid.UUID, data: NetworkUpdate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Apply a merge patch (admins; a focal point of a current lead, its descriptive fields).
    The deprecated ``coordinator_entity_id`` hands the network over (``posts.hand_over``)."""
    await posts.require_network_lead(session, actor, network_id, "change this network")
    restrict_fields(actor, data.model_fields_set, focal_point_may_set=LEAD_NETWORK_FIELDS, record="a network")
    network = await session.scalar(select(Network).where(Network.id == network_id).with_for_update())
    if network is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    check_version("network", network.version, expected_version)
    fields = data.model_fields_set
    if network.scope == NetworkScope.REGIONAL and "region" in fields and data.region is None:
        raise InvalidInput("required-field", "A regional network needs a region.")
    if network.scope == NetworkScope.COUNTRY and "country_code" in fields and data.country_code is None:
        raise InvalidInput("required-field", "A country network needs a country_code.")
    if network.scope == NetworkScope.COUNTRY and data.country_code is not None:
        parent = await session.get(Network, network.parent_network_id)
        assert parent is not None
        _check_in_parent_region(parent, data.country_code)
    if network.scope == NetworkScope.REGIONAL and data.region is not None and data.region != network.region:
        await _check_countries_stay_in_region(session, network_id, data.region)
    if "coordinator_entity_id" in fields and data.coordinator_entity_id is None:
        raise InvalidInput("required-field", "'coordinator_entity_id' cannot be cleared; send a value instead.")
    changes = apply_patch(
        network, data, required=REQUIRED_ON_NETWORK, skip=frozenset({"coordinator_entity_id", "translations"})
    )
    changes.update(patch_translations(network, data))
    if data.coordinator_entity_id is not None:
        before = await repository.get_network_row(session, network_id)
        assert before is not None
        if await posts.hand_over(session, network=network, entity_id=data.coordinator_entity_id, actor=actor):
            network.updated_at = clock.now()
            changes["coordinator_entity_id"] = (before["coordinator_entity_id"], data.coordinator_entity_id)
    return await _record(session, "updated", network_id, actor, changes=changes)


def _check_in_parent_region(parent: Network, country_code: str) -> None:
    """A country network under a regional network is for a country of that commission's region."""
    if parent.scope != NetworkScope.REGIONAL or parent.region is None:
        return
    problem = country_outside_region(RegionalCommission(parent.region), country_code)
    if problem is not None:
        raise InvalidInput("country-outside-region", problem, fields=["country_code"])


async def _check_countries_stay_in_region(
    session: AsyncSession, network_id: uuid.UUID, region: RegionalCommission
) -> None:
    """A regional network keeps its country networks: a new region must cover each of them."""
    children = await session.execute(
        select(Network.name, Network.country_code).where(
            Network.parent_network_id == network_id, Network.scope == NetworkScope.COUNTRY
        )
    )
    outside = [
        f"{name} ({code})" for name, code in children if code and country_outside_region(region, code) is not None
    ]
    if outside:
        raise InvalidInput(
            "country-outside-region",
            f"{region.value} does not cover the country networks under this network: {', '.join(sorted(outside))}; "
            "move them to another parent or keep the region.",
            fields=["region"],
        )
