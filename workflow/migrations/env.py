"""Alembic environment: runs on the connection :mod:`workflow.schema` hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel.sql.sqltypes import AutoString

from workflow.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by the bare alembic CLI
    raise RuntimeError("run migrations through `filingflow db ...` (workflow.schema), which passes a connection")


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Render SQLModel's AutoString as plain ``sa.String`` and our UTC type by name."""
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if kind == "type" and type(obj).__name__ == "UTCDateTime":
        autogen.imports.add("from workflow.tables import UTCDateTime")
        return "UTCDateTime()"
    return False


context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
