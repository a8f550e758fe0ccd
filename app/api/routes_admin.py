"""``/v1/webhooks`` (admin) and ``/healthz``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from app.api import schemas
from app.api.deps import CallerDep, EngineDep, require_role
from app.api.problems import ApiProblem
from workflow.database import read_only
from workflow.engine import Engine
from workflow.tables import webhook_subscriptions, worker_heartbeats
from workflow.writes import CHANGE_KINDS, ENGINE_EVENTS, hold_writers

router = APIRouter()


def filter_names(engine: Engine) -> frozenset[str]:
    """Every name a webhook filter may hold: change kinds, the engine's own events, any program's events."""
    events = {event.name for process in engine.programs for event in process.definition.events}
    return frozenset({*CHANGE_KINDS, *ENGINE_EVENTS, *events})


def _out(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": row["events"],
        "active": row["active"],
        "created_at": row["created_at"],
    }


@router.post("/v1/webhooks", status_code=201, response_model=schemas.WebhookOut, tags=["admin"])
def create_webhook(body: schemas.WebhookIn, engine: EngineDep, caller: CallerDep) -> dict[str, Any]:
    """Subscribe a backend to case changes (signed with ``secret``; ``events`` filters, empty = all)."""
    require_role(caller, "admin")
    known = filter_names(engine)
    for index, name in enumerate(body.events):
        if name not in known:
            raise ApiProblem(
                422,
                "invalid-input",
                "Invalid input",
                f"{name!r} is neither a change kind nor an event of any program",
                field=f"events.{index}",
            )
    with engine.database.begin() as conn:
        hold_writers(conn)  # every change commits before the subscription exists, or after it with its delivery
        new = conn.execute(
            webhook_subscriptions.insert().values(
                url=body.url,
                secret=body.secret,
                events=body.events,
                active=True,
                created_by=caller.name,
                created_at=engine.clock.now(),
            )
        ).inserted_primary_key
        assert new is not None
        row = conn.execute(sa.select(webhook_subscriptions).where(webhook_subscriptions.c.id == new[0])).mappings()
        return _out(row.one())


@router.get("/v1/webhooks", response_model=list[schemas.WebhookOut], tags=["admin"])
def list_webhooks(engine: EngineDep, caller: CallerDep) -> list[dict[str, Any]]:
    require_role(caller, "admin")
    with read_only(engine.database) as conn:
        rows = conn.execute(sa.select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)).mappings()
        return [_out(r) for r in rows]


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, tags=["admin"])
def delete_webhook(webhook_id: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep, caller: CallerDep) -> None:
    """Deactivate a subscription (pending deliveries to it go dead)."""
    require_role(caller, "admin")
    with engine.database.begin() as conn:
        hold_writers(conn)
        updated = conn.execute(
            webhook_subscriptions.update().where(webhook_subscriptions.c.id == webhook_id).values(active=False)
        )
    if not updated.rowcount:
        raise ApiProblem(404, "not-found", "No such webhook", f"no webhook {webhook_id}", field="webhook_id")


@router.get(
    "/healthz",
    response_model=schemas.HealthOut,
    tags=["health"],
    responses={503: {"description": "Database unreachable (same body)", "model": schemas.HealthOut}},
)
def healthz(request: Request, engine: EngineDep) -> JSONResponse:
    """Database reachable, age of the newest worker heartbeat, and whether the clock is a sandbox's."""
    now: datetime = engine.clock.now()
    sandbox = request.app.state.sandbox
    try:
        with read_only(engine.database) as conn:
            beat = conn.execute(sa.select(sa.func.max(worker_heartbeats.c.beat_at))).scalar()
        database = "ok"
    except sa.exc.SQLAlchemyError as exc:
        beat, database = None, f"unreachable: {type(exc).__name__}"
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "worker_heartbeat_age_seconds": (now - beat).total_seconds() if beat else None,
        "sandbox": sandbox,
        "now": now.isoformat(),
    }
    return JSONResponse(body, status_code=200 if database == "ok" else 503)
