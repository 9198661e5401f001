"""The audit area: read-only access for auditors to every proposal's history, the global log, chain
verification and CSV export. Nothing here writes; auditors hold no write permission anywhere."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from app.access import requires
from app.audit.log import PER_PAGE, BadFilter, LogFilter, distinct_actions, to_csv, usernames, verify
from app.extensions import db_session
from app.models import Proposal
from app.paging import bounded_count
from app.scoping import load_proposal
from workflow import audit
from workflow.registry import default_registry

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filters() -> LogFilter:
    try:
        return LogFilter.parse(request.args)
    except BadFilter as exc:
        abort(400, str(exc))


def _csv(body: str, filename: str) -> Response:
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.get("/")
@requires("auditor")
def index() -> Any:
    filters = _filters()
    session = db_session()
    count = bounded_count(session, filters.statement(session))
    events, next_before = filters.page_of(session)
    return render_template("audit/log.html", events=events, filters=filters, total=count.value, exact=count.exact,
                           pages=count.pages(PER_PAGE), next_before=next_before,
                           names=usernames(session, events), actions=distinct_actions(session),
                           outcomes=audit.OUTCOMES)


@bp.get("/export.csv")
@requires("auditor")
def log_csv() -> Any:
    session = db_session()
    events = list(session.scalars(_filters().statement(session)))
    return _csv(to_csv(session, events), "audit-log.csv")


@bp.get("/proposals/<int:proposal_id>")
@requires("auditor")
def proposal_history(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    events = audit.events_for(session, Proposal.wf_type(), proposal.wf_subject_id())
    compiled = default_registry().for_subject(proposal)
    return render_template("audit/history.html", proposal=proposal, events=events, compiled=compiled,
                           names=usernames(session, events))


@bp.get("/proposals/<int:proposal_id>/history.csv")
@requires("auditor")
def proposal_history_csv(proposal_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    events = audit.events_for(session, Proposal.wf_type(), proposal.wf_subject_id())
    return _csv(to_csv(session, events), f"{proposal.code}-history.csv")


@bp.get("/verify")
@requires("auditor")
def verify_page() -> Any:
    return render_template("audit/verify.html", result=verify(db_session()))
