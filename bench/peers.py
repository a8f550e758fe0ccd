"""The Longgang walk through FilingFlow against the same process on two peer libraries, one run.

Peers (installed by the ``bench`` extra, ``pip install -e '.[bench]'``; ``make bench`` does it):

- SpiffWorkflow, driving bench/longgang_2025.bpmn (one user task per stage, an exclusive
  gateway routing by the event name, the paper and publicity deadlines as timer boundary
  events). After every step the whole workflow is serialised with SpiffWorkflow's own
  ``BpmnWorkflowSerializer.serialize_json`` and written back; before every step it is read and
  ``deserialize_json``-ed, as a server that keeps no workflow in memory between requests must.
- python-statemachine: :class:`LonggangMachine` (the same states and events, checked against
  the process definition at start), one model object per case restored from its stored JSON,
  ``send(event)``, the model written back as JSON.

Both peers persist into the SAME database file as FilingFlow (table ``peer_workflows``,
created here), through sqlite3 with the engine's own connection settings (WAL,
``synchronous=FULL``, ``BEGIN IMMEDIATE``): read, act, write with a version check, commit, one
transaction a step. Each peer runs twice: bare (only its own state, all the library gives) and
``+rows``, which in the same transaction also writes exactly the rows FilingFlow writes for the
step (case row, HMAC audit event, deadline rows, outbox and webhook rows: bench.transition_sqlite's
:class:`~bench.transition_sqlite.RawWriter`), so the comparison holds the durable work equal.
All five sides walk their own 100 submitted cases through :data:`~bench.transition_sqlite.WALK`,
interleaved step by step, so a busy neighbour on the machine slows them alike. The ``+rows``
sides must end with the same rows as FilingFlow and every side with every case funded.

Reported per side: persisted transitions per second (commands over the side's summed wall
time), median and mean wall ms, and CPU ms per command (``time.process_time``; SQLite runs
in-process, so this is the library's and the database's CPU alike), and FilingFlow's rate as a
multiple of each peer's.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.transition_sqlite import WALK, RawWriter, fire_step, prepare, sqlite_instant, written_rows
from tests.support.longgang import PROGRAM
from tests.support.postgres import PostgresCluster, find_bindir, start_cluster
from workflow.database import SQLITE_PRAGMAS
from workflow.process import CompiledProcess

BPMN = Path(__file__).with_name("longgang_2025.bpmn")
PROCESS_ID = "longgang_ai_compute_2025"
PEER_TABLE = (
    "CREATE TABLE IF NOT EXISTS peer_workflows (case_id INTEGER PRIMARY KEY, library TEXT NOT NULL, "
    "version INTEGER NOT NULL, body TEXT NOT NULL)"
)
LOAD = "SELECT version, body FROM peer_workflows WHERE case_id = ?"
SAVE = "UPDATE peer_workflows SET version = ?, body = ? WHERE case_id = ? AND version = ?"
INSERT = "INSERT INTO peer_workflows (case_id, library, version, body) VALUES (?, ?, ?, ?)"
BACKGROUND = 1_000  # cases in the database, as transition_sqlite's smaller size


# ---- python-statemachine ------------------------------------------------------------------


def machine_class() -> type:
    """The Longgang process written for python-statemachine, by hand as its users would."""
    from statemachine import State, StateMachine

    class LonggangMachine(StateMachine):  # type: ignore[misc]
        draft = State(initial=True)
        online_review = State()
        returned = State()
        online_approved = State()
        portal_review = State()
        awaiting_paper = State()
        evaluation = State()
        publicity = State()
        objection_review = State()
        awaiting_decision = State()
        funded = State(final=True)
        rejected = State(final=True)
        abandoned = State(final=True)
        withdrawn = State(final=True)

        submit = draft.to(online_review)
        return_for_correction = online_review.to(returned)
        resubmit = returned.to(online_review)
        pass_online_review = online_review.to(online_approved)
        file_on_portal = online_approved.to(portal_review)
        approve_on_portal = portal_review.to(awaiting_paper)
        receive_paper = awaiting_paper.to(evaluation)
        miss_paper_deadline = awaiting_paper.to(abandoned)
        window_closed = draft.to(abandoned)
        start_publicity = evaluation.to(publicity)
        publicity_ended = publicity.to(awaiting_decision)
        raise_objection = publicity.to(objection_review)
        resolve_objection = objection_review.to(awaiting_decision)
        fund = awaiting_decision.to(funded)
        reject = (
            online_review.to(rejected)
            | portal_review.to(rejected)
            | evaluation.to(rejected)
            | publicity.to(rejected)
            | objection_review.to(rejected)
            | awaiting_decision.to(rejected)
        )
        withdraw = (
            draft.to(withdrawn)
            | online_review.to(withdrawn)
            | returned.to(withdrawn)
            | online_approved.to(withdrawn)
            | portal_review.to(withdrawn)
            | awaiting_paper.to(withdrawn)
            | evaluation.to(withdrawn)
        )

    return LonggangMachine


def check_machine(machine: type, process: CompiledProcess) -> None:
    """The hand-written machine has exactly the definition's transitions, or the comparison is void."""
    theirs = {
        (transition.source.id, event.id, transition.target.id)
        for state in machine.states
        for transition in state.transitions
        for event in transition.events
    }
    ours = {(source, event.name, event.target) for event in process.definition.events for source in event.sources}
    if theirs != ours:
        raise AssertionError(f"python-statemachine model differs: {sorted(theirs ^ ours)}")


