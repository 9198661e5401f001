"""A proposal taken through its lifecycle with the HTML forms, as the right user at each step, and the
mapping of refusals: permission 403, state or stale version 409, missing input or failing guard 422."""

from __future__ import annotations

import io
import re
from typing import Any

from conftest import COMMUNE, DISTRICT, PROVINCE, attach, login, tiny_pdf, token
from sqlalchemy import select

from app.models import Proposal

FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="expected_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="expected_version"')


def form_page(client: Any, url: str) -> tuple[int, str, str | None]:
    page = client.get(url)
    body = page.get_data(as_text=True)
    match = VERSION.search(body)
    return page.status_code, body, (match.group(1) or match.group(2)) if match else None


def act(client: Any, pid: int, trigger: str, **inputs: str) -> Any:
    """Open the action's form and submit it, as a browser would."""
    status, body, version = form_page(client, f"/proposals/{pid}/actions/{trigger}")
    data = {"csrf_token": FORM_TOKEN.search(body).group(1), "expected_version": version or "", **inputs}
    return client.post(f"/proposals/{pid}/actions/{trigger}", data=data)


def state_of(app: Any, pid: int) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        return session.get(Proposal, pid).wf_state


def upload(client: Any, pid: int, kind: str) -> Any:
    return client.post(f"/proposals/{pid}/attachments", content_type="multipart/form-data",
                       data={"kind": kind, "file": (io.BytesIO(tiny_pdf(kind)), f"{kind}.pdf"),
                             "csrf_token": token(client)})


PROPOSAL_FORM = {
    "title": "Ứng dụng máy sao chè liên hoàn tại HTX chè La Bằng", "commune_code": COMMUNE,
    "category": "machinery", "sector": "agro_processing", "year": "2020", "total_cost": "403.000.000",
    "requested_support": "197.000.000", "counterpart_funds": "206.000.000", "duration_months": "12",
    "objectives": "Nâng cao chất lượng chè", "expected_results": "Tăng sản lượng 30 %", "expected_jobs": "8",
    "expected_output": "40 tấn chè khô/năm", "priority_sector": "y",
}


