"""A regional network's region is one of the five UN regional commissions (ECA, ECE, ECLAC,
ESCAP, ESCWA), no longer free text.

Existing regions are mapped from the spellings people used ("Africa", "Asia and the Pacific",
"Arab States", a commission's name or its code in any case). A region that none of them
matches is not guessed: the upgrade stops before changing anything and names each network
and its region, so that an operator sets the region (PATCH /v1/networks/{id} with one of the
five codes, which the running release accepts) and runs the upgrade again. No text is
dropped: every region the upgrade changes is one whose meaning the mapping states.

The downgrade drops the constraint; the codes stay, as valid free text.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMISSIONS = {
    "ECA": ("economic commission for africa", "africa", "sub-saharan africa"),
    "ECE": (
        "economic commission for europe",
        "europe",
        "europe and central asia",
        "europe and north america",
        "unece",
    ),
    "ECLAC": (
        "economic commission for latin america and the caribbean",
        "latin america and the caribbean",
        "latin america",
        "lac",
        "americas",
        "the americas",
        "cepal",
    ),
    "ESCAP": (
        "economic and social commission for asia and the pacific",
        "asia and the pacific",
        "asia-pacific",
        "asia pacific",
        "asia",
    ),
    "ESCWA": (
        "economic and social commission for western asia",
        "arab states",
        "arab region",
        "western asia",
        "middle east and north africa",
        "mena",
    ),
}
SPELLINGS = {spelling: code for code, spellings in COMMISSIONS.items() for spelling in (code.lower(), *spellings)}


def _normalised(region: str) -> str:
    return " ".join(region.lower().replace("&", "and").split())


def commission_for(region: str) -> str | None:
    """The commission a free-text region names, or None when no known spelling matches."""
    return SPELLINGS.get(_normalised(region))


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name, region FROM networks WHERE region IS NOT NULL ORDER BY name"))
    mapped, unmapped = [], []
    for network_id, name, region in rows:
        code = commission_for(region)
        if code is None:
            unmapped.append(f"{name} ({network_id}): {region!r}")
        elif code != region:
            mapped.append({"id": network_id, "region": code})
    if unmapped:
        raise RuntimeError(
            "These networks' regions name no UN regional commission, and the upgrade will not guess: "
            + "; ".join(unmapped)
            + ". Set each one's region to ECA, ECE, ECLAC, ESCAP or ESCWA (PATCH /v1/networks/{id}), "
            "then run the upgrade again. Nothing was changed."
        )
    if mapped:
        connection.execute(
            sa.text("UPDATE networks SET region = :region, version = version + 1, updated_at = now() WHERE id = :id"),
            mapped,
        )
    op.create_check_constraint(
        op.f("ck_networks_region_is_commission"), "networks", "region IN ('ECA', 'ECE', 'ECLAC', 'ESCAP', 'ESCWA')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_networks_region_is_commission"), "networks", type_="check")
