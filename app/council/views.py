"""The appraisal council: a member's list and review page; assignment, recusal and score sheets."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import and_, exists, not_

from app.access import requires
from app.common.web import run_form, stage_view
from app.council import services as council
from app.extensions import db_session
from app.models import CouncilMember, Proposal
from app.models.stages import ScoreSheet
from app.paging import page_number, page_window
from app.scoping import load_proposal, visible_proposals
from app.security import request_id
from workflow.registry import default_registry

bp = Blueprint("council", __name__, url_prefix="/council", template_folder="templates")


@bp.app_template_global("hides_applicant")
def hides_applicant(proposal: Proposal) -> bool:
    """Blind review: the applicant's identity is hidden from council members (the proposal page uses it)."""
    return council.hides_applicant(proposal, current_user)


PER_PAGE = 25
SHOWS = {"open": ("Đang thẩm định", "Open"), "past": ("Đã qua", "Past")}


def council_states() -> list[str]:
    """The states in which some lifecycle runs an appraisal council."""
    return sorted({name for compiled in default_registry() for name, spec in compiled.states.items() if spec.council})


@bp.route("/")
@requires("council")
def index() -> Any:
    """The proposals the user appraises, open ones (council still running, not recused) or past ones, a page at
    a time; whether their sheet is in comes with the same query (no query per row)."""
    session = db_session()
    show = request.args.get("show", "open")
    show = show if show in SHOWS else "open"
    page = page_number(request.args.get("page"))
    running = and_(Proposal.wf_state.in_(council_states()), CouncilMember.recused.is_(False))
    scored = exists().where(ScoreSheet.member_id == CouncilMember.id)
    stmt = (visible_proposals(current_user, council_review=True).add_columns(CouncilMember, scored)
            .join(CouncilMember, CouncilMember.proposal_id == Proposal.id)
            .where(CouncilMember.user_id == current_user.id, running if show == "open" else not_(running))
            .order_by(*((Proposal.wf_entered_at, Proposal.id) if show == "open"
                        else (Proposal.wf_entered_at.desc(), Proposal.id.desc()))))
    rows = session.execute(page_window(stmt, page, PER_PAGE)).all()
    items = []
    for p, m, done in rows[:PER_PAGE]:
        _state, council_def = council.council_of(p)
        items.append({"proposal": p, "member": m, "scored": bool(done),
                      "blind": bool(council_def is not None and council_def.blind)})  # a seat: blind applies
    return render_template("council/index.html", items=items, show=show, shows=SHOWS, page=page,
                           has_next=len(rows) > PER_PAGE)


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
        ("Đã phân công thành viên hội đồng.", "Council member assigned."), "council", form_id="assign-form")


@bp.route("/proposals/<int:pid>/recusal", methods=["POST"])
@requires("council")
def recuse(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid, council_review=True)
    return run_form(proposal, lambda: council.recuse(
        db_session(), proposal, current_user.actor(), _form_inputs(), request_id=request_id()),
        ("Đã ghi nhận việc từ chối tham gia.", "Your recusal is recorded."), "council", form_id="recusal-form",
        page=lambda: review(pid))


@bp.route("/proposals/<int:pid>/sheets", methods=["POST"])
@requires("council")
def submit_sheet(pid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid, council_review=True)
    inputs = {**_form_inputs(), "not_eligible": request.form.get("not_eligible") or "false"}  # yes/no radios
    return run_form(proposal, lambda: council.submit_sheet(
        db_session(), proposal, current_user.actor(), inputs, request_id=request_id()),
        ("Đã nộp phiếu chấm điểm.", "Score sheet submitted."), "council", form_id="sheet-form",
        page=lambda: review(pid))

