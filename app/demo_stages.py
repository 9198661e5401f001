"""Demo data for the later stages: takes the demo proposals left in provincial appraisal to their target
state through the real services and transitions: council sheets (with a recusal now and then), a budget
envelope per year, funding decisions, contracts, progress, advances, acceptance records, settlement and
evaluation indicators. Called by ``app.demo.load``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions import perform
from app.council import services as council
from app.deadlines import today
from app.demo import PROVINCE_CODE, Demo, demo_pdf
from app.funding import services as funding
from app.implementation import evaluation
from app.implementation import services as implementation
from app.models import Attachment, ProgressReport, Proposal, User
from app.proposals.services import add_attachment
from app.rounds import priority
from app.uploads import store
from workflow.registry import default_registry

FUNDED = ("funded", "implementing", "implemented", "settled", "evaluated", "terminated")
IMPLEMENTED = ("implemented", "settled", "evaluated")


def _sheet(demo: Demo, proposal: Proposal, passing: bool) -> dict[str, int]:
    _, council_def = council.council_of(proposal)
    assert council_def is not None
    share = demo.rng.uniform(0.72, 0.95) if passing else demo.rng.uniform(0.40, 0.62)
    return {c.key: min(c.max_points, round(c.max_points * share + demo.rng.choice((-1, 0, 0, 1))))
            for c in council_def.criteria}


def _appraise(session: Session, demo: Demo, proposal: Proposal, officer: User, passing: bool) -> None:
    members = demo.rng.sample(demo.by_role["council_member"], 6 if demo.rng.random() < 0.2 else 5)
    for m in members:
        council.assign_member(session, proposal, officer.actor(), {"user_id": m.id})
    if len(members) == 6:  # one of six declares a conflict: five sheets still reach the quorum of four
        council.recuse(session, proposal, members[-1].actor(),
                       {"kind": "conflict", "reason": "Có người thân làm việc tại cơ sở đề nghị"})
        members = members[:-1]
    for m in members:
        council.submit_sheet(session, proposal, m.actor(), {
            "points": _sheet(demo, proposal, passing),
            "comment": "Đề án phù hợp, hiệu quả rõ" if passing else "Hiệu quả chưa thuyết phục"})


def _attach_acceptance(session: Session, proposal: Proposal, officer: User) -> None:
    actor = officer.actor()
    for kind in implementation.acceptance_kinds_required(proposal):
        stored, mime, size, digest = store(io.BytesIO(demo_pdf(f"{proposal.code} {kind}")))
        attachment = Attachment(kind=kind, original_name=f"{kind}.pdf", stored_name=stored, content_type=mime,
                                size=size, sha256=digest, uploaded_by_id=officer.id)
        add_attachment(session, proposal, actor, attachment)


def _implement(session: Session, demo: Demo, proposal: Proposal, applicant: User, officer: User,
               target: str) -> None:
    year, rng = proposal.year, demo.rng
    fund = funding.funding_of(session, proposal.id)
    assert fund is not None
    steps = (35, 60, 80, 100) if target in IMPLEMENTED else (20, 45)
    for month, percent in zip(range(5, 9), steps, strict=False):
        implementation.report_progress(session, proposal, applicant.actor(), {
            "period": f"{year}-{month:02d}", "percent": percent, "note": "Đã nhận và lắp đặt thiết bị"
            if percent >= 60 else "Đang hoàn thiện nhà xưởng, đặt hàng thiết bị"})
        report = session.scalars(select(ProgressReport).where(ProgressReport.proposal_id == proposal.id,
                                                              ProgressReport.period == f"{year}-{month:02d}")).one()
        implementation.confirm_progress(session, proposal, officer.actor(), report.id)
    if proposal.category != "machinery" or steps[-1] > implementation.MACHINERY_PROGRESS_PERCENT:
        implementation.record_advance(session, proposal, officer.actor(), {
            "amount": implementation.advance_limit(fund) // 1_000_000 * 1_000_000,
            "paid_on": dt.date(year, 8, 20), "note": "Tạm ứng theo hợp đồng"})
    if target not in IMPLEMENTED:
        return
    _attach_acceptance(session, proposal, officer)
    accept: dict[str, object] = {"comment": "Hoàn thành đúng nội dung hợp đồng"}
    if "acceptance_date" in default_registry().for_subject(proposal).input_specs:  # v3: the committee's record
        accept.update(acceptance_date=min(dt.date(year, 11, 15), today()),
                      committee_members="Nguyễn Văn Hải\nTrần Thị Lan\nĐỗ Minh Tuấn")
    perform(session, proposal, "accept", officer.actor(), accept)
    if target == "implemented":
        return
    disbursed = fund.approved_amount - rng.choice((0, 0, 2, 5)) * 1_000_000
    refund = max(0, implementation.advanced_total(session, proposal.id) - disbursed)
    perform(session, proposal, "settle", officer.actor(), {"disbursed_total": disbursed, "refund_amount": refund})
    if target != "evaluated":
        return
    jobs = proposal.expected_jobs
    for key, target_value, actual in (("jobs_created", jobs, max(0, jobs + rng.randint(-2, 4))),
                                      ("output_increase", 30, rng.randint(10, 55)),
                                      ("machine_in_use", True, rng.random() < 0.9),
                                      ("revenue_change", 20, rng.randint(-5, 40))):
        evaluation.record_indicator(session, proposal, officer.actor(),
                                    {"key": key, "target": target_value, "actual": actual})
    perform(session, proposal, "evaluate", officer.actor(),
            {"evaluation_score": rng.randint(70, 95), "comment": "Đề án phát huy hiệu quả, máy móc sử dụng tốt"})


def take_further(session: Session, demo: Demo) -> None:
    """Drive every pending demo proposal to its target through the stage services, as the right users."""
    officer = demo.users["ttkc_lan"]
    director = demo.by_role["director"][0]
    by_year: dict[int, list[tuple[Proposal, str]]] = defaultdict(list)
    for proposal, target in demo.pending:
        by_year[proposal.year].append((proposal, target))
    applicants = {u.organisation_id: u for u in demo.by_role["applicant"]}
    for year, items in sorted(by_year.items()):
        funded = sum(p.requested_support for p, t in items if t in FUNDED)
        envelope = funding.create_envelope(session, officer, PROVINCE_CODE, {
            "fund": "Kinh phí khuyến công địa phương", "year": year,
            "amount": max(funded, 1_000_000_000) // 100_000_000 * 100_000_000 + 300_000_000})
        for number, (proposal, target) in enumerate(items, 1):
            priority.confirm_priority(session, proposal, officer.actor(),
                                      {f: getattr(proposal, f) for f in ("priority_region", "priority_sector")})
            _appraise(session, demo, proposal, officer, passing=target != "rejected")
            if target == "rejected":
                perform(session, proposal, "reject", officer.actor(), {"reason": "Điểm thẩm định dưới 70"})
                continue
            perform(session, proposal, "shortlist", officer.actor(), {"comment": "Hội đồng kết luận đạt"})
            if target == "reserve":
                perform(session, proposal, "move_to_reserve", director.actor(),
                        {"reason": "Chờ bố trí kinh phí bổ sung"})
            if target not in FUNDED:
                continue
            perform(session, proposal, "approve_funding", director.actor(), {
                "approved_amount": proposal.requested_support, "decision_number": f"{number:03d}/QĐ-SCT",
                "decision_date": dt.date(year, 3, 20), "envelope_id": envelope.id})
            if target == "funded":
                continue
            perform(session, proposal, "sign_contract", officer.actor(), {
                "contract_number": f"{number:03d}/{year}/HĐ-TTKC", "contract_date": dt.date(year, 4, 10)})
            applicant = applicants[proposal.organisation_id]
            _implement(session, demo, proposal, applicant, officer, target)
            if target == "terminated":
                perform(session, proposal, "terminate", director.actor(),
                        {"reason": "Cơ sở ngừng sản xuất, không tiếp tục thực hiện đề án"})

