"""A model-based test (Hypothesis RuleBasedStateMachine): the engine against a reference model.

Random sequences of opens, events (allowed or not, by any role), overrides and clock moves
with deadline sweeps; after every step the engine agrees with a plain-Python model of the
Longgang process, every case's version equals its audit events, and replaying the audit
trail's moves reproduces each case's current state.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from app.bootstrap import bootstrap
from app.settings import Settings
from tests.conftest import AUDIT_KEY
from tests.support.invariants import assert_invariants
from tests.support.longgang import ADMIN, APPLICANT, PLATFORM, PROGRAM, STAFF, applicant, complete_data, sh
from tests.support.postgres import PostgresCluster
from workflow.clock import ManualClock
from workflow.errors import FilingFlowError, GuardRefused

ACTORS = [PLATFORM, STAFF, APPLICANT, ADMIN]
PAYLOAD = {"reason": "模型测试", "service_window": 4}


def machine_for(new_database: Callable[[], str]) -> type[RuleBasedStateMachine]:
    class EngineVersusModel(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.url = new_database()
            self.clock = ManualClock(sh("2025-08-20 09:00"))
            self.engine = bootstrap(Settings(database_url=self.url, audit_key=AUDIT_KEY), clock=self.clock)
            self.process = self.engine.programs.get(PROGRAM)
            self.model: dict[int, str] = {}
            self.serial = 0

        def teardown(self) -> None:
            self.engine.database.dispose()

        @rule()
        def open_case(self) -> None:
            self.serial += 1
            try:
                case = self.engine.open_case(
                    PROGRAM, applicant=applicant(self.serial), data=complete_data(), actor=PLATFORM
                )
            except GuardRefused as refused:  # the round's window has closed: no new case (LG-WIN-1)
                if refused.rule != "LG-WIN-1":
                    raise
                return
            self.model[case.id] = case.state

        @rule(data=st.data(), actor=st.sampled_from(ACTORS))
        def fire(self, data: st.DataObject, actor: object) -> None:
            if not self.model:
                return
            case_id = data.draw(st.sampled_from(sorted(self.model)))
            event = data.draw(st.sampled_from([e.name for e in self.process.definition.events]))
            spec = self.process.events[event]
            expected_ok = self.model[case_id] in spec.sources and actor.role in spec.roles  # type: ignore[attr-defined]
            try:
                declared = {"reason", *(f.name for f in spec.payload)}  # an undeclared key is refused
                payload = {k: v for k, v in PAYLOAD.items() if k in declared}
                after = self.engine.fire(case_id, event, actor=actor, payload=payload)  # type: ignore[arg-type]
            except FilingFlowError:
                after = None
            if after is not None:
                assert expected_ok, (event, self.model[case_id], actor)
                self.model[case_id] = spec.target
            # a refusal may also come from a program rule (window, ...): the model only demands
            # that nothing happens, which the invariants check

        @rule(data=st.data())
        def override(self, data: st.DataObject) -> None:
            if not self.model:
                return
            case_id = data.draw(st.sampled_from(sorted(self.model)))
            target = data.draw(st.sampled_from([s.key for s in self.process.definition.states]))
            try:
                self.engine.override(case_id, target, actor=STAFF, reason="模型测试")
            except FilingFlowError:
                assert target == self.model[case_id]
                return
            self.model[case_id] = target

        @rule(days=st.integers(min_value=1, max_value=20))
        def time_passes(self, days: int) -> None:
            self.clock.advance(timedelta(days=days))
            for case_id, key in self.engine.expire_due():
                rule_ = self.process.deadlines[key]
                self.model[case_id] = self.process.events[rule_.on_expiry].target

        @invariant()
        def engine_agrees_with_the_model(self) -> None:
            if not hasattr(self, "engine"):
                return
            for case_id, state in self.model.items():
                assert self.engine.get_case(case_id).state == state
                history = self.engine.history(case_id)
                assert history[-1].to_state == state, "replaying the audit trail reproduces the state"
                for before, after in itertools.pairwise(history):
                    assert after.from_state == before.to_state, "the trail is a connected path"

    return EngineVersusModel


def test_engine_matches_a_reference_model(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    urls: list[str] = []

    def new_database() -> str:  # a fresh database per example, from the migrated template
        if backend == "sqlite":
            path = tmp_path / f"model-{len(urls)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            urls.append(f"sqlite:///{path}")
        else:
            cluster: PostgresCluster = request.getfixturevalue("postgres")
            name = f"model_{os.getpid()}_{len(urls)}"
            cluster.execute(f"CREATE DATABASE {name} TEMPLATE ff_template")
            urls.append(cluster.url(name))
        return urls[-1]

    machine = machine_for(new_database)
    runner = machine.TestCase()
    runner.settings = settings(
        max_examples=25 if backend == "sqlite" else 12,
        stateful_step_count=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    runner.runTest()
    engine = bootstrap(Settings(database_url=urls[-1], audit_key=AUDIT_KEY), clock=ManualClock(sh("2026-01-01 09:00")))
    assert_invariants(engine, AUDIT_KEY.encode())
    engine.database.dispose()
