"""Alembic migrations: upgrade from empty, downgrade/upgrade round trip, and no drift from the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import app.tables  # the app's tables share the metadata the migrations create
from workflow import schema
from workflow.database import create_database_engine
from workflow.errors import FilingFlowError
from workflow.tables import metadata


def _empty(engine: sa.Engine) -> None:
    schema.downgrade(engine, "base")
    tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_upgrade_from_empty_creates_every_table_with_no_drift(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        _empty(engine)
        assert schema.current_revision(engine) is None
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision()
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
        assert {"api_tokens", "http_idempotency", "console_signouts"} <= set(app.tables.SQLModel.metadata.tables)
        assert schema.drift(engine) == [], "a model change needs a migration (alembic revision --autogenerate)"
    finally:
        engine.dispose()


def test_downgrade_then_upgrade_round_trip(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        schema.downgrade(engine, "base")
        schema.upgrade(engine)
        schema.downgrade(engine, "base")
        schema.upgrade(engine)
        assert schema.drift(engine) == []
    finally:
        engine.dispose()


def test_start_up_refuses_an_out_of_date_schema(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        schema.downgrade(engine, "base")
        with pytest.raises(FilingFlowError) as refused:
            schema.ensure_current(engine, migrate=False)
        assert "filingflow db upgrade" in str(refused.value)
        assert refused.value.field == "database"
        schema.ensure_current(engine, migrate=True)
        assert schema.current_revision(engine) == schema.head_revision()
    finally:
        engine.dispose()
