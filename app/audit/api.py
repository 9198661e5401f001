"""The audit area's API: whole-trail verification runs (auditors only). A run goes on in the background
(app/audit/jobs.py); starting one answers 202 with its status URL."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, url_for
from flask_login import current_user

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.audit.jobs import VerificationRun, latest_run, start_run
from app.audit.log import configured_public_key
from app.extensions import db_session
from app.proposals.schemas import VerifyRunOut

routes = Routes()


def _run_out(run: VerificationRun) -> dict[str, Any]:
    return VerifyRunOut(
        id=run.id, status_url=url_for("api.verify_run", run_id=run.id), running=run.running,
        finished=run.finished_at is not None, total=run.total, checked=run.checked, ok=run.ok,
        head_digest=run.head_digest, problems=list(run.problems or []), error=run.error).model_dump(mode="json")


@routes.post("/audit/verify")
@documented("Start recomputing every audit chain, checkpoint and data row in the background (or join the run "
            "going on); follow status_url (auditors only)", response=VerifyRunOut, status=202, errors=(401, 403),
            headers={"Location": "The run's status URL"})
@requires("auditor")
def start_verify() -> Any:
    run = start_run(db_session(), current_app.extensions["db_sessionmaker"], current_user.id,
                    configured_public_key())
    out = _run_out(run)
    return jsonify(out), 202, {"Location": out["status_url"]}


@routes.get("/audit/verify")
@documented("The latest verification run (auditors only; 404 before the first)", response=VerifyRunOut,
            errors=(401, 403, 404))
@requires("auditor")
def latest_verify() -> Any:
    run = latest_run(db_session())
    if run is None:
        abort(404)
    return jsonify(_run_out(run))


@routes.get("/audit/verify/<int:run_id>")
@documented("One verification run: its progress, then its result (auditors only)", response=VerifyRunOut,
            errors=(401, 403, 404))
@requires("auditor")
def verify_run(run_id: int) -> Any:
    run = db_session().get(VerificationRun, run_id)
    if run is None:
        abort(404)
    return jsonify(_run_out(run))
