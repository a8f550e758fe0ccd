"""What the people of a round do, as timed actions for the driver (bench/round_driver.py).

Platform (the filing platform relaying applicants and the portal) and staff act through the
HTTP API; two staff steps are the operator's command line in real life: the portal's approval
list is imported from a spreadsheet (``filingflow cases import``) and the Shenzhen stages
advance in batches in submission order (``filingflow cases advance``, SZ-FLOW-3). Here they run
the code those commands run (app/batch_import.py on a real CSV file, ``Engine.advance_batch``)
in this process, on an engine joined to the phase's timeline: starting a process costs seconds,
and at the rates a round is played at a second is days of sandbox time. Deadlines (LG-WIN-1,
LG-DL-1, publicity, SZ-WIN-1, public notice) are left to the
workers' sweep. Every step looks at the case's state as the API last reported it, so a step
that lost a race (a deadline swept first) is simply refused and recorded, never forced.
"""

from __future__ import annotations

import csv
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.batch_import import MAX_ROWS, apply_import, read_rows
from bench.round_driver import RETRY_FOR, Driver
from bench.round_workload import Filer, Sme, sh
from states.longgang_ai_compute_2025 import LONGGANG_2025
from states.longgang_ai_compute_2025.data import EXAMPLE as LG_EXAMPLE
from states.shenzhen_training_voucher_2024 import SHENZHEN_2024
from states.shenzhen_training_voucher_2024.data import EXAMPLE as SZ_EXAMPLE
from workflow.applicants import uscc_check_digit
from workflow.clock import SHANGHAI
from workflow.definition import Actor
from workflow.engine import Engine
from workflow.errors import StorageUnavailable

LG = LONGGANG_2025.key
SZ = SHENZHEN_2024.key
STAFF = Actor("reviewer-round", "staff", "cli:import")
PAGE = 100  # cases a page of GET /v1/cases (the API's most)


def code(serial: int, program: str) -> str:
    first17 = f"9144030{(1 if program == LG else 2)}{serial:09d}"
    return first17 + uscc_check_digit(first17)


def applicant(serial: int, program: str) -> dict[str, Any]:
    tag = "龙岗" if program == LG else "南山"
    return {
        "name": f"深圳市{tag}仿真{serial}号科技有限公司",
        "code": code(serial, program),
        "email": f"round{serial}@{'lg' if program == LG else 'sz'}.example.cn",
        "phone": f"13{(6 if program == LG else 7)}{serial:08d}",
    }


@dataclass
class Tracked:
    """What the simulation knows of one case: its id, last state seen, and when it entered it."""

    case_id: int
    program: str
    code: str
    state: str
    since: datetime
    returned: bool = False
    reviewing: bool = False


