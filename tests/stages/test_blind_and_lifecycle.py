"""Blind review from the definition, and a whole lifecycle through the web forms with its audit chain."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import csrf_token, login
from sqlalchemy import select

from app.models import BudgetEnvelope, ProgressReport
from tests.stages.conftest import GOOD, attach
from workflow.audit import AuditEvent, verify_chain
from workflow.registry import DEFAULT_DEFINITIONS


def test_blind_review_hides_the_applicant_from_council_members(tmp_path: Path, monkeypatch, client, db, people,
                                                               walk, make_proposal):
    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DEFINITIONS, folder)
    v2 = folder / "khuyen_cong" / "v2.yaml"
    v2.write_text(v2.read_text().replace("      veto: true\n", "      veto: true\n      blind: true\n"))
    monkeypatch.setenv("GRANTFLOW_DEFINITIONS", str(folder))
    proposal = walk.to_appraisal(make_proposal(people.applicant, version=2))
    walk.assign(proposal, people.members[:1])
    name = proposal.organisation.name
    login(client, "hoi_dong_1")
    for url in (f"/council/proposals/{proposal.id}", "/council/"):
        page = client.get(url).get_data(as_text=True)
        assert name not in page and "(ẩn danh" in page, url
    # Everywhere else the proposal does not exist for them: page, files, lists.
    assert client.get(f"/proposals/{proposal.id}").status_code == 404
    assert proposal.code not in client.get("/proposals").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/council/")})
    login(client, "can_bo_trung_tam")
    assert name in client.get(f"/proposals/{proposal.id}").get_data(as_text=True)


def _post(client, url, page, **data):
    answer = client.post(url, data={**data, "csrf_token": csrf_token(client, page)})
    assert answer.status_code == 303, (url, answer.status_code, answer.get_data(as_text=True)[-1500:])
    return answer


def test_a_whole_lifecycle_through_the_forms(app, client, db, people, walk, make_proposal):
    proposal = walk.to_appraisal(make_proposal(people.applicant, priority_region=True), confirm_priority=False)
    page = f"/proposals/{proposal.id}"

    def session_as(username):
        fresh = app.test_client()
        login(fresh, username)
        return fresh

    officer = session_as("can_bo_trung_tam")
    for m in people.members[:5]:
        _post(officer, f"/council/proposals/{proposal.id}/members", page, user_id=m.id)
    recused = session_as("hoi_dong_5")
    _post(recused, f"/council/proposals/{proposal.id}/recusal", f"/council/proposals/{proposal.id}",
          kind="conflict", reason="Người nhà làm tại cơ sở")
    for i in range(1, 5):
        member = session_as(f"hoi_dong_{i}")
        _post(member, f"/council/proposals/{proposal.id}/sheets", f"/council/proposals/{proposal.id}",
              comment="Đạt", **{f"points_{k}": v for k, v in GOOD.items()})
    refused = officer.post(f"/proposals/{proposal.id}/actions/shortlist", data={
        "comment": "Đạt", "csrf_token": csrf_token(officer, page)})
    assert refused.status_code == 422 and "chưa xác nhận đối tượng ưu tiên" in refused.get_data(as_text=True)
    _post(officer, f"/implementation/{proposal.id}/priority", page, priority_region="true", priority_sector="false")
    _post(officer, f"/proposals/{proposal.id}/actions/shortlist", page, comment="Hội đồng kết luận đạt",
          expected_version=_version(db, proposal))
    assert 'id="council-average">80,00' in officer.get(page).get_data(as_text=True)  # priority is no score bonus

    director = session_as("giam_doc")
    _post(director, "/funding/envelopes", "/funding/envelopes", fund="Kinh phí khuyến công địa phương", year="2026",
          amount="3.500.000.000")
    envelope = db.scalar(select(BudgetEnvelope))
    db.commit()
    _post(director, f"/proposals/{proposal.id}/actions/approve_funding", page, approved_amount="190.000.000",
          decision_number="45/QĐ-SCT", decision_date="20/03/2026", expected_version=_version(db, proposal))
    remaining = director.get(f"/funding/envelopes/{envelope.id}").get_data(as_text=True)
    assert re.search(r'id="envelope-remaining">3\.310\.000\.000', remaining)

    _post(officer, f"/proposals/{proposal.id}/actions/sign_contract", page, contract_number="12/2026/HĐ-TTKC",
          contract_date="01/04/2026", expected_version=_version(db, proposal))
    applicant = session_as("ung_vien")
    _post(applicant, f"/implementation/{proposal.id}/progress", page, period="2026-06", percent="80",
          note="Máy đã về")
    report = db.scalar(select(ProgressReport).where(ProgressReport.proposal_id == proposal.id))
    db.commit()
    _post(officer, f"/implementation/{proposal.id}/progress/{report.id}/confirm", page)
    _post(officer, f"/implementation/{proposal.id}/advances", page, amount="120.000.000", paid_on="01/07/2026")
    attach(db, proposal, "acceptance_record", "purchase_contract", "contract_liquidation", "invoices",
           "counterpart_proof")
    _post(officer, f"/proposals/{proposal.id}/actions/accept", page, comment="Nghiệm thu đạt",
          acceptance_date="10/11/2026", committee_members="Nguyễn Văn A\nTrần Thị B\nLê Văn C",
          expected_version=_version(db, proposal))
    _post(officer, f"/proposals/{proposal.id}/actions/settle", page, disbursed_total="190.000.000",
          refund_amount="0", expected_version=_version(db, proposal))
    for key, target, actual in (("jobs_created", "5", "7"), ("output_increase", "30", "40"),
                                ("machine_in_use", "", "yes"), ("revenue_change", "20", "25")):
        _post(officer, f"/implementation/{proposal.id}/indicators", page, key=key, target=target, actual=actual)
    _post(officer, f"/proposals/{proposal.id}/actions/evaluate", page, evaluation_score="88",
          comment="Hiệu quả tốt", expected_version=_version(db, proposal))

    shown = officer.get(page).get_data(as_text=True)
    assert 'data-state="evaluated"' in shown
    for money in ('id="money-approved">190.000.000', 'id="money-advanced">120.000.000',
                  'id="money-settled">190.000.000'):
        assert money in shown
    actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(proposal.id),
                                                                       AuditEvent.outcome == "applied")
                                            .order_by(AuditEvent.seq))]
    db.commit()
    for expected in ("assign_council_member", "declare_conflict", "submit_score_sheet", "shortlist",
                     "approve_funding", "sign_contract", "report_progress", "record_advance", "accept", "settle",
                     "record_indicator", "evaluate"):
        assert expected in actions
    assert "Nộp phiếu chấm điểm" in shown  # the timeline names the stage actions
    result = verify_chain(app.extensions["db_engine"])
    assert result.ok, result.problems


def _version(db, proposal):
    db.refresh(proposal)
    db.commit()
    return proposal.wf_version
