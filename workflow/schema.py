"""Schema migrations (Alembic) as engine-level functions: upgrade, downgrade, current, drift.

The migration scripts live in :mod:`workflow.migrations` beside the tables they migrate,
so an installed FilingFlow can migrate its database without a checkout. The embedded
SQLite default is brought to head automatically at start-up; a PostgreSQL database is
migrated explicitly (``filingflow db upgrade``) and start-up refuses a schema that is
behind, rather than run against it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from workflow.errors import FilingFlowError
from workflow.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutOfDate(FilingFlowError):
    """The database schema is not at the revision this code expects."""


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def ensure_current(engine: sa.Engine, *, migrate: bool) -> None:
    """Bring the schema to head (``migrate``) or refuse to run on an out-of-date one."""
    if current_revision(engine) == head_revision():
        return
    if migrate:
        upgrade(engine)
        return
    raise SchemaOutOfDate(
        f"database schema is at {current_revision(engine)!r}, this FilingFlow needs {head_revision()!r}: "
        "run `filingflow db upgrade`",
        field="database",
    )


def drift(engine: sa.Engine) -> list[Any]:
    """Differences autogenerate finds between the models and the migrated database."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs: list[Any] = compare_metadata(context, metadata)
        return diffs
