"""deadline ledger, reminders, calendar years, worker heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("arrangement", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_rung", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_reminder_at", UTCDateTime(), nullable=True))
        batch_op.alter_column("due_at", existing_type=UTCDateTime(), nullable=True)
        batch_op.create_index(
            "ix_deadlines_pending_reminder",
            ["next_reminder_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_deadlines_pending_reminder",
            sqlite_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND next_reminder_at IS NOT NULL"),
        )
        batch_op.alter_column("due_at", existing_type=UTCDateTime(), nullable=False)
        batch_op.drop_column("next_reminder_at")
        batch_op.drop_column("next_rung")

    op.drop_table("worker_heartbeats")
    op.drop_table("calendar_years")
