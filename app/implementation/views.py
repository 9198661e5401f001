"""Implementation forms on the proposal page: progress, advances, change requests and their decision,
evaluation indicators. Transitions (contract, acceptance, settlement, evaluation) use the generic action forms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from app.access import requires
from app.common.web import run_form, stage_view
from app.extensions import db_session
from app.implementation import evaluation
from app.implementation import services as implementation
from app.rounds import priority
from app.scoping import load_proposal
from app.security import request_id

bp = Blueprint("implementation", __name__, url_prefix="/implementation")
bp.add_app_template_global(stage_view, "stage_view")


def _post(pid: int, service: Any, done: tuple[str, str], *args: Any) -> Any:
    proposal = load_proposal(db_session(), current_user, pid)
    return run_form(proposal, lambda: service(db_session(), proposal, current_user.actor(), *args,
                                              request.form.to_dict(), request_id=request_id()), done)


@bp.route("/<int:pid>/progress", methods=["POST"])
@requires("logged_in")
def progress(pid: int) -> Any:
    return _post(pid, implementation.report_progress, ("Đã gửi báo cáo tiến độ.", "Progress report sent."))


@bp.route("/<int:pid>/advances", methods=["POST"])
@requires("logged_in")
def advance(pid: int) -> Any:
    return _post(pid, implementation.record_advance, ("Đã ghi nhận tạm ứng.", "Advance recorded."))


@bp.route("/<int:pid>/changes", methods=["POST"])
@requires("logged_in")
def request_change(pid: int) -> Any:
    return _post(pid, implementation.request_change, ("Đã gửi đề nghị điều chỉnh.", "Change request sent."))


@bp.route("/<int:pid>/changes/<int:cid>/decision", methods=["POST"])
@requires("logged_in")
def decide_change(pid: int, cid: int) -> Any:
    return _post(pid, implementation.decide_change, ("Đã quyết định đề nghị điều chỉnh.", "Change request decided."),
                 cid)


@bp.route("/<int:pid>/indicators", methods=["POST"])
@requires("logged_in")
def indicator(pid: int) -> Any:
    return _post(pid, evaluation.record_indicator, ("Đã ghi nhận chỉ số.", "Indicator recorded."))


@bp.route("/<int:pid>/priority", methods=["POST"])
@requires("logged_in")
def confirm_priority(pid: int) -> Any:
    # Checkboxes follow hidden "false" fields: the last value sent for a name wins.
    proposal = load_proposal(db_session(), current_user, pid)
    flags = {name: request.form.getlist(name)[-1] if request.form.getlist(name) else None
             for name in ("priority_region", "priority_sector")}
    return run_form(proposal, lambda: priority.confirm_priority(db_session(), proposal, current_user.actor(), flags,
                                                                request_id=request_id()),
                    ("Đã xác nhận đối tượng ưu tiên.", "Priority flags confirmed."))


@bp.route("/<int:pid>/progress/<int:rid>/confirm", methods=["POST"])
@requires("logged_in")
def confirm_progress(pid: int, rid: int) -> Any:
    proposal = load_proposal(db_session(), current_user, pid)
    return run_form(proposal, lambda: implementation.confirm_progress(db_session(), proposal, current_user.actor(),
                                                                      rid, request_id=request_id()),
                    ("Đã xác nhận báo cáo tiến độ.", "Progress report confirmed."))
