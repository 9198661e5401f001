"""The funding API: the province's budget envelopes, the ranking against one, bulk funding decisions
(``approve_funding`` itself goes through ``POST /proposals/<id>/actions/approve_funding``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user

from app.access import requires
from app.api import errors as api_errors
from app.api.routes import Routes
from app.api.spec import documented
from app.common.stages_api import ALL_ERRORS, EnvelopeOut
from app.extensions import db_session
from app.funding import services as funding
from app.funding.schemas import BulkIn, BulkOut, EnvelopeIn, EnvelopeList, RankedOut, RankingOut
from app.models import BudgetEnvelope
from app.scoping import load_proposal, scope_clause
from app.statuses import kind_status
from workflow.errors import Conflict, InvalidInput, Refused, WorkflowError

routes = Routes()


def _province() -> str:
    return current_app.config["PROVINCE_CODE"]


def _envelope_out(envelope: BudgetEnvelope) -> EnvelopeOut:
    return EnvelopeOut.model_validate(envelope)


@routes.get("/envelopes")
@documented("The province's budget envelopes", response=EnvelopeList, errors=(401, 403))
@requires("funding_view")
def list_envelopes() -> Any:
    items = [_envelope_out(e) for e in funding.envelopes(db_session(), _province())]
    return jsonify(EnvelopeList(items=items).model_dump(mode="json"))


@routes.post("/envelopes")
@documented("Create a budget envelope for a (fund, year) (centre officer, director)", body=EnvelopeIn,
            response=EnvelopeOut, status=201, errors=(401, 403, 409, 422))
@requires("funding_manage")
def post_envelope() -> Any:
    payload = EnvelopeIn.model_validate_json(request.get_data() or b"{}")
    envelope = funding.create_envelope(db_session(), current_user, _province(), payload.model_dump(),
                                      request_id=g.request_id)
    response = jsonify(_envelope_out(envelope).model_dump(mode="json"))
    response.status_code = 201
    return response


def _envelope(envelope_id: int) -> BudgetEnvelope | None:
    envelope = db_session().get(BudgetEnvelope, envelope_id)
    return envelope if envelope is not None and envelope.province_code == _province() else None


@routes.get("/envelopes/<int:envelope_id>/ranking")
@documented("Appraised proposals of the envelope's year by score and priority, with the cumulative "
            "requested support against what is left", response=RankingOut, errors=(401, 403, 404))
@requires("funding_view")
def get_ranking(envelope_id: int) -> Any:
    envelope = _envelope(envelope_id)
    if envelope is None:
        return api_errors.error_response(404, api_errors.HTTP_MESSAGES[404])
    rows = funding.ranking(db_session(), scope_clause(current_user), envelope)
    items = [RankedOut(proposal_id=r.proposal.id, code=r.proposal.code, title=r.proposal.title,
                       state=r.proposal.wf_state, score=float(r.score) if r.score is not None else None,
                       priority=r.priority, requested=r.proposal.requested_support, cumulative=r.cumulative,
                       fits=r.fits) for r in rows]
    return jsonify(RankingOut(envelope=_envelope_out(envelope), items=items).model_dump(mode="json"))


@routes.post("/funding/decisions")
@documented("Fund a set of appraised proposals at their requested support from one envelope (director): all "
            "or nothing, one audit event each", body=BulkIn, response=BulkOut, errors=ALL_ERRORS)
@requires("funding_view")
def post_decisions() -> Any:
    payload = BulkIn.model_validate_json(request.get_data() or b"{}")
    session = db_session()
    envelope = _envelope(payload.envelope_id)
    if envelope is None:
        return api_errors.invalid("envelope_id", {"vi": "Không có dự toán này", "en": "No such budget envelope"})
    proposals = [load_proposal(session, current_user, pid) for pid in dict.fromkeys(payload.proposal_ids)]
    inputs = {"decision_number": payload.decision_number, "decision_date": payload.decision_date,
              "envelope_id": envelope.id}
    try:
        funding.bulk_approve(session, proposals, current_user.actor(), inputs, request_id=g.request_id)
    except funding.BulkRefused as exc:
        session.rollback()
        reasons = [r for code, error in exc.failures.items() for r in _failure_reasons(code, error)]
        return api_errors.error_response(kind_status(exc.kind), {
            "vi": "Không quyết định đề án nào: mọi đề án phải đủ điều kiện",
            "en": "Nothing was decided: every proposal must qualify"}, reasons)
    session.refresh(envelope)
    out = BulkOut(funded=[p.id for p in proposals], envelope=_envelope_out(envelope))
    return jsonify(out.model_dump(mode="json"))


def _failure_reasons(code: str, exc: WorkflowError) -> list[dict[str, str]]:
    """One proposal's failure in a bulk decision, each reason naming the proposal's code."""
    if isinstance(exc, Refused):
        return [api_errors.reason(r.code, r.message, f"{code}: {r.subject}") for r in exc.reasons]
    if isinstance(exc, InvalidInput):
        return [api_errors.reason("invalid", m, f"{code}: {name}") for name, m in exc.errors.items()]
    message = exc.message if isinstance(exc, Conflict) else {"vi": str(exc), "en": str(exc)}
    return [api_errors.reason("conflict", message, code)]
