"""Issue 15 (one of each): one today(), in Vietnam time. At 23:30 UTC it is already 06:30 the next day in
Vietnam, so a progress period, an advance's ``paid_on`` and an acceptance date taken then are the Vietnamese
date, never yesterday."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from app import clock
from app.implementation import services as implementation
from app.models.stages import Advance, Funding, ProgressReport
from tests.stages.conftest import actor, attach

LATE_UTC = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)  # 1 July 2026, 06:30 in Hà Nội
VN_DAY = dt.date(2026, 7, 1)


@pytest.fixture
def late_evening(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: LATE_UTC)


def test_today_is_the_vietnamese_date():
    assert clock.local_date(LATE_UTC) == VN_DAY
    assert clock.local_date(LATE_UTC.replace(tzinfo=None)) == VN_DAY  # SQLite's naive UTC
    assert clock.local_date(dt.datetime(2026, 6, 30, 16, 59, tzinfo=dt.UTC)) == dt.date(2026, 6, 30)


def test_dates_recorded_at_2330_utc_are_vietnamese(late_evening, db, people, walk, make_proposal):
    assert clock.today() == VN_DAY
    proposal = walk.to_implementing(make_proposal(people.applicant, category="demonstration",
                                                  total_cost=1_000_000_000, requested_support=250_000_000))
    implementation.report_progress(db, proposal, actor(db, people.applicant), {"percent": 40})
    implementation.record_advance(db, proposal, actor(db, people.officer), {"amount": 1_000_000})
    db.commit()
    assert db.scalar(select(ProgressReport.period).where(ProgressReport.proposal_id == proposal.id)) == "2026-07"
    assert db.scalar(select(Advance.paid_on).where(Advance.proposal_id == proposal.id)) == VN_DAY
    attach(db, proposal, *proposal.acceptance_kinds_required())
    walk.accept(proposal, on=VN_DAY)  # "today" in Vietnam is not a date in the future
    assert db.scalar(select(Funding.accepted_on).where(Funding.proposal_id == proposal.id)) == VN_DAY


APP = Path(__file__).resolve().parents[2] / "app"
_CLOCK_CALLS = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today")}


def test_no_other_clock_gives_dates():
    """One home for dates: no ``date.today()``/``datetime.now()`` and no second ``def today`` in app/ (moments
    for logs and file names come from ``datetime.now(dt.UTC)`` and are not dates)."""
    found = []
    for path in APP.rglob("*.py"):
        if path.name == "clock.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "today":
                found.append(f"{path}:{node.lineno}: def today")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Attribute | ast.Name)):
                owner = node.func.value.attr if isinstance(node.func.value, ast.Attribute) else node.func.value.id
                is_utc = bool(node.args) and "UTC" in ast.unparse(node.args[0])
                if (owner, node.func.attr) in _CLOCK_CALLS and not is_utc:
                    found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    assert not found, found