def test_lifecycle_through_the_forms(app: Any, make_user: Any, make_org: Any) -> None:
    org = make_org("Hợp tác xã chè Hùng Sơn", commune_code=COMMUNE)
    make_user("htx_labang", "applicant", organisation=org)
    make_user("xa_hungson", "commune_officer", COMMUNE)
    make_user("ttkc", "centre_officer", PROVINCE)
    applicant, local, centre = (app.test_client() for _ in range(3))
    assert login(applicant, "htx_labang").status_code == 302
    assert login(local, "xa_hungson").status_code == 302
    assert login(centre, "ttkc").status_code == 302

    # 1. the applicant drafts it; a bad amount is a 422 with the field's message, nothing written
    status, body, _ = form_page(applicant, "/proposals/new")
    assert status == 200 and 'name="total_cost"' in body
    bad = applicant.post("/proposals/new", data={**PROPOSAL_FORM, "total_cost": "bốn trăm triệu",
                                                 "csrf_token": FORM_TOKEN.search(body).group(1)})
    assert bad.status_code == 422 and "Nhập số tiền nguyên" in bad.get_data(as_text=True)
    created = applicant.post("/proposals/new", data={**PROPOSAL_FORM, "csrf_token": FORM_TOKEN.search(body).group(1)})
    assert created.status_code == 303
    pid = int(created.headers["Location"].rsplit("/", 1)[1])
    with app.extensions["db_sessionmaker"]() as session:
        proposal = session.get(Proposal, pid)
        assert (proposal.total_cost, proposal.requested_support, proposal.district_code) == (403_000_000, 197_000_000,
                                                                                            DISTRICT)
        assert proposal.wf_workflow_version == 3 and proposal.wf_state == "draft"  # new ones: current lifecycle
    page = applicant.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "403.000.000 ₫" in page and 'aria-current="step"' in page
    # submit is not offered yet, and the page says why (the engine's reason, in Vietnamese)
    assert 'id="action-submit"' not in page and "Hồ sơ còn thiếu" in page

    # 2. submitting without the dossier: the guard's reason, 422
    refused = act(applicant, pid, "submit")
    assert refused.status_code == 422 and "Hồ sơ còn thiếu" in refused.get_data(as_text=True)
    for kind in ("business_registration", "quotes", "non_duplication"):
        assert upload(applicant, pid, kind).status_code == 303

    # 3. the commune officer does not even see the draft (private to its organisation until submitted)
    assert act(local, pid, "submit").status_code == 404
    assert 'id="action-submit"' in applicant.get(f"/proposals/{pid}").get_data(as_text=True)
    assert act(applicant, pid, "submit").status_code == 303
    assert state_of(app, pid) == "local_review"
    wrong_role = act(local, pid, "withdraw", reason="x")  # submitted: visible, and the engine names the role
    assert wrong_role.status_code == 403 and "Cần vai trò" in wrong_role.get_data(as_text=True)

    # 4. forward needs a comment: 422 naming the field; then it goes through
    missing = act(local, pid, "forward", comment="")
    assert missing.status_code == 422 and "Bắt buộc nhập" in missing.get_data(as_text=True)
    assert state_of(app, pid) == "local_review"
    assert act(local, pid, "forward", comment="Hồ sơ đầy đủ, đề nghị thẩm định").status_code == 303
    assert state_of(app, pid) == "provincial_appraisal"

    # 5. the same action again is now a state conflict: 409
    again = act(local, pid, "forward", comment="lần hai")
    assert again.status_code == 409

    # 6. the centre returns it; a stale edit form is a 409, a fresh one saves
    assert act(centre, pid, "return_for_revision", comment="Bổ sung báo giá thứ ba").status_code == 303
    assert state_of(app, pid) == "returned"
    status, body, version = form_page(applicant, f"/proposals/{pid}/edit")
    assert status == 200 and version
    stale = {**PROPOSAL_FORM, "title": "Tên mới", "expected_version": str(int(version) - 1),
             "csrf_token": FORM_TOKEN.search(body).group(1)}
    response = applicant.post(f"/proposals/{pid}/edit", data=stale)
    assert response.status_code == 409
    fresh = {**stale, "expected_version": version}
    assert applicant.post(f"/proposals/{pid}/edit", data=fresh).status_code == 303
    assert act(applicant, pid, "submit").status_code == 303
    assert act(local, pid, "forward", comment="Đã bổ sung").status_code == 303
    assert state_of(app, pid) == "provincial_appraisal"

    # 7. the history shows every step, in order, from the audit trail
    page = centre.get(f"/proposals/{pid}").get_data(as_text=True)
    steps = re.findall(r'class="outcome-(\w+)" data-action="([a-z_]+)"', page)
    assert steps[0] == ("created", "create")
    assert [a for o, a in steps if o == "applied" and a != "attach"] == [
        "submit", "forward", "return_for_revision", "edit", "submit", "forward"]
    # refused attempts are on the record too: the early submit, the officer's withdraw, the second forward
    assert [a for o, a in steps if o == "refused"] == ["submit", "withdraw", "forward"]
    assert "Bổ sung báo giá thứ ba" in page and "Tên mới" in page


def test_district_review_on_the_v1_lifecycle(app: Any, db: Any, make_user: Any, make_proposal: Any) -> None:
    owner = make_user("htx_hungson", "applicant", COMMUNE)
    make_user("pkt_daitu", "district_officer", DISTRICT)
    make_user("pkt_phubinh", "district_officer", "173")
    proposal = make_proposal(owner, version=1, year=2020)
    attach(app, db, proposal, owner)
    applicant, officer, other = (app.test_client() for _ in range(3))
    for client, name in ((applicant, "htx_hungson"), (officer, "pkt_daitu"), (other, "pkt_phubinh")):
        assert login(client, name).status_code == 302
    assert act(applicant, proposal.id, "submit").status_code == 303
    assert state_of(app, proposal.id) == "district_review"
    assert other.get(f"/proposals/{proposal.id}").status_code == 404  # another district's officer
    assert other.post(f"/proposals/{proposal.id}/actions/forward",
                      data={"comment": "x", "csrf_token": token(other)}).status_code == 404
    assert f"/proposals/{proposal.id}/actions/forward" in officer.get("/my-work").get_data(as_text=True)
    assert act(officer, proposal.id, "not_recommend", reason="Không thuộc ngành nghề hỗ trợ").status_code == 303
    assert state_of(app, proposal.id) == "rejected"