@dataclass
class Scenario:
    driver: Driver
    engine: Engine | None  # on the current phase's timeline (set by bench/round.py)
    folder: Path
    seed: int
    cases: dict[str, Tracked] = field(default_factory=dict)  # by simulation key, e.g. "lg17"
    outcomes: dict[str, int] = field(default_factory=dict)  # refusals and the like, counted by label
    staff_failures: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # the first few refusal bodies, to read
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed + 2)

    # ---- helpers -------------------------------------------------------------------------

    def count(self, label: str) -> None:
        with self._lock:
            self.outcomes[label] = self.outcomes.get(label, 0) + 1

    def open(self, key: str, program: str, serial: int, data: dict[str, Any]) -> None:
        body = {"program": program, "applicant": applicant(serial, program), "data": data}
        response = self.driver.request("POST", "/v1/cases", "platform", f"{program[:2]} open", body)
        if response is None or response.status_code != 201:
            self.count(f"open refused ({response.status_code if response is not None else 'no answer'})")
            if response is not None and len(self.refusals) < 5:
                self.refusals.append(f"open {key} at {self.now().isoformat()}: {response.text[:400]}")
            return
        answer = response.json()
        tracked = Tracked(answer["id"], program, code(serial, program), answer["state"], self.driver.now())
        with self._lock:  # staff batches read the map from other threads (tracked())
            self.cases[key] = tracked

    def fire(self, key: str, event: str, role: str, payload: dict[str, Any] | None = None) -> bool:
        tracked = self.cases.get(key)
        if tracked is None:
            return False
        body: dict[str, Any] = {"event": event, **({"payload": payload} if payload else {})}
        response = self.driver.request("POST", f"/v1/cases/{tracked.case_id}/events", role, event, body)
        if response is None or response.status_code != 200:
            self.count(f"{event} refused")
            if response is not None and len(self.refusals) < 12:
                text = response.text[:300]
                self.refusals.append(f"{event} {key} at {self.now().isoformat()} in {tracked.state}: {text}")
            return False
        tracked.state, tracked.since = str(response.json()["state"]), self.now()
        return True

    def refresh(self, keys: list[str]) -> None:
        """The states the API reports now: one GET per case for a few, the program's list a page at a time for many."""
        if len(keys) <= PAGE:
            states = {self.cases[key].case_id: self.driver.state(self.cases[key].case_id) for key in keys}
        else:
            states = {}
            for program in {self.cases[key].program for key in keys}:
                states.update(self.listed(program))
        for key in keys:
            state = states.get(self.cases[key].case_id)
            if state is not None and state != self.cases[key].state:
                self.cases[key].state, self.cases[key].since = state, self.driver.now()

    def listed(self, program: str) -> dict[int, str | None]:
        """Every case of ``program`` with its state, from ``GET /v1/cases`` (100 a page)."""
        states: dict[int, str | None] = {}
        offset = 0
        while True:
            path = f"/v1/cases?program={program}&limit={PAGE}&offset={offset}"
            response = self.driver.request("GET", path, "staff", "get")
            if response is None or response.status_code != 200:
                return states  # the cases it could not list keep the state last seen
            page = response.json()
            states.update({int(item["id"]): str(item["state"]) for item in page["items"]})
            offset += PAGE
            if offset >= int(page["total"]) or not page["items"]:
                return states

    def tracked(self, prefix: str) -> list[tuple[str, Tracked]]:
        """The cases opened so far whose key starts with ``prefix``.

        Taken under the lock the openers hold: ``list(dict.items())`` is not atomic (a garbage
        collection during it can run another thread), and a 10,000-applicant run met "dictionary
        changed size during iteration" in two staff batches while filers were still opening."""
        with self._lock:
            return [(k, c) for k, c in self.cases.items() if k.startswith(prefix)]

    def in_state(self, prefix: str, *states: str) -> list[str]:
        return [k for k, c in self.tracked(prefix) if c.state in states]

    def now(self) -> datetime:
        return self.driver.now()

    def soon(self, key: str, action: Callable[[], object], **delta: float) -> None:
        self.driver.at(self.now() + timedelta(**delta), key, action)

    def staff_batch(self, what: str, step: Callable[[Engine], Any]) -> Any:
        """A batch step on the engine, tried again while the database is away (the restart fault)."""
        give_up = time.monotonic() + RETRY_FOR
        while True:
            assert self.engine is not None
            try:
                return step(self.engine)
            except (sa.exc.OperationalError, StorageUnavailable) as exc:
                if time.monotonic() > give_up:
                    self.staff_failures.append(f"{what}: {type(exc).__name__}: {exc}")
                    return None
                time.sleep(0.5)

    # ---- Longgang 2025 -------------------------------------------------------------------

    def longgang(self, filers: list[Filer]) -> dict[str, Filer]:
        """Schedule the filers' own steps and the staff's review rounds; returns the filers by key."""
        by_key = {f"lg{f.serial}": f for f in filers}
        for key, filer in by_key.items():
            self.driver.at(filer.opens_at, key, lambda k=key, f=filer: self.open(k, LG, f.serial, dict(LG_EXAMPLE)))
            if filer.submits_at is not None:
                self.driver.at(filer.submits_at, key, lambda k=key: self._lg_submit(k))
        day = sh("2025-08-18 10:00")
        while day < sh("2025-10-31 10:00"):  # review rounds every 3 days, in and after the window
            self.driver.at(day, "staff-lg", lambda: self._lg_review(by_key), hold=True)
            day += timedelta(days=3)
        for when in ("2025-09-22 15:00", "2025-09-29 15:00", "2025-10-14 15:00", "2025-10-24 15:00"):
            self.driver.at(sh(when), "staff-lg", lambda: self._lg_portal_list(by_key), hold=True)
        for when in ("2025-10-20 09:30", "2025-10-27 09:30", "2025-11-03 09:30"):
            self.driver.at(sh(when), "staff-lg", lambda: self._lg_publicity(by_key), hold=True)
        for when in ("2025-11-04 10:00", "2025-11-11 10:00", "2025-11-18 10:00"):
            self.driver.at(sh(when), "staff-lg", lambda: self._lg_fund(), hold=True)
        return by_key

    def _lg_submit(self, key: str) -> None:
        self.fire(key, "submit", "platform")

    def _lg_review(self, filers: dict[str, Filer]) -> None:
        for key in self.in_state("lg", "online_review"):
            tracked = self.cases[key]
            if tracked.reviewing:  # a review of the last round still under way
                continue
            tracked.reviewing = True
            if filers[key].returned and not tracked.returned:
                tracked.returned = True
                self.soon(key, lambda k=key: self._lg_return(k))
            else:
                self.soon(key, lambda k=key: self._lg_pass(k))

    def _lg_return(self, key: str) -> None:
        done = self.fire(key, "return_for_correction", "staff", {"reason": "算力使用报告未加盖公章，请补充后重新提交"})
        self.cases[key].reviewing = False
        if done:
            self.soon(key, lambda: self.fire(key, "resubmit", "platform"), days=2)

    def _lg_pass(self, key: str) -> None:
        done = self.fire(key, "pass_online_review", "staff")
        self.cases[key].reviewing = False
        if done:
            self.soon(key, lambda: self.fire(key, "file_on_portal", "platform"), days=1)

    def _lg_portal_list(self, filers: dict[str, Filer]) -> None:
        """The portal's approvals as spreadsheets: code and SMS time of every case filed a day ago or more.

        A list longer than an import takes (``app.batch_import.MAX_ROWS``) is split into files of at
        most that many rows, as the operator told so by the refusal would do."""
        now = self.now()
        listed = [k for k in self.in_state("lg", "portal_review") if self.cases[k].since <= now - timedelta(days=1)]
        sent: dict[str, datetime] = {}
        for part, first in enumerate(range(0, len(listed), MAX_ROWS), start=1):
            path = self.folder / f"portal-{now:%Y%m%d}-{part}.csv"
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["统一社会信用代码", "短信发送时间"])
                for key in listed[first : first + MAX_ROWS]:
                    tracked = self.cases[key]
                    at = max(tracked.since + timedelta(minutes=5), now - timedelta(hours=self.rng.uniform(0, 20)))
                    sent[key] = at
                    writer.writerow([tracked.code, at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")])
            self._import_portal_file(path)
        self.refresh(listed)
        for key in listed:
            if self.cases[key].state != "awaiting_paper":
                self.count("portal approval not applied")
                continue
            paper = filers[key].paper
            if paper == "on_time":  # within 3 calendar days: inside 5 working days whatever the holidays
                self.driver.at(sent[key] + timedelta(days=self.rng.uniform(0.2, 3)), key, lambda k=key: self._paper(k))
            elif paper == "late":  # three weeks on: after LG-DL-1's deadline, refused or already abandoned
                self.driver.at(sent[key] + timedelta(days=21), key, lambda k=key: self._paper(k, late=True))

    def _import_portal_file(self, path: Path) -> None:
        rows = read_rows(path)  # as `filingflow cases import FILE --event approve_on_portal --apply` does
        give_up = time.monotonic() + RETRY_FOR
        while True:
            report = self.staff_batch(
                "portal import",
                lambda engine, rows=rows: apply_import(
                    engine, rows, program=LG, event="approve_on_portal", field_name="portal_notified_at", actor=STAFF
                ),
            )
            # rows the database failed on (the restart fault) are imported again, as the operator would
            again = {r.line for r in report.refused if "database failed" in r.reason} if report else set()
            if not again or time.monotonic() > give_up:
                break
            self.count("portal list rows imported again after a database failure")
            rows = [row for row in rows if row.line in again]
            time.sleep(1.0)
        for refused in report.refused if report else []:
            self.count(f"portal list row refused: {refused.reason[:70]}")
            if len(self.refusals) < 12:
                self.refusals.append(f"portal list {path.name} line {refused.line}: {refused.reason}")

    def _paper(self, key: str, late: bool = False) -> None:
        delivered = self.fire(key, "receive_paper", "staff", {"service_window": 1 + self.rng.randrange(13)})
        if late and delivered:
            self.count("late paper accepted (unexpected)")
        elif late:
            self.count("late paper refused (LG-DL-1)")

    def _lg_publicity(self, filers: dict[str, Filer]) -> None:
        for key in self.in_state("lg", "evaluation"):
            self.soon(key, lambda k=key: self._lg_publish(k, filers[k]))

    def _lg_publish(self, key: str, filer: Filer) -> None:
        if self.fire(key, "start_publicity", "staff") and filer.objection:
            reason = "异议：申报材料与实际不符"
            self.soon(key, lambda: self.fire(key, "raise_objection", "platform", {"reason": reason}), days=1)
            self.soon(key, lambda: self.fire(key, "resolve_objection", "staff", {"reason": "经核查异议不成立"}), days=3)

    def _lg_fund(self) -> None:
        waiting = self.in_state("lg", "publicity", "objection_review", "awaiting_decision")
        self.refresh(waiting)  # publicity ends by the sweep: ask the API
        for key in self.in_state("lg", "awaiting_decision"):
            self.soon(key, lambda k=key: self.fire(k, "fund", "staff"))

    # ---- Shenzhen 2024 -------------------------------------------------------------------

    def shenzhen(self, smes: list[Sme]) -> dict[str, Sme]:
        by_key: dict[str, Sme] = {}
        for sme in smes:
            key = f"sz{sme.serial}"
            by_key[key] = sme
            self.driver.at(sme.opens_at, key, lambda k=key, s=sme: self.open(k, SZ, s.serial, dict(SZ_EXAMPLE)))
            if sme.submits_at is not None:
                self.driver.at(sme.submits_at, key, lambda k=key: self.fire(k, "submit", "platform"))
            if sme.second_at is not None:  # a second contract: meets the SME's yearly cap (SZ-AMT-2)
                second = dict(SZ_EXAMPLE)
                second["contracts"] = [
                    {**SZ_EXAMPLE["contracts"][0], "amount_cny": "3000000.00", "signed_on": "2024-10-15"}
                ]
                key2 = f"sz{sme.serial}b"
                by_key[key2] = sme
                self.driver.at(sme.second_at, key2, lambda k=key2, s=sme, d=second: self.open(k, SZ, s.serial, d))
                self.driver.at(
                    sme.second_at + timedelta(minutes=30), key2, lambda k=key2: self.fire(k, "submit", "platform")
                )
        self.driver.at(sh("2024-12-10 09:30"), "staff-sz", lambda: self._sz_advance("accept"), hold=True)
        self.driver.at(sh("2024-12-11 10:00"), "staff-sz", lambda: self._sz_returns(by_key), hold=True)
        self.driver.at(sh("2024-12-13 10:00"), "staff-sz", lambda: self._sz_advance("pass_preliminary"), hold=True)
        self.driver.at(sh("2024-12-16 10:00"), "staff-sz", lambda: self._sz_advance("pass_expert_review"), hold=True)
        self.driver.at(sh("2024-12-17 10:00"), "staff-sz", lambda: self._sz_objections(by_key), hold=True)
        for when in ("2024-12-26 10:00", "2024-12-30 10:00"):
            self.driver.at(sh(when), "staff-sz", lambda: self._sz_approve(), hold=True)
        return by_key

    def _sz_advance(self, event: str) -> None:
        # as `filingflow cases advance PROGRAM EVENT --count N` does
        while self.staff_batch(event, lambda engine: engine.advance_batch(SZ, event, count=500, actor=STAFF).advanced):
            pass  # 500 at most a batch (the engine's bound): the next 500, until none is left
        self.refresh([k for k, _ in self.tracked("sz")])

    def _sz_returns(self, smes: dict[str, Sme]) -> None:
        for key in self.in_state("sz", "preliminary_review"):
            if smes[key].returned:
                self.soon(key, lambda k=key: self._sz_return(k))

    def _sz_return(self, key: str) -> None:
        if self.fire(key, "return_for_correction", "staff", {"reason": "合同金额与发票不一致，请核对后重新提交"}):
            self.soon(key, lambda: self.fire(key, "resubmit", "platform"), days=1)

    def _sz_objections(self, smes: dict[str, Sme]) -> None:
        for key in self.in_state("sz", "public_notice"):
            if smes[key].objection:
                objection = {"reason": "异议：合同真实性存疑"}
                self.soon(key, lambda k=key, o=objection: self.fire(k, "raise_objection", "platform", o))
                self.soon(key, lambda k=key: self.fire(k, "resolve_objection", "staff", {"reason": "核查无误"}), days=2)

    def _sz_approve(self) -> None:
        self.refresh(self.in_state("sz", "public_notice", "objection_review", "awaiting_approval"))
        for n, key in enumerate(self.in_state("sz", "awaiting_approval")):
            if self.cases[key].reviewing:  # approved in the last round, its voucher on the way
                continue
            self.cases[key].reviewing = True
            self.soon(key, lambda k=key: self.fire(k, "approve", "staff"))
            document = {"approval_document": f"深科技创新〔2024〕仿真{n + 1}号"}
            self.soon(key, lambda k=key, d=document: self.fire(k, "issue_voucher", "staff", d), days=2)
