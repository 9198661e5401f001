"""Budget envelopes, the ranking of appraised proposals against an envelope, and bulk funding decisions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import PERMISSIONS, requires
from app.common.web import state_titles
from app.errors import error_response, workflow_reasons
from app.extensions import db_session
from app.funding import services as funding
from app.i18n import tr
from app.models import BudgetEnvelope
from app.scoping import scope_clause
from app.security import request_id
from app.statuses import kind_status, status_of
from app.webforms import correctable, rerender
from workflow.errors import InvalidInput, WorkflowError

bp = Blueprint("funding", __name__, url_prefix="/funding", template_folder="templates")


def may_manage() -> bool:
    return PERMISSIONS["funding_manage"](current_user)


def _province() -> str:
    return current_app.config["PROVINCE_CODE"]


@bp.route("/envelopes", methods=["GET", "POST"])
@requires("funding_view")
def envelopes() -> Any:
    session = db_session()
    if request.method == "POST":
        if not may_manage():
            return error_response(403)
        try:
            envelope = funding.create_envelope(session, current_user, _province(), request.form.to_dict(),
                                              request_id=request_id())
        except WorkflowError as exc:
            session.rollback()
            if correctable(exc):
                return rerender("envelope-form", exc, _envelopes_page)
            return error_response(status_of(exc), reasons=workflow_reasons(exc))
        flash(tr((f"Đã tạo dự toán {envelope.label}.", f"Envelope {envelope.label} created.")), "success")
        return redirect(url_for("funding.envelopes"), 303)
    return _envelopes_page()


def _envelopes_page() -> Any:
    session = db_session()
    return render_template("funding/envelopes.html", envelopes=funding.envelopes(session, _province()),
                           may_create=may_manage())


@bp.route("/envelopes/<int:eid>", methods=["GET", "POST"])
@requires("funding_view")
def ranking(eid: int) -> Any:
    """The appraised proposals by score and priority with their running total; the director's bulk decision."""
    session = db_session()
    envelope = session.get(BudgetEnvelope, eid)
    if envelope is None or envelope.province_code != _province():
        return error_response(404)
    if request.method == "POST":
        return _bulk(envelope)
    return _ranking_page(envelope)


def _ranking_page(envelope: BudgetEnvelope) -> Any:
    session = db_session()
    rows = funding.ranking(session, scope_clause(current_user), envelope)
    return render_template("funding/ranking.html", envelope=envelope, rows=rows,
                           may_decide="director" in current_user.roles, states=state_titles())


def _bulk(envelope: BudgetEnvelope) -> Any:
    session = db_session()
    ids = {int(i) for i in request.form.getlist("proposal_id") if i.isdigit()}
    ranked = funding.ranking(session, scope_clause(current_user), envelope)
    chosen = [r.proposal for r in ranked if r.proposal.id in ids]  # in ranking order, in scope
    inputs = {"decision_number": request.form.get("decision_number", ""),
              "decision_date": request.form.get("decision_date", ""), "envelope_id": envelope.id}
    try:
        events = funding.bulk_approve(session, chosen, current_user.actor(), inputs, request_id=request_id())
    except funding.BulkRefused as exc:
        session.rollback()
        reasons = [f"{code}: {'; '.join(workflow_reasons(error))}" for code, error in exc.failures.items()]
        if exc.kind in ("guard", "invalid"):  # fixable here: the choice, the number or the date
            fields: dict[str, list[str]] = {}
            for error in exc.failures.values():
                for name, message in (error.errors if isinstance(error, InvalidInput) else {}).items():
                    fields.setdefault(name, [tr(message)])
            return rerender("bulk-form", None, lambda: _ranking_page(envelope), errors=fields,
                            general=[tr(("Không quyết định đề án nào: mọi đề án được chọn phải đủ điều kiện.",
                                         "Nothing was decided: every selected proposal must qualify.")), *reasons])
        return error_response(kind_status(exc.kind), tr(("Không quyết định đề án nào: mọi đề án được chọn phải đủ điều kiện.",
                                       "Nothing was decided: every selected proposal must qualify.")), reasons)
    except WorkflowError as exc:
        session.rollback()
        if correctable(exc):
            return rerender("bulk-form", exc, lambda: _ranking_page(envelope))
        return error_response(status_of(exc), reasons=workflow_reasons(exc))
    flash(tr((f"Đã giao kinh phí cho {len(events)} đề án.", f"{len(events)} proposals funded.")), "success")
    return redirect(url_for("funding.ranking", eid=envelope.id), 303)

