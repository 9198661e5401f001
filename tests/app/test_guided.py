"""Issue 13, part A: the next-step panel per role and state (service level), readable history and audit pages,
private drafts (web, API, lists, counts), attachment removal audited with the file kept."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from conftest import COMMUNE, PROVINCE, attach, login, tiny_pdf, token
from sqlalchemy import select

from app.actions import perform
from app.models import Attachment, Proposal
from app.proposals.guide import next_step
from app.uploads import path_of
from workflow.audit import AuditEvent, events_for
from workflow.registry import default_registry

RAW_CODES = ("business_registration", "non_duplication", "provincial_appraisal", "local_review", "user_id",
             "sheet_sha256", "paid_on", "requested_support", "proposal:")


@pytest.fixture
def cast(make_user: Any, make_org: Any, make_proposal: Any, db: Any) -> dict[str, Any]:
    org = make_org("Hợp tác xã chè La Bằng", commune_code=COMMUNE)
    people = {
        "applicant": make_user("htx_labang", "applicant", organisation=org),
        "commune": make_user("xa_daitu", "commune_officer", COMMUNE),
        "centre": make_user("ttkc_lan", "centre_officer", PROVINCE),
        "auditor": make_user("thanhtra", "auditor", PROVINCE),
        "director": make_user("giamdoc", "director", PROVINCE),
    }
    people["proposal"] = make_proposal(people["applicant"], title="Máy sao chè La Bằng")
    return people


def panel(app: Any, db: Any, proposal: Any, user: Any) -> Any:
    """The panel as the service computes it for ``user`` (what the proposal page shows)."""
    with app.test_request_context("/"):
        db.refresh(proposal)
        compiled = default_registry().for_subject(proposal)
        actor = user.actor()
        allowed = compiled.allowed_actions(proposal, actor, session=db)
        events = events_for(db, "proposal", str(proposal.id))
        names = {str(user.id): user.full_name}
        result = next_step(db, proposal, user, compiled, allowed, events, names,
                           editable=compiled.explain_edit(proposal, actor).allowed)
    db.rollback()
    return result


def fire(db: Any, proposal: Any, user: Any, trigger: str, **inputs: Any) -> None:
    perform(db, proposal, trigger, user.actor(), inputs)
    db.commit()


def ids(buttons: list[Any]) -> list[str]:
    return [b.ident for b in buttons]


def test_applicant_draft_panel_has_a_checklist_in_words_and_submit_once_complete(app: Any, db: Any,
                                                                                 cast: dict[str, Any]) -> None:
    p, applicant = cast["proposal"], cast["applicant"]
    n = panel(app, db, p, applicant)
    assert [c.label for c in n.checklist if c.kind == "document"] == [
        "Giấy đăng ký kinh doanh", "Báo giá của nhà cung cấp", "Cam kết không trùng lặp nguồn vốn nhà nước"]
    assert not any(c.done for c in n.checklist if c.kind == "document")
    assert ids(n.primary) == ["next-upload-dossier"]  # the forward step now: the missing documents
    assert any("Giấy đăng ký kinh doanh" in b for b in n.blockers)  # why submit is not open, in words
    assert not any(code in " ".join(n.blockers) for code in RAW_CODES)
    assert ids(n.destructive) == ["action-withdraw"] and n.destructive[0].confirm
    assert "action-edit" in ids(n.secondary)
    assert n.stepper[0].status == "current" and all(s.status == "todo" for s in n.stepper[1:])

    attach(app, db, p, applicant)
    n = panel(app, db, p, applicant)
    assert all(c.done for c in n.checklist if c.kind == "document")
    assert ids(n.primary) == ["action-submit"] and not n.blockers
    assert n.needed.startswith("Bạn cần") and "Nộp hồ sơ" in n.needed


def test_officer_panels_forward_first_destructive_apart_deadline_in_working_days(app: Any, db: Any,
                                                                                cast: dict[str, Any]) -> None:
    p = cast["proposal"]
    attach(app, db, p, cast["applicant"])
    fire(db, p, cast["applicant"], "submit")
    n = panel(app, db, p, cast["commune"])
    assert ids(n.primary) == ["action-forward"]
    assert ids(n.secondary) == ["action-return_for_revision"]
    assert ids(n.destructive) == ["action-not_recommend"]
    assert n.due is not None and (n.due - p.wf_entered_at.date()).days >= 10  # 10 working days, weekends skipped
    assert n.by_whom == "Cán bộ UBND xã"
    assert [s.status for s in n.stepper][:3] == ["done", "current", "todo"]
    # the applicant waits: the panel names who acts, and offers only the (confirmed) withdrawal
    n = panel(app, db, p, cast["applicant"])
    assert not n.primary and n.needed.startswith("Đang chờ") and ids(n.destructive) == ["action-withdraw"]

    fire(db, p, cast["commune"], "forward", comment="Hồ sơ đầy đủ")
    n = panel(app, db, p, cast["centre"])
    assert ids(n.primary)[0] == "next-assign-council"  # the council assignment is offered in the panel
    assert "0/5" in n.primary[0].label and n.primary[0].href.endswith("#council")
    assert "action-reject" not in ids(n.primary)
    assert any("hội đồng" in b or "Hội đồng" in b or "thành viên" in b for b in n.blockers)  # why not yet pass
    assert panel(app, db, p, cast["auditor"]).primary == []


def test_returned_proposal_shows_the_reason_at_the_top(app: Any, db: Any, client: Any, cast: dict[str, Any]) -> None:
    p = cast["proposal"]
    attach(app, db, p, cast["applicant"])
    fire(db, p, cast["applicant"], "submit")
    fire(db, p, cast["commune"], "return_for_revision", comment="Bổ sung báo giá thứ ba")
    n = panel(app, db, p, cast["applicant"])
    assert n.reason is not None and n.reason.text == "Bổ sung báo giá thứ ba"
    assert n.reason.title == "Trả lại để hoàn thiện" and ids(n.primary) == ["action-submit"]
    login(client, "htx_labang")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert page.index('id="latest-reason"') < page.index('id="next-step"') < page.index('id="fields"')
    assert 'aria-current="step"' in page and "<desc id=\"lifecycle-desc\">" in page and 'width="100%"' in page


def test_history_and_audit_pages_are_readable(app: Any, db: Any, client: Any, cast: dict[str, Any]) -> None:
    p = cast["proposal"]
    attach(app, db, p, cast["applicant"])
    fire(db, p, cast["applicant"], "submit")
    fire(db, p, cast["commune"], "forward", comment="Đã kiểm tra thực tế")
    login(client, "htx_labang")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    timeline = re.sub(r"<[^>]+>", " ", page[page.index('id="timeline"'):])
    timeline = re.sub(r"\w+\.pdf", "", timeline)  # the test's file names are codes themselves
    assert "\\u" not in timeline and not re.search(r"\d{4}-\d{2}-\d{2}", timeline)
    assert not any(code in timeline for code in RAW_CODES), timeline
    assert "Giấy đăng ký kinh doanh" in timeline and "Xã thẩm tra → Tỉnh thẩm định" in timeline
    assert "Xa Daitu" in timeline  # the officer's name, not the id
    assert "190.000.000 ₫" in timeline  # the requested support recorded at creation, formatted

    auditor = app.test_client()
    login(auditor, "thanhtra")
    log = auditor.get("/audit/").get_data(as_text=True)
    body = re.sub(r"<details class=\"technical\">.*?</details>", " ", log, flags=re.S)
    assert p.code in body and f"proposal:{p.id}" not in body
    assert "\\u" not in log  # the technical JSON too: Vietnamese letters as they are
    assert "Chi tiết kỹ thuật" in log and "Đã thực hiện" in body and ">applied<" not in body
    assert "Cán bộ UBND xã" in body and "Nộp hồ sơ" in body

    export = auditor.get(f"/audit/proposals/{p.id}/history.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    assert rows[0]["action"] == "create" and rows[0]["subject_code"] == p.code  # machine and readable columns
    forward = next(r for r in rows if r["action"] == "forward")
    assert forward["action_title"] == "Đề nghị tỉnh thẩm định" and forward["actor_name"] == "Xa Daitu"
    assert forward["states_title"] == "Xã thẩm tra → Tỉnh thẩm định"


def test_a_draft_is_private_to_its_organisation(app: Any, db: Any, cast: dict[str, Any],
                                                 make_proposal: Any) -> None:
    draft = cast["proposal"]
    submitted = make_proposal(cast["applicant"], title="Lò sấy đã nộp")
    attach(app, db, submitted, cast["applicant"])
    fire(db, submitted, cast["applicant"], "submit")
    for who in ("commune", "centre", "auditor", "director", "applicant"):
        client = app.test_client()
        login(client, cast[who].username)
        own = who == "applicant"
        assert client.get(f"/proposals/{draft.id}").status_code == (200 if own else 404), who
        assert client.get(f"/proposals/{submitted.id}").status_code == 200, who
        listing = client.get("/proposals").get_data(as_text=True)
        assert (draft.code in listing) == own and submitted.code in listing, who
        work = client.get("/my-work").get_data(as_text=True)
        assert (draft.code in work) == own, who
        if who == "auditor":
            assert client.get(f"/audit/proposals/{draft.id}").status_code == 404
    # the API and its counts: the draft does not exist for an officer
    from app.api.tokens import issue_token

    key = issue_token(db, cast["centre"], "test")
    db.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get(f"/api/v1/proposals/{draft.id}", headers=headers).status_code == 404
    listed = api.get("/api/v1/proposals", headers=headers).get_json()
    codes = {item["code"] for item in listed["items"]}
    assert submitted.code in codes and draft.code not in codes
    from app.reports.queries import Filters, where

    with app.test_request_context("/"):
        from sqlalchemy import func

        seen = db.scalar(select(func.count(Proposal.id)).where(where(cast["centre"], Filters())))
        mine = db.scalar(select(func.count(Proposal.id)).where(where(cast["applicant"], Filters())))
    assert (seen, mine) == (1, 2)  # report counts leave the draft out for the Centre


def test_attachment_removal_is_audited_and_the_file_kept(app: Any, db: Any, cast: dict[str, Any]) -> None:
    p, applicant = cast["proposal"], cast["applicant"]
    pid, uid = p.id, applicant.id
    attach(app, db, p, applicant, ("quotes",))
    first_id, first_sha = db.execute(select(Attachment.id, Attachment.sha256)
                                     .where(Attachment.proposal_id == pid)).one()
    db.rollback()  # SQLite: no transaction of ours may hold the write lock while the app writes
    client = app.test_client()
    login(client, "htx_labang")
    # the same file again: stored, with a warning that it duplicates the first
    again = client.post(f"/proposals/{pid}/attachments", data={
        "csrf_token": token(client), "kind": "quotes", "file": (io.BytesIO(tiny_pdf("quotes")), "bao-gia.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "trùng nội dung" in again.get_data(as_text=True)
    removed = client.post(f"/proposals/{pid}/attachments/{first_id}/remove", data={"csrf_token": token(client)})
    assert removed.status_code == 303
    row = db.get(Attachment, first_id)
    assert row is not None and row.removed_at is not None and row.removed_by_id == uid
    with app.app_context():
        assert path_of(row.stored_name).exists()  # kept on disk for the record
    live = [a.id for a in db.get(Proposal, pid).attachments]
    assert first_id not in live and len(live) == 1
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "remove_attachment")).one()
    assert event.outcome == "applied" and event.diff["removed"]["sha256"] == first_sha
    db.rollback()
    page = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Gỡ tài liệu" in page and f'id="attachment-{first_id}"' not in page
    # replace: the new file in, the old one out, both recorded
    replaced = client.post(f"/proposals/{pid}/attachments", data={
        "csrf_token": token(client), "kind": "quotes", "replaces": str(live[0]),
        "file": (io.BytesIO(tiny_pdf("bao gia moi")), "bao-gia-moi.pdf")}, content_type="multipart/form-data")
    assert replaced.status_code == 303
    db.expire_all()
    assert [a.original_name for a in db.get(Proposal, pid).attachments] == ["bao-gia-moi.pdf"]
    # after submission the dossier is final: removal refused, nothing changes
    p = db.get(Proposal, pid)
    attach(app, db, p, db.get(type(applicant), uid), ("business_registration", "non_duplication"))
    fire(db, p, db.get(type(applicant), uid), "submit")
    kept = db.get(Proposal, pid).attachments[0].id
    db.rollback()
    refused = client.post(f"/proposals/{pid}/attachments/{kept}/remove", data={"csrf_token": token(client)})
    assert refused.status_code == 409  # the state forbids it (the definition's remove_attachment), not the role
    assert db.get(Attachment, kept).removed_at is None


def test_council_index_filters_open_and_past_and_my_work_names_the_next_step(
        app: Any, db: Any, cast: dict[str, Any], make_user: Any) -> None:
    from app.council import services as council

    p = cast["proposal"]
    pid = p.id
    attach(app, db, p, cast["applicant"])
    fire(db, p, cast["applicant"], "submit")
    fire(db, p, cast["commune"], "forward", comment="Đủ")
    member = make_user("tv_hoidong", "council_member", PROVINCE)
    council.assign_member(db, db.get(Proposal, pid), cast["centre"].actor(), {"user_id": str(member.id)})
    db.commit()
    client = app.test_client()
    login(client, "tv_hoidong")
    open_list = client.get("/council/").get_data(as_text=True)
    assert f'id="score-{pid}"' in open_list and 'aria-current="page"' in open_list
    assert f'id="assignment-{pid}"' not in client.get("/council/?show=past").get_data(as_text=True)
    council.recuse(db, db.get(Proposal, pid), member.actor(), {"kind": "recusal", "reason": "Đi công tác"})
    db.commit()
    assert f'id="assignment-{pid}"' not in client.get("/council/").get_data(as_text=True)
    assert f'id="assignment-{pid}"' in client.get("/council/?show=past").get_data(as_text=True)
    # the centre officer's work list: the next step is the council and the conclusion, not a bare "return"
    officer = app.test_client()
    login(officer, "ttkc_lan")
    work = officer.get("/my-work").get_data(as_text=True)
    row = work[work.index(f'id="work-{pid}"'):]
    row = row[:row.index("</tr>")]
    assert "Hội đồng thẩm định, rồi kết luận" in row and "Trả lại" not in row
    assert f"/proposals/{pid}#next-step" in row
