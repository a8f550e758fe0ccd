"""official lists (LG-LIST-1, SZ-LIST-1)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_key", sa.String(length=60), nullable=False),
        sa.Column("applicant_code", sa.String(length=18), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_reason", sa.String(length=2000), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("removed_by", sa.String(length=200), nullable=True),
        sa.Column("removed_reason", sa.String(length=2000), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
    )
    op.create_index("ix_listings_applicant", "listings", ["applicant_code"])


def downgrade() -> None:
    op.drop_index("ix_listings_applicant", table_name="listings")
    op.drop_table("listings")
