"""Helpers for the later stages: the people involved, and a walk through the real transitions.

``people``: applicant (Hùng Sơn, Đại Từ), commune officer, centre officer, director, auditor and six council
members of the province. ``walk``: moves a proposal forward through ``app.actions.perform`` and the stage
services, exactly as the views do, committing after each step.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import COMMUNE, PROVINCE
from sqlalchemy import select

from app.actions import perform
from app.council import services as council
from app.funding import services as funding
from app.implementation import evaluation
from app.implementation import services as implementation
from app.models import Attachment, User
from app.models.stages import ProgressReport
from app.rounds import priority

FULL = {"fit_priority": 20, "necessity_effect": 25, "cost_counterpart": 20, "capacity": 20, "links": 5,
        "dossier": 10}
GOOD = {"fit_priority": 16, "necessity_effect": 20, "cost_counterpart": 16, "capacity": 16, "links": 4,
        "dossier": 8}  # 80


@pytest.fixture
def people(make_user: Callable[..., Any]) -> SimpleNamespace:
    return SimpleNamespace(
        applicant=make_user("ung_vien", "applicant", unit_code=COMMUNE),
        commune=make_user("can_bo_xa", "commune_officer", unit_code=COMMUNE),
        officer=make_user("can_bo_trung_tam", "centre_officer", unit_code=PROVINCE),
        director=make_user("giam_doc", "director", unit_code=PROVINCE),
        auditor=make_user("thanh_tra", "auditor", unit_code=PROVINCE),
        members=[make_user(f"hoi_dong_{i}", "council_member", unit_code=PROVINCE) for i in range(1, 7)],
    )


def actor(db: Any, user: Any) -> Any:
    return db.get(User, user.id).actor()


_names = itertools.count(1)


def attach(db: Any, proposal: Any, *kinds: str) -> None:
    for kind in kinds:
        db.add(Attachment(proposal_id=proposal.id, kind=kind, original_name=f"{kind}.pdf",
                          stored_name=uuid.uuid4().hex, content_type="application/pdf", size=1,
                          sha256="0" * 64, uploaded_by_id=None))
    db.commit()
    db.expire(proposal, ["attachments"])


class Walk:
    def __init__(self, db: Any, people: SimpleNamespace):
        self.db, self.p = db, people

    def fire(self, proposal: Any, trigger: str, user: Any, **inputs: Any) -> Any:
        event = perform(self.db, proposal, trigger, actor(self.db, user), inputs)
        self.db.commit()
        return event

    def to_appraisal(self, proposal: Any, confirm_priority: bool = True) -> Any:
        attach(self.db, proposal, "business_registration", "quotes", "non_duplication")
        self.fire(proposal, "submit", self.p.applicant)
        self.fire(proposal, "forward", self.p.commune, comment="Đủ điều kiện")
        assert proposal.wf_state == "provincial_appraisal"
        if confirm_priority:
            self.confirm_priority(proposal)
        return proposal

    def assign(self, proposal: Any, members: list[Any]) -> None:
        for m in members:
            council.assign_member(self.db, proposal, actor(self.db, self.p.officer), {"user_id": m.id})
            self.db.commit()

    def score(self, proposal: Any, member: Any, points: dict[str, int] = GOOD, **extra: Any) -> Any:
        event = council.submit_sheet(self.db, proposal, actor(self.db, member), {"points": points, **extra})
        self.db.commit()
        return event

    def to_shortlist(self, proposal: Any, points: dict[str, int] = GOOD) -> Any:
        self.to_appraisal(proposal)
        self.assign(proposal, self.p.members[:5])
        for m in self.p.members[:5]:
            self.score(proposal, m, points)
        self.fire(proposal, "shortlist", self.p.officer, comment="Đạt")
        return proposal

    def confirm_priority(self, proposal: Any, **flags: bool) -> Any:
        """The officer confirms the applicant's flags (or corrects them with ``flags``)."""
        claimed = {f: flags.get(f, getattr(proposal, f)) for f in ("priority_region", "priority_sector")}
        event = priority.confirm_priority(self.db, proposal, actor(self.db, self.p.officer), claimed)
        self.db.commit()
        return event

    def envelope(self, amount: int = 3_500_000_000, year: int = 2026, fund: str | None = None) -> Any:
        env = funding.create_envelope(self.db, self.db.get(User, self.p.officer.id), PROVINCE,
                                      {"fund": fund or f"Kinh phí khuyến công địa phương {next(_names)}",
                                       "year": year, "amount": amount})
        self.db.commit()
        return env

    def fund(self, proposal: Any, envelope: Any, amount: int | None = None) -> Any:
        return self.fire(proposal, "approve_funding", self.p.director,
                         approved_amount=proposal.requested_support if amount is None else amount, decision_number="QĐ 123/QĐ-SCT",
                         decision_date="2026-03-01", envelope_id=envelope.id)

    def to_implementing(self, proposal: Any, envelope: Any | None = None) -> Any:
        self.to_shortlist(proposal)
        self.fund(proposal, envelope or self.envelope())
        self.fire(proposal, "sign_contract", self.p.officer, contract_number="HĐ 45/2026", contract_date="2026-03-15")
        return proposal

    def progress(self, proposal: Any, percent: int, period: str, confirm: bool = True) -> Any:
        """The applicant reports; the Centre confirms the report (unless ``confirm`` is False)."""
        event = implementation.report_progress(self.db, proposal, actor(self.db, self.p.applicant),
                                               {"percent": percent, "period": period, "note": "Đúng tiến độ"})
        self.db.commit()
        if confirm:
            report = self.db.scalar(select(ProgressReport).where(ProgressReport.proposal_id == proposal.id,
                                                                 ProgressReport.period == period))
            implementation.confirm_progress(self.db, proposal, actor(self.db, self.p.officer), report.id)
            self.db.commit()
        return event

    def advance(self, proposal: Any, amount: int) -> Any:
        event = implementation.record_advance(self.db, proposal, actor(self.db, self.p.officer),
                                              {"amount": amount, "paid_on": dt.date(2026, 6, 1).isoformat()})
        self.db.commit()
        return event

    def accept(self, proposal: Any, on: dt.date = dt.date(2026, 11, 20), **extra: Any) -> Any:
        """The acceptance committee's record (members, date, conclusion)."""
        return self.fire(proposal, "accept", self.p.officer, comment="Nghiệm thu đạt", acceptance_date=on.isoformat(),
                         committee_members="Nguyễn Văn An\nTrần Thị Bình\nLê Văn Cường", **extra)

    def indicator(self, proposal: Any, key: str, **values: Any) -> Any:
        event = evaluation.record_indicator(self.db, proposal, actor(self.db, self.p.officer), {"key": key, **values})
        self.db.commit()
        return event


@pytest.fixture
def walk(db: Any, people: SimpleNamespace) -> Walk:
    return Walk(db, people)
