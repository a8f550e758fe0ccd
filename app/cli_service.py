"""``filingflow serve`` (the HTTP API with its scheduler worker) and ``filingflow tokens``."""

from __future__ import annotations

import logging
import socket
from typing import Annotated

import typer
import uvicorn

from app.api import create_app, sandbox_info
from app.api.auth import TOKEN_ROLES, create_token, revoke_token
from app.bootstrap import bootstrap
from app.delivery import build_dispatcher
from app.keys import audit_key, console_keys
from app.settings import Settings, SettingsError
from app.worker_lock import WorkerLock
from scheduler.worker import build_scheduler
from workflow.errors import FilingFlowError

log = logging.getLogger("filingflow")
tokens_cli = typer.Typer(no_args_is_help=True, help="Bearer tokens of the HTTP API.")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run the scheduler in-process.")] = True,
) -> None:
    """Serve the HTTP API (and the scheduler worker, unless --no-worker)."""
    settings = Settings.from_env()
    listener = _listen(host, port)  # before anything starts: a busy port stops here, with one line
    audit_key(settings)  # every secret is checked (the audit key first) before anything starts
    keys = console_keys(settings)
    engine = bootstrap(settings)
    app = create_app(
        engine,
        sandbox=sandbox_info(settings.clock_start),
        console_keys=keys,
        console_secure_cookie=settings.console_secure_cookie,
    )
    scheduler, lock = None, WorkerLock(settings.database_url)
    if worker:
        holder = lock.acquire()
        if holder is not None:
            log.warning("no in-process worker: the worker of this SQLite database runs elsewhere (%s)", holder)
        else:
            scheduler = build_scheduler(
                engine,
                interval=settings.worker_interval,
                background=True,
                dispatcher=build_dispatcher(settings, engine),
                key_retention=settings.key_retention,
            )
            scheduler.start()
            log.info("scheduler worker running in-process (every %.0f s)", settings.worker_interval)
    log.info("FilingFlow API on http://%s:%d (docs at /docs)", host, port)
    try:
        config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False, log_config=None)
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        lock.release()


def _listen(host: str, port: int) -> socket.socket:
    """The bound listening socket, or a clear refusal naming the port and suggesting ``--port``."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as exc:
        raise SettingsError(  # where to listen is configuration: exit 2, like a bad variable
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): is another server using it? "
            "choose another with --port"
        ) from None
    return listener


@tokens_cli.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help=f"One of {', '.join(TOKEN_ROLES)}.")],
    name: Annotated[str, typer.Option(help="Who or what holds it (recorded in every audit event).")],
    applicant_code: Annotated[str | None, typer.Option(help="For applicant tokens: their USCC.")] = None,
) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    engine = bootstrap(Settings.from_env())
    token_id, token = create_token(
        engine.database, name=name, role=role, applicant_code=applicant_code, now=engine.clock.now()
    )
    typer.echo(token)
    typer.echo(f"token {token_id} ({role}, {name}) created; keep it secret, it is not shown again", err=True)


@tokens_cli.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Option(help="The token's name.")]) -> None:
    """Revoke a token by name; requests with it are refused from now on."""
    engine = bootstrap(Settings.from_env())
    if not revoke_token(engine.database, name=name, now=engine.clock.now()):
        raise FilingFlowError(f"no active token named {name!r}", field="name")
    typer.echo(f"token {name} revoked")
