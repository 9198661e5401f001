"""The audit area: read-only access for auditors to every proposal's history, the global log, chain
verification and CSV export. Nothing here changes a record (a verification run only notes its own progress in
``audit_verification``); auditors hold no write permission anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.audit.jobs import latest_run, start_run
from app.audit.log import (
    PER_PAGE,
    BadFilter,
    LogFilter,
    configured_public_key,
    csv_chunks,
    distinct_actions,
    usernames,
)
from app.extensions import db_session
from app.models import Proposal
from app.paging import bounded_count
from app.scoping import load_proposal
from workflow import audit
from workflow.registry import default_registry

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


def _filters() -> LogFilter:
    try:
        return LogFilter.parse(request.args)
    except BadFilter as exc:
        abort(400, str(exc))


def _csv(body: Iterator[str], filename: str) -> Response:
    return Response(stream_with_context(body), mimetype="text/csv", headers={
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
    return _csv(csv_chunks(session, _filters().statement(session)), "audit-log.csv")


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
    events = select(audit.AuditEvent).where(audit.AuditEvent.subject_type == Proposal.wf_type(),
                                            audit.AuditEvent.subject_id == proposal.wf_subject_id())
    return _csv(csv_chunks(session, events.order_by(audit.AuditEvent.seq)), f"{proposal.code}-history.csv")


@bp.get("/verify")
@requires("auditor")
def verify_page() -> Any:
    """The latest whole-trail verification run: its progress while it runs, then its result."""
    return render_template("audit/verify.html", run=latest_run(db_session()))


@bp.post("/verify")
@requires("auditor")
def start_verification() -> Any:
    """Start a run in the background (or join the one running): reading the trail, not changing records."""
    run = start_run(db_session(), current_app.extensions["db_sessionmaker"], current_user.id,
                    configured_public_key())
    return redirect(url_for("audit.verify_page", _anchor=f"run-{run.id}"), 303)
