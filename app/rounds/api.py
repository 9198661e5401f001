"""API endpoints of the 2026 programme: plan rounds (open, plan list, decision file, transitions, envelopes),
the officer's confirmation of priority flags and of progress reports.

Same contract as the rest of the API: strict JSON bodies, errors ``{error, reasons[]}`` with 403/404/409/422.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user

from app.access import requires
from app.api import errors as api_errors
from app.api.errors import api_lang
from app.api.routes import Routes
from app.api.spec import documented
from app.common.stages_api import ALL_ERRORS, EnvelopeOut, StagesOut, answer, operate
from app.extensions import db_session
from app.funding import services as funding
from app.implementation import services as implementation
from app.models import CATEGORIES, PlanRound
from app.paging import page_number
from app.rounds import priority
from app.rounds import services as rounds
from app.rounds.schemas import (
    DECISION_UPLOAD,
    PlanGroupOut,
    PlanLineOut,
    PriorityIn,
    ProgressConfirmIn,
    RoundActionIn,
    RoundDetail,
    RoundEnvelopeIn,
    RoundIn,
    RoundList,
    RoundOut,
)
from app.scoping import load_proposal
from app.uploads import RejectedFile, discard, display_name, store
from workflow.registry import default_registry

routes = Routes()


def _province() -> str:
    return current_app.config["PROVINCE_CODE"]


def _round(round_id: int) -> PlanRound | None:
    found = db_session().get(PlanRound, round_id)
    return found if found is not None and found.province_code == _province() else None


def _round_fields(r: PlanRound) -> dict[str, Any]:
    compiled = default_registry().for_subject(r)
    actions = [a.trigger for a in compiled.allowed_actions(r, current_user.actor(), session=db_session())]
    return {"id": r.id, "fund": r.fund, "plan_year": r.plan_year, "opens_on": r.opens_on, "closes_on": r.closes_on,
            "state": r.wf_state, "state_title": compiled.title_of(r.wf_state, api_lang()), "version": r.wf_version,
            "plan_total": r.plan_total, "decision_number": r.decision_number, "decision_date": r.decision_date,
            "approved_total": r.approved_total, "decision_file_name": r.decision_file_name,
            "decision_file_sha256": r.decision_file_sha256, "allowed_actions": actions}


def _detail(r: PlanRound, status: int = 200) -> Any:
    plan = rounds.plan_list(db_session(), r)
    lang = api_lang()
    groups = [PlanGroupOut(category=g.category, title=CATEGORIES[g.category][0 if lang == "vi" else 1], total=g.total,
                           lines=[PlanLineOut(rank=line.rank, proposal_id=line.proposal.id, code=line.proposal.code,
                                              title=line.proposal.title, state=line.proposal.wf_state,
                                              score=float(line.score) if line.score is not None else None,
                                              priority_region=line.proposal.priority_region,
                                              priority_sector=line.proposal.priority_sector,
                                              requested=line.proposal.requested_support) for line in g.lines])
              for g in plan.groups]
    response = jsonify(RoundDetail(**_round_fields(r), plan=groups, plan_count=plan.count).model_dump(mode="json"))
    response.status_code = status
    return response


def _not_found() -> Any:
    return api_errors.error_response(404, api_errors.HTTP_MESSAGES[404])


# --- routes ---------------------------------------------------------------------------------------------------

@routes.get("/rounds")
@documented("The province's plan rounds (fund x plan year), newest first", response=RoundList, errors=(401, 403))
@requires("funding_view")
def list_rounds() -> Any:
    listed, _more = rounds.rounds(db_session(), _province(), page_number(request.args.get("page")))
    items = [RoundOut(**_round_fields(r)) for r in listed]
    return jsonify(RoundList(items=items).model_dump(mode="json"))


@routes.post("/rounds")
@documented("Open a plan round with its registration window (centre officer, director)", body=RoundIn,
            response=RoundDetail, status=201, errors=(401, 403, 409, 422))
@requires("funding_manage")
def post_round() -> Any:
    payload = RoundIn.model_validate_json(request.get_data() or b"{}")
    plan_round = rounds.open_round(db_session(), current_user, _province(), payload.model_dump(),
                                   request_id=g.request_id)
    return _detail(plan_round, 201)


@routes.get("/rounds/<int:round_id>")
@documented("A plan round with its plan list: ranked for allocation, grouped by activity, with totals",
            response=RoundDetail, errors=(401, 403, 404))
@requires("funding_view")
def get_round(round_id: int) -> Any:
    plan_round = _round(round_id)
    return _not_found() if plan_round is None else _detail(plan_round)


@routes.post("/rounds/<int:round_id>/plan")
@documented("Compile the plan list: record its total on the round (centre officer, while compiling)",
            response=RoundDetail, errors=ALL_ERRORS)
@requires("funding_manage")
def post_plan(round_id: int) -> Any:
    plan_round = _round(round_id)
    if plan_round is None:
        return _not_found()
    rounds.compile_plan(db_session(), plan_round, current_user.actor(), request_id=g.request_id)
    return _detail(plan_round)


@routes.post("/rounds/<int:round_id>/decision-file")
@documented("Attach the People's Committee's signed decision (PDF, JPEG, PNG, DOCX or XLSX) while submitted",
            multipart=DECISION_UPLOAD, response=RoundDetail, errors=(401, 403, 404, 409, 413, 422))
@requires("funding_manage")
def post_decision_file(round_id: int) -> Any:
    plan_round = _round(round_id)
    if plan_round is None:
        return _not_found()
    file = request.files.get("file")
    if file is None:
        return api_errors.invalid("file", {"vi": "Chưa chọn tệp", "en": "No file was sent"})
    try:
        stored, _mime, _size, digest = store(file.stream)
    except RejectedFile as exc:
        return api_errors.invalid("file", exc.message)
    try:
        rounds.attach_decision(db_session(), plan_round, current_user.actor(), stored, display_name(file.filename),
                               digest, request_id=g.request_id)
    except BaseException:
        discard(stored)  # no row, no file
        raise
    return _detail(plan_round)


@routes.post("/rounds/<int:round_id>/actions/<action>")
@documented("Fire a round transition (close_registration, submit_plan, return_plan, record_approval, "
            "close_round, cancel_round)", body=RoundActionIn, response=RoundDetail, errors=ALL_ERRORS)
@requires("funding_manage")
def post_round_action(round_id: int, action: str) -> Any:
    plan_round = _round(round_id)
    if plan_round is None:
        return _not_found()
    payload = RoundActionIn.model_validate_json(request.get_data() or b"{}").model_dump(exclude_none=True)
    expected_version = payload.pop("expected_version", None)
    rounds.fire_round(db_session(), plan_round, action, current_user.actor(), payload, expected_version,
                      request_id=g.request_id)
    return _detail(plan_round)


@routes.post("/rounds/<int:round_id>/envelopes")
@documented("Create the budget envelope of an approved plan (centre officer, director); it carries the plan's "
            "fund, year and decision", body=RoundEnvelopeIn, response=EnvelopeOut, status=201,
            errors=(401, 403, 404, 409, 422))
@requires("funding_manage")
def post_round_envelope(round_id: int) -> Any:
    plan_round = _round(round_id)
    if plan_round is None:
        return _not_found()
    payload = RoundEnvelopeIn.model_validate_json(request.get_data() or b"{}")
    envelope = funding.create_envelope(db_session(), current_user, _province(),
                                       {"round_id": plan_round.id, "amount": payload.amount})
    response = jsonify(EnvelopeOut.model_validate(envelope).model_dump(mode="json"))
    response.status_code = 201
    return response


@routes.post("/proposals/<int:proposal_id>/priority")
@documented("Confirm or correct the applicant's priority flags (centre officer, before the appraisal "
            "concludes); audited with the applicant's claim", body=PriorityIn, response=StagesOut,
            errors=ALL_ERRORS)
@requires("logged_in")
def post_priority(proposal_id: int) -> Any:
    return operate(proposal_id, PriorityIn, priority.confirm_priority, action="confirm_priority")


@routes.post("/proposals/<int:proposal_id>/progress/<int:report_id>/confirm")
@documented("Confirm a progress report (centre officer): only confirmed progress counts for advances",
            body=ProgressConfirmIn, response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_progress_confirmation(proposal_id: int, report_id: int) -> Any:
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    payload = ProgressConfirmIn.model_validate_json(request.get_data() or b"{}")
    implementation.confirm_progress(session, proposal, current_user.actor(), report_id,
                                    expected_version=payload.expected_version, request_id=g.request_id)
    return answer(proposal)
