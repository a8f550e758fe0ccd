"""official-list entries dated to start later: flagged by the worker's tick on their start day

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

An entry added before its ``since`` day is marked ``flag_on_start``; the tick flags the open
cases of the applicant once that day has come and clears the mark. Existing entries added before
their start day (never flagged: there was no sweep) are marked, so the first tick flags them.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from workflow.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SHANGHAI = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("flag_on_start", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_listings_flag_on_start", "listings", ["flag_on_start", "since"])
    rows = sa.table(
        "listings",
        sa.column("id", sa.Integer()),
        sa.column("since", sa.Date()),
        sa.column("added_at", UTCDateTime()),
        sa.column("removed_at", UTCDateTime()),
        sa.column("flag_on_start", sa.Boolean()),
    )
    connection = op.get_bind()
    live = connection.execute(sa.select(rows.c.id, rows.c.since, rows.c.added_at).where(rows.c.removed_at.is_(None)))
    later = [row.id for row in live if row.since > row.added_at.astimezone(SHANGHAI).date()]
    if later:
        connection.execute(rows.update().where(rows.c.id.in_(later)).values(flag_on_start=True))


def downgrade() -> None:
    op.drop_index("ix_listings_flag_on_start", table_name="listings")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("flag_on_start")
