"""The app's own tables: API tokens, HTTP idempotency keys, console sign-outs.

The engine never reads them; they live here, beside the code that does, on the engine's
metadata (``SQLModel.metadata``) so one set of Alembic migrations (``workflow/migrations``)
keeps creating them: nothing changes on disk. Importing this module registers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from workflow.tables import json_column, utc_column


class ApiTokenRow(SQLModel, table=True):
    """A bearer token of the HTTP API: only its SHA-256 is stored; revocable."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    role: str = Field(max_length=20)
    applicant_code: str | None = Field(default=None, max_length=18)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(default=None)


class HttpIdempotencyRow(SQLModel, table=True):
    """An HTTP request made with an ``Idempotency-Key``: in flight, then its first response."""

    __tablename__ = "http_idempotency"
    __table_args__ = (sa.Index("ix_http_idempotency_created", "created_at"),)

    token_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    status: str = Field(max_length=20)  # in_flight | done
    response_status: int | None = None
    response_body: dict[str, Any] | None = json_column(default=None)
    response_headers: dict[str, Any] | None = json_column(default=None)
    created_at: datetime = utc_column()


class ConsoleSignoutRow(SQLModel, table=True):
    """A console session signed out before its expiry (the hash of its nonce), shared by every process."""

    __tablename__ = "console_signouts"

    nonce_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = utc_column()
    signed_out_at: datetime = utc_column()


api_tokens = ApiTokenRow.__table__  # type: ignore[attr-defined]
http_idempotency = HttpIdempotencyRow.__table__  # type: ignore[attr-defined]
console_signouts = ConsoleSignoutRow.__table__  # type: ignore[attr-defined]
