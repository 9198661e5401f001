"""The appraisal council: a member's list and review page; assignment, recusal and score sheets."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.access import requires
from app.common.web import run_form, stage_view
from app.council import services as council
from app.extensions import db_session
from app.models import CouncilMember, Proposal
from app.scoping import load_proposal, visible_proposals
from app.security import request_id

bp = Blueprint("council", __name__, url_prefix="/council", template_folder="templates")


@bp.app_template_global("hides_applicant")
def hides_applicant(proposal: Proposal) -> bool:
    """Blind review: the applicant's identity is hidden from council members (the proposal page uses it)."""
    return council.hides_applicant(proposal, current_user)


@bp.route("/")
@requires("council")
def index() -> Any:
    """The proposals the user appraises, with whether their sheet is in."""
    session = db_session()
    rows = session.execute(visible_proposals(current_user, council_review=True).add_columns(CouncilMember)
                           .join(CouncilMember, CouncilMember.proposal_id == Proposal.id)
                           .where(CouncilMember.user_id == current_user.id)
                           .order_by(Proposal.year.desc(), Proposal.code)).all()
    items = [{"proposal": p, "member": m, "scored": m.id in council.current_sheets(session, p.id),
              "blind": council.hides_applicant(p, current_user)} for p, m in rows]
    return render_template("council/index.html", items=items)


@bp.route("/proposals/<int:pid>")
@requires("council")
def review(pid: int) -> Any:
    """What a member reads to score: the proposal (without the applicant's identity under blind review)."""
    session = db_session()
    proposal = load_proposal(session, current_user, pid, council_review=True)
    member = council.membership(session, proposal.id, current_user.id)
    mine = council.current_sheets(session, proposal.id).get(member.id) if member else None
    return render_template("council/review.html", proposal=proposal, member=member, mine=mine,
                           blind=council.hides_applicant(proposal, current_user), stage=stage_view(proposal))


def _form_inputs() -> dict[str, Any]:
    return request.form.to_dict()


@bp.route("/proposals/<int:pid>/members", methods=["POST"])
@requires("council")
def assign(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid, council_review=True)
    return run_form(proposal, lambda: council.assign_member(
        db_session(), proposal, current_user.actor(), _form_inputs(), request_id=request_id()),
        ("Đã phân công thành viên hội đồng.", "Council member assigned."), "council")


@bp.route("/proposals/<int:pid>/recusal", methods=["POST"])
@requires("council")
def recuse(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid, council_review=True)
    return run_form(proposal, lambda: council.recuse(
        db_session(), proposal, current_user.actor(), _form_inputs(), request_id=request_id()),
        ("Đã ghi nhận việc từ chối tham gia.", "Your recusal is recorded."), "council")


@bp.route("/proposals/<int:pid>/sheets", methods=["POST"])
@requires("council")
def submit_sheet(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid, council_review=True)
    inputs = {**_form_inputs(), "not_eligible": "true" if request.form.get("not_eligible") else "false"}
    return run_form(proposal, lambda: council.submit_sheet(
        db_session(), proposal, current_user.actor(), inputs, request_id=request_id()),
        ("Đã nộp phiếu chấm điểm.", "Score sheet submitted."), "council")

