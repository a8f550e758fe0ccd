"""Interactive API docs that work without the internet: Swagger UI and ReDoc served from a package.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, which an office network (or an
air-gapped deployment) cannot reach, leaving a blank page. The assets come instead from the
``fastapi-offline`` package (Swagger UI bundle, CSS, ReDoc, favicon) and are served by this
process under :data:`STATIC_URL`. Operation ids are readable names a generated client uses as
method names (``open_case``, ``fire_event``), set once here rather than on every route.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/docs-assets"
ASSETS = Path(fastapi_offline.__file__).parent / "static"

# Route function name -> the operation id clients see; a route not named here keeps its function name.
OPERATION_IDS = {
    "create_case": "open_case",
    "read_case": "get_case",
    "list_cases": "list_cases",
    "fire_event": "fire_event",
    "override": "override_case",
    "extend_deadline": "extend_deadline",
    "suspend_deadline": "suspend_deadline",
    "resume_deadline": "resume_deadline",
    "audit_trail": "get_audit_trail",
    "case_notices": "list_case_notices",
    "resend_notice": "resend_notice",
    "list_programs": "list_programs",
    "read_program": "get_program",
    "advance_batch": "advance_batch",
    "create_webhook": "create_webhook",
    "list_webhooks": "list_webhooks",
    "delete_webhook": "delete_webhook",
    "healthz": "get_health",
}

TAGS = [
    {"name": "cases", "description": "Cases, their events, deadlines, audit trail and notices"},
    {"name": "programs", "description": "Program rounds as data"},
    {"name": "admin", "description": "Webhook subscriptions (admin)"},
    {"name": "lists", "description": "The official lists eligibility is checked against (staff)"},
    {"name": "health", "description": "Liveness for load balancers and operators (no token)"},
]


def operation_id(route: APIRoute) -> str:
    """FastAPI's ``generate_unique_id_function``: a readable, stable id per route."""
    return OPERATION_IDS.get(route.name, route.name)


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI) and ``/redoc`` from local assets; the app must be built with docs off."""
    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