def test_withdraw_needs_a_reason_and_leaves_a_final_state(app: Any, make_user: Any, make_proposal: Any) -> None:
    owner = make_user("chu_co_so", "applicant", COMMUNE)
    proposal = make_proposal(owner, version=1, year=2020)
    client = app.test_client()
    login(client, "chu_co_so")
    assert act(client, proposal.id, "withdraw", reason="").status_code == 422
    assert act(client, proposal.id, "withdraw", reason="Không thu xếp được vốn đối ứng").status_code == 303
    assert state_of(app, proposal.id) == "withdrawn"
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert 'id="no-actions"' in page and 'id="action-edit"' not in page
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(select(Proposal.wf_state).where(Proposal.id == proposal.id)) == "withdrawn"


def test_from_draft_to_funded_through_the_pages(app: Any, db: Any, make_user: Any, make_proposal: Any) -> None:
    """Every step a person does in the browser: the proposal's action forms, the council's member and score
    sheet forms, the envelope form, and the director's funding decision."""
    owner = make_user("htx_labang", "applicant", "05815")
    make_user("pkt_daitu", "district_officer", DISTRICT)
    make_user("ttkc", "centre_officer", PROVINCE)
    make_user("giamdoc", "director", PROVINCE)
    members = [make_user(f"hoidong{n}", "council_member", PROVINCE) for n in range(1, 6)]
    proposal = make_proposal(owner, version=1, year=2020, total_cost=403_000_000, requested_support=197_000_000,
                             counterpart_funds=206_000_000)
    attach(app, db, proposal, owner)
    pid = proposal.id
    people = {name: app.test_client() for name in ("htx_labang", "pkt_daitu", "ttkc", "giamdoc")}
    for name, client in people.items():
        assert login(client, name).status_code == 302

    assert act(people["htx_labang"], pid, "submit").status_code == 303
    assert act(people["pkt_daitu"], pid, "forward", comment="Đủ điều kiện").status_code == 303
    assert state_of(app, pid) == "provincial_appraisal"

    centre = people["ttkc"]
    shortlist_too_early = act(centre, pid, "shortlist", comment="Đạt")
    assert shortlist_too_early.status_code == 422  # no council yet: the guard says so
    for member in members:
        response = centre.post(f"/council/proposals/{pid}/members",
                               data={"user_id": str(member.id), "csrf_token": token(centre)})
        assert response.status_code == 303, response.get_data(as_text=True)[:800]
    for member, points in zip(members, (18, 17, 19, 16, 18), strict=True):
        client = app.test_client()
        assert login(client, member.username).status_code == 302
        sheet = {"points_fit_priority": str(points), "points_necessity_effect": "21", "points_cost_counterpart": "16",
                 "points_capacity": "17", "points_links": "4", "points_dossier": "9", "comment": "Khả thi",
                 "csrf_token": token(client)}
        response = client.post(f"/council/proposals/{pid}/sheets", data=sheet)
        assert response.status_code == 303, response.get_data(as_text=True)[:800]

    assert act(centre, pid, "shortlist", comment="Hội đồng đánh giá đạt").status_code == 303
    assert state_of(app, pid) == "shortlisted"

    director = people["giamdoc"]
    envelope = director.post("/funding/envelopes", data={"fund": "Kinh phí khuyến công địa phương", "year": "2020",
                                                         "amount": "3.500.000.000", "csrf_token": token(director)})
    assert envelope.status_code == 303, envelope.get_data(as_text=True)[:800]
    over = act(director, pid, "approve_funding", approved_amount="250.000.000", decision_number="123/QĐ-UBND",
               decision_date="2020-03-02")
    assert over.status_code == 422 and state_of(app, pid) == "shortlisted"  # more than requested
    funded = act(director, pid, "approve_funding", approved_amount="190.000.000", decision_number="123/QĐ-UBND",
                 decision_date="2020-03-02")
    assert funded.status_code == 303, funded.get_data(as_text=True)[:800]
    assert state_of(app, pid) == "funded"
    page = director.get(f"/proposals/{pid}").get_data(as_text=True)
    assert 'data-state="funded"' in page and "190.000.000 ₫" in page
