"""Plan round pages: the province's rounds, opening one, and a round's page (plan list, transitions, the
People's Committee's decision file, the plan's envelope). Routes are thin: app.rounds.services does the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import PERMISSIONS, requires
from app.errors import error_response, workflow_reasons
from app.extensions import db_session
from app.funding import services as funding
from app.i18n import tr
from app.models import FUNDS, PlanRound
from app.paging import page_number
from app.rounds import services as rounds
from app.security import request_id
from app.statuses import status_of
from app.uploads import RejectedFile, discard, display_name, store
from app.webforms import correctable, rerender
from workflow.errors import WorkflowError
from workflow.registry import default_registry

bp = Blueprint("rounds", __name__, url_prefix="/rounds", template_folder="templates")


def _province() -> str:
    return current_app.config["PROVINCE_CODE"]


def _run(operation: Any, done: tuple[str, str], target: str, form_id: str = "",
         page: Callable[[], Any] | None = None) -> Any:
    """Run a service for a posted form: on to ``target`` on success. Bad values or an unmet guard: ``page``
    again with the typed values and the messages in place (422); otherwise the error page with its 4xx."""
    session = db_session()
    try:
        operation()
    except WorkflowError as exc:
        session.rollback()
        if page is not None and correctable(exc):
            return rerender(form_id, exc, page)
        return error_response(status_of(exc), reasons=workflow_reasons(exc))
    flash(tr(done), "success")
    return redirect(target, 303)


def _round(round_id: int) -> PlanRound | None:
    found = db_session().get(PlanRound, round_id)
    return found if found is not None and found.province_code == _province() else None


@bp.route("/", methods=["GET", "POST"])
@requires("funding_view")
def index() -> Any:
    session = db_session()
    if request.method == "POST":
        if not PERMISSIONS["funding_manage"](current_user):
            return error_response(403)
        opened: list[PlanRound] = []
        return _run(lambda: opened.append(rounds.open_round(session, current_user, _province(),
                                                            request.form.to_dict(), request_id=request_id())),
                    ("Đã mở đợt đăng ký.", "Round opened."), url_for("rounds.index"), "round-form", _index_page)
    return _index_page()


def _index_page() -> Any:
    session = db_session()
    page = page_number(request.args.get("page"))
    listed, has_next = rounds.rounds(session, _province(), page)
    return render_template("rounds/index.html", rounds=listed, has_next=has_next, funds=FUNDS,
                           may_open=PERMISSIONS["funding_manage"](current_user), page=page)


@bp.route("/<int:rid>")
@requires("funding_view")
def detail(rid: int) -> Any:
    plan_round = _round(rid)
    if plan_round is None:
        return error_response(404)
    session = db_session()
    compiled = default_registry().for_subject(plan_round)
    actions = compiled.allowed_actions(plan_round, current_user.actor(), session=session)
    return render_template("rounds/detail.html", r=plan_round, compiled=compiled, actions=actions,
                           plan=rounds.plan_list(session, plan_round), funds=FUNDS,
                           envelopes=[e for e in funding.envelopes(session, _province(), plan_round.plan_year)
                                      if e.round_id == plan_round.id],
                           may_manage=PERMISSIONS["funding_manage"](current_user))


@bp.route("/<int:rid>/plan", methods=["POST"])
@requires("funding_manage")
def compile_plan(rid: int) -> Any:
    plan_round = _round(rid)
    if plan_round is None:
        return error_response(404)
    return _run(lambda: rounds.compile_plan(db_session(), plan_round, current_user.actor(), request_id=request_id()),
                ("Đã tổng hợp danh mục kế hoạch.", "Plan list compiled."), url_for("rounds.detail", rid=rid))


@bp.route("/<int:rid>/decision-file", methods=["POST"])
@requires("funding_manage")
def decision_file(rid: int) -> Any:
    plan_round = _round(rid)
    if plan_round is None:
        return error_response(404)
    file = request.files.get("file")
    def refused(message: dict[str, str]) -> Any:
        return rerender("decision-file-form", None, lambda: detail(rid), errors={"file": [tr(message)]})

    if file is None or not file.filename:
        return refused({"vi": "Chưa chọn tệp", "en": "No file was sent"})
    try:
        stored, _mime, _size, digest = store(file.stream)
    except RejectedFile as exc:
        return refused(exc.message)

    def attach() -> None:
        try:
            rounds.attach_decision(db_session(), plan_round, current_user.actor(), stored,
                                   display_name(file.filename), digest, request_id=request_id())
        except BaseException:
            discard(stored)  # no row, no file
            raise

    return _run(attach, ("Đã đính kèm quyết định.", "Decision attached."), url_for("rounds.detail", rid=rid),
                "decision-file-form", lambda: detail(rid))


@bp.route("/<int:rid>/actions/<trigger>", methods=["POST"])
@requires("funding_manage")
def act(rid: int, trigger: str) -> Any:
    plan_round = _round(rid)
    if plan_round is None:
        return error_response(404)
    inputs = {k: v for k, v in request.form.items() if k not in ("csrf_token", "expected_version")}
    expected = request.form.get("expected_version", type=int)
    return _run(lambda: rounds.fire_round(db_session(), plan_round, trigger, current_user.actor(), inputs, expected,
                                          request_id=request_id()),
                ("Đã cập nhật đợt kế hoạch.", "Round updated."), url_for("rounds.detail", rid=rid),
                f"action-{trigger}", lambda: detail(rid))


@bp.route("/<int:rid>/envelopes", methods=["POST"])
@requires("funding_manage")
def envelope(rid: int) -> Any:
    plan_round = _round(rid)
    if plan_round is None:
        return error_response(404)
    inputs = {"round_id": plan_round.id, "amount": request.form.get("amount", "")}
    return _run(lambda: funding.create_envelope(db_session(), current_user, _province(), inputs),
                ("Đã tạo dự toán của kế hoạch.", "Plan envelope created."), url_for("rounds.detail", rid=rid),
                "round-envelope-form", lambda: detail(rid))