class CaseModel:
    """One case's model for python-statemachine: what it needs, stored as JSON."""

    def __init__(self, case_id: int, state: str | None = None) -> None:
        self.case_id = case_id
        self.state = state

    def dump(self) -> str:
        return json.dumps({"case_id": self.case_id, "state": self.state})

    @classmethod
    def load(cls, body: str) -> CaseModel:
        return cls(**json.loads(body))


class Phases:
    """Where a peer's own time goes within a step: restore, act, serialise (wall ms, summed)."""

    def __init__(self) -> None:
        self.restore = self.act = self.serialise = 0.0
        self.count = 0

    def add(self, restore: float, act: float, serialise: float) -> None:
        self.restore += restore
        self.act += act
        self.serialise += serialise
        self.count += 1

    def report(self) -> dict[str, float]:
        per = 1000 / max(self.count, 1)
        return {
            "restore_ms": round(self.restore * per, 3),
            "act_ms": round(self.act * per, 3),
            "serialise_ms": round(self.serialise * per, 3),
        }


class MachinePeer:
    library = "python-statemachine"

    def __init__(self, process: CompiledProcess) -> None:
        self.phases = Phases()
        self.machine = machine_class()
        check_machine(self.machine, process)

    def new(self, case_id: int) -> str:
        model = CaseModel(case_id)
        self.machine(model=model).send("submit")
        return model.dump()

    def step(self, body: str, event: str, payload: dict[str, Any]) -> tuple[str, str]:
        started = time.perf_counter()
        model = CaseModel.load(body)
        machine = self.machine(model=model)
        restored = time.perf_counter()
        machine.send(event, **payload)
        acted = time.perf_counter()
        assert model.state is not None
        dumped = model.dump()
        self.phases.add(restored - started, acted - restored, time.perf_counter() - acted)
        return dumped, model.state


# ---- SpiffWorkflow ------------------------------------------------------------------------


class SpiffPeer:
    library = "SpiffWorkflow"

    def __init__(self, process: CompiledProcess) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.util.task import TaskState

        self.phases = Phases()
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.workflow_class, self.ready = BpmnWorkflow, TaskState.READY
        self.stages = {state.key for state in process.definition.states}

    def _fire(self, workflow: Any, event: str, payload: dict[str, Any]) -> str:
        workflow.refresh_waiting_tasks()  # fires a due timer (deadline) first, as a real driver must
        (task,) = workflow.get_tasks(state=self.ready, manual=True)
        task.set_data(event=event, **payload)
        task.run()
        workflow.do_engine_steps()
        ready = workflow.get_tasks(state=self.ready, manual=True)
        if workflow.is_completed():
            ends = [t.task_spec.name for t in workflow.get_tasks() if t.task_spec.name.startswith("end_")]
            return ends[-1].removeprefix("end_")
        (task,) = ready
        return str(task.task_spec.name)

    def new(self, case_id: int) -> str:
        workflow = self.workflow_class(self.spec)
        workflow.do_engine_steps()
        self._fire(workflow, "submit", {"case_id": case_id})
        return str(self.serializer.serialize_json(workflow))

    def step(self, body: str, event: str, payload: dict[str, Any]) -> tuple[str, str]:
        started = time.perf_counter()
        workflow = self.serializer.deserialize_json(body)
        restored = time.perf_counter()
        state = self._fire(workflow, event, payload)
        acted = time.perf_counter()
        assert state in self.stages, state
        dumped = str(self.serializer.serialize_json(workflow))
        self.phases.add(restored - started, acted - restored, time.perf_counter() - acted)
        return dumped, state


