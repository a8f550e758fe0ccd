"""console sessions signed out, shared by every process

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_signouts",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("signed_out_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_console_signouts")),
    )


def downgrade() -> None:
    op.drop_table("console_signouts")
