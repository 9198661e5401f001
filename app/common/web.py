"""What the stage pages share: the proposal-page summary and running a posted form through a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from app.clock import today
from app.common import caps
from app.common.rules import may
from app.council import services as council
from app.errors import error_response, workflow_reasons
from app.extensions import db_session
from app.funding import services as funding
from app.i18n import lang, tr
from app.implementation import evaluation
from app.implementation import services as implementation
from app.models import Advance, ChangeRequest, ProgressReport, User
from app.statuses import status_of
from app.webforms import correctable, rerender
from workflow.errors import WorkflowError
from workflow.registry import default_registry

STAGE_ACTIONS = ("assign_council_member", "report_progress", "record_advance", "request_change", "approve_change",
                 "record_indicator", "confirm_priority", "confirm_progress")  # the forms the proposal page offers
ACTION_TITLES: dict[str, tuple[str, str]] = {
    "assign_council_member": ("Phân công thành viên hội đồng", "Council member assigned"),
    "recuse": ("Từ chối tham gia hội đồng", "Recused from the council"),
    "declare_conflict": ("Khai báo xung đột lợi ích", "Conflict of interest declared"),
    "submit_score_sheet": ("Nộp phiếu chấm điểm", "Score sheet submitted"),
    "replace_score_sheet": ("Thay phiếu chấm điểm (phiên bản mới)", "Score sheet replaced (new version)"),
    "report_progress": ("Báo cáo tiến độ", "Progress reported"),
    "record_advance": ("Tạm ứng kinh phí", "Advance paid"),
    "request_change": ("Đề nghị điều chỉnh", "Change requested"),
    "approve_change": ("Duyệt điều chỉnh", "Change approved"),
    "reject_change": ("Không duyệt điều chỉnh", "Change rejected"),
    "record_indicator": ("Ghi nhận chỉ số đánh giá", "Indicator recorded"),
    "confirm_priority": ("Xác nhận đối tượng ưu tiên", "Priority flags confirmed"),
    "confirm_progress": ("Xác nhận báo cáo tiến độ", "Progress report confirmed"),
    "compile_plan": ("Tổng hợp danh mục kế hoạch", "Plan list compiled"),
    "attach_decision": ("Đính kèm quyết định phê duyệt", "Approval decision attached"),
    "attach_acceptance_record": ("Thêm hồ sơ nghiệm thu", "Acceptance record added"),
    "repin": ("Ghim hồ sơ vào bản định nghĩa đã sửa", "Subjects re-pinned to the amended definition"),
}




def proposal_page(pid: int) -> Any:
    # through Flask's table: this shared module may not import an area's views
    return current_app.view_functions["proposals.detail"](pid=pid)


def run_form(proposal: Any, operation: Callable[[], Any], done: tuple[str, str], anchor: str = "stages",
             form_id: str = "", page: Callable[[], Any] | None = None) -> Any:
    """Run a service for a posted form: back to the proposal page on success. Bad values or an unmet guard:
    the page the form is on (``page``, else the proposal page) again, with the typed values and the messages
    in place, 422. Permission, state, conflict: the error page with its 4xx. Nothing is stored on failure."""
    session = db_session()
    pid = proposal.id
    try:
        operation()
    except WorkflowError as exc:
        session.rollback()
        if correctable(exc):
            return rerender(form_id, exc, page or (lambda: proposal_page(pid)))
        return error_response(status_of(exc), reasons=workflow_reasons(exc))
    flash(tr(done), "success")
    return redirect(url_for("proposals.detail", pid=proposal.id, _anchor=anchor), 303)


def stage_view(proposal: Any) -> dict[str, Any]:
    """Everything the proposal page's stage panels show, for the logged-in user."""
    session = db_session()
    user = current_user
    actor = user.actor()
    state, council_def = council.council_of(proposal)
    result = council.council_result(session, proposal) if council_def else None
    fund = funding.funding_of(session, proposal.id)
    members = []
    if council_def and proposal.wf_state == state and may(proposal, actor, "assign_council_member"):
        assigned = {r["member"].user_id for r in (result.rows if result else [])}
        candidates = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.full_name))
        members = [u for u in candidates
                   if council.MEMBER_ROLE in u.roles and u.id not in assigned and not council.conflict_with(u, proposal)]
    values = evaluation.indicator_values(session, proposal.id)
    return {
        "can": {a: may(proposal, actor, a) for a in STAGE_ACTIONS},
        "council": council_def, "council_state": state, "result": result,
        "sheets_visible": council.may_see_sheets(session, proposal, user),
        "member_names_hidden": council.hides_member_names(session, proposal, user),
        "my_membership": council.membership(session, proposal.id, user.id),
        "candidates": members,
        "cap": caps.proposal_cap(proposal),
        "funding": fund,
        "advanced": implementation.advanced_total(session, proposal.id),
        "advance_limit": implementation.advance_limit(fund) if fund else None,
        "progress": list(session.scalars(select(ProgressReport).where(ProgressReport.proposal_id == proposal.id)
                                         .order_by(ProgressReport.period))),
        "progress_percent": implementation.progress_percent(session, proposal.id),
        "advances": list(session.scalars(select(Advance).where(Advance.proposal_id == proposal.id)
                                         .order_by(Advance.paid_on, Advance.id))),
        "changes": list(session.scalars(select(ChangeRequest).where(ChangeRequest.proposal_id == proposal.id)
                                        .order_by(ChangeRequest.id))),
        "change_kinds": implementation.CHANGE_KINDS,
        "indicators": [(i, values.get(i.key)) for i in evaluation.declared_indicators(proposal)],
        "acceptance_required": implementation.acceptance_kinds_required(proposal),
        "settlement_due": implementation.settlement_due(proposal, fund),
        "today": today(),
        "recusal_kinds": council.RECUSAL_KINDS,
    }


def state_titles() -> dict[str, str]:
    titles: dict[str, str] = {}
    for compiled in default_registry():
        for state in compiled.states:
            titles.setdefault(state, compiled.title_of(state, lang()))
    return titles