# ---- the run ------------------------------------------------------------------------------


class Store:
    """A DB-API connection with the engine's durability, its placeholder, and one write transaction a step."""

    def __init__(self, conn: Any, mark: str, instant: Callable[[datetime], Any], *, sqlite: bool) -> None:
        self.conn, self.mark, self.instant, self.sqlite = conn, mark, instant, sqlite

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if not self.sqlite:
            with self.conn.transaction(), self.conn.cursor() as cursor:
                yield cursor
            return
        cursor = self.conn.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        cursor.close()


def peer_side(
    store: Store, peer: MachinePeer | SpiffPeer, writer: RawWriter, *, rows: bool
) -> Callable[[int, int], None]:
    """One persisted step for a peer: load, restore, act, serialise, save; with ``rows``, FilingFlow's rows too."""
    load, save = store.sql(LOAD), store.sql(SAVE)

    def run(case_id: int, step: int) -> None:
        name, _actor, payload = WALK[step]
        with store.transaction() as cursor:
            version, body = cursor.execute(load, (case_id,)).fetchone()
            body, state = peer.step(body, name, dict(payload))
            if state != writer.steps[step].to_state:
                raise AssertionError(f"{peer.library}: {name} led to {state}, FilingFlow's process to another")
            cursor.execute(save, (version + 1, body, case_id, version))
            assert cursor.rowcount == 1
            if rows:
                writer.write(cursor, case_id, step)

    return run


DURABLE = ("fsync", "synchronous_commit", "full_page_writes")


def _restart_durable(cluster: PostgresCluster) -> dict[str, str]:
    """Restart the throwaway cluster without the test suite's ``-c fsync=off`` (and the other two).

    Those are command-line options, which outrank ``ALTER SYSTEM``; only a restart without
    them gives PostgreSQL's durable defaults. Returns the settings as the server reports them.
    """
    options = " ".join(
        [
            f"-p {cluster.port}",
            f"-k {cluster.root}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
    )
    log = str(cluster.root / "server.log")
    cluster._run("pg_ctl", "-D", str(cluster.datadir), "-o", options, "-l", log, "-w", "restart")
    with psycopg.connect(cluster.url().replace("postgresql+psycopg://", "postgresql://")) as conn:
        settings = {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in DURABLE}  # type: ignore[index]
    if set(settings.values()) != {"on"}:
        raise AssertionError(f"PostgreSQL is not durable: {settings}")
    return settings


def run(quick: bool) -> dict[str, Any]:
    try:
        import SpiffWorkflow  # noqa: F401
        import statemachine  # noqa: F401
    except ImportError:
        return {"skipped": "peer libraries missing: pip install -e '.[bench]' (make bench does)"}
    walkers = 30 if quick else 100
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peers.db"

        def sqlite_store() -> Store:
            conn = sqlite3.connect(path, isolation_level=None)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            return Store(conn, "?", sqlite_instant, sqlite=True)

        results["sqlite"] = _measure(f"sqlite:///{path}", sqlite_store, walkers)
        results["sqlite"]["database"] = "SQLite, WAL, synchronous=FULL, BEGIN IMMEDIATE; one file for all sides"
    bindir = find_bindir()
    if bindir is None:
        results["postgresql"] = {"skipped": "no PostgreSQL binaries"}
        return results
    cluster = start_cluster(bindir)
    try:
        durability = _restart_durable(cluster)
        cluster.execute("CREATE DATABASE peers")
        url = cluster.url("peers")

        def pg_store() -> Store:
            conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            return Store(conn, "%s", lambda value: value, sqlite=False)

        results["postgresql"] = _measure(url, pg_store, walkers)
        results["postgresql"]["server_settings"] = durability
        results["postgresql"]["database"] = (
            "PostgreSQL on loopback, fsync, synchronous_commit and full_page_writes on; one database for all sides, "
            "one connection each; 2 cores shared by server and client"
        )
    finally:
        cluster.stop()
    return results


def _measure(url: str, connect: Callable[[], Store], walkers: int) -> dict[str, Any]:
    sides = ("FilingFlow", "SpiffWorkflow", "SpiffWorkflow+rows", "python-statemachine", "python-statemachine+rows")
    engine, sets = prepare(url, background=BACKGROUND - len(sides) * walkers, sets=(walkers,) * len(sides))
    ids = dict(zip(sides, sets, strict=True))
    process = engine.programs.get(PROGRAM)
    store = connect()
    writer = RawWriter(process, mark=store.mark, instant=store.instant)
    with store.transaction() as cursor:
        cursor.execute(PEER_TABLE)
    spiff, machine = SpiffPeer(process), MachinePeer(process)
    peers = {
        "SpiffWorkflow": spiff,
        "SpiffWorkflow+rows": spiff,
        "python-statemachine": machine,
        "python-statemachine+rows": machine,
    }
    with store.transaction() as cursor:
        for side, peer in peers.items():
            for case_id in ids[side]:
                cursor.execute(store.sql(INSERT), (case_id, peer.library, 1, peer.new(case_id)))
    spiff.phases, machine.phases = Phases(), Phases()
    steps: dict[str, Callable[[int, int], None]] = {
        "FilingFlow": lambda case_id, step: fire_step(engine, case_id, step),
        **{side: peer_side(store, peer, writer, rows=side.endswith("+rows")) for side, peer in peers.items()},
    }
    wall: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, float] = dict.fromkeys(sides, 0.0)
    for step in range(len(WALK)):
        for index in range(walkers):
            for side in sides:
                started, cpu_started = time.perf_counter(), time.process_time()
                steps[side](ids[side][index], step)
                cpu[side] += time.process_time() - cpu_started
                wall[side].append((time.perf_counter() - started) * 1000)
    with store.transaction() as cursor:
        sizes = {
            library: round(statistics.fmean(len(body) for (body,) in cursor.fetchall()))
            for library in ("SpiffWorkflow", "python-statemachine")
            if cursor.execute(store.sql("SELECT body FROM peer_workflows WHERE library = ?"), (library,))
        }
        finished = dict(
            cursor.execute(
                store.sql("SELECT library, count(*) FROM peer_workflows WHERE version = ? GROUP BY library"),
                (len(WALK) + 1,),
            ).fetchall()
        )
    store.conn.close()
    reference = written_rows(engine.database, ids["FilingFlow"])
    for side in ("SpiffWorkflow+rows", "python-statemachine+rows"):
        rows = written_rows(engine.database, ids[side])
        if rows != reference:
            raise AssertionError(f"{side} wrote {rows}, FilingFlow {reference}: not the same writes")
    engine.database.dispose()
    if finished != {"SpiffWorkflow": 2 * walkers, "python-statemachine": 2 * walkers} or reference["funded"] != walkers:
        raise AssertionError(f"not every walk finished: {finished}, FilingFlow funded {reference['funded']}")
    commands = walkers * len(WALK)
    results: dict[str, Any] = {
        "background_cases": BACKGROUND,
        "commands_per_side": commands,
        "walk": [name for name, _, _ in WALK],
        "stored_body_bytes": sizes,
        "peer_phases_both_sides": {peer.library: peer.phases.report() for peer in (spiff, machine)},
        "rows_per_case_set": reference,
        "sides": {},
    }
    ours = sum(wall["FilingFlow"]) / commands
    for side in sides:
        mean = sum(wall[side]) / commands
        results["sides"][side] = {
            "per_s": round(1000 / mean, 1),
            "median_ms": round(statistics.median(wall[side]), 3),
            "mean_ms": round(mean, 3),
            "cpu_ms": round(cpu[side] * 1000 / commands, 3),
            "filingflow_rate_over_this": round(mean / ours, 2),
        }
    return results
