"""API endpoints of the later stages: council, budget envelopes and funding, implementation, evaluation.

Same contract as the rest of the API: JSON bodies validated strictly (amounts are JSON integers in VND), errors
``{error, reasons[]}`` with 403/404/409/422. The transitions themselves (approve_funding, sign_contract, accept,
settle, evaluate, terminate) go through ``POST /proposals/<id>/actions/<trigger>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from flask import current_app, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from app.access import requires
from app.api import bp
from app.api import errors as api_errors
from app.api.schemas import STRICT_INPUT, BigInt, ExpectedVersion, IsoDate, LongText, Money, RowId, text
from app.api.spec import documented
from app.extensions import db_session
from app.models import BudgetEnvelope
from app.scoping import load_proposal, scope_clause
from app.stages import council, evaluation, funding, implementation
from app.stages.web import stage_view
from app.statuses import kind_status
from workflow.errors import Conflict, InvalidInput, Refused, WorkflowError

ALL_ERRORS = (401, 403, 404, 409, 422)


# --- payloads -------------------------------------------------------------------------------------------------

class MemberIn(BaseModel):
    model_config = STRICT_INPUT
    user_id: RowId
    expected_version: ExpectedVersion = None


class RecusalIn(BaseModel):
    model_config = STRICT_INPUT
    kind: Literal["conflict", "recusal"]
    reason: Annotated[LongText, Field(min_length=1)]
    expected_version: ExpectedVersion = None


class SheetIn(BaseModel):
    model_config = STRICT_INPUT
    points: dict[str, StrictInt] = Field(description="criterion key -> points (0..the criterion's max_points)")
    comment: LongText = ""
    not_eligible: StrictBool = False
    expected_version: ExpectedVersion = None


class ProgressIn(BaseModel):
    model_config = STRICT_INPUT
    percent: Annotated[StrictInt, Field(ge=0, le=100)]
    period: Annotated[StrictStr, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    note: LongText = ""
    expected_version: ExpectedVersion = None


class AdvanceIn(BaseModel):
    model_config = STRICT_INPUT
    amount: Money
    paid_on: IsoDate | None = None
    note: LongText = ""
    expected_version: ExpectedVersion = None


class ChangeIn(BaseModel):
    model_config = STRICT_INPUT
    kind: Literal["amount", "content", "extension"]
    value: Money | LongText = Field(description="amount: integer VND; content: text; extension: YYYY-MM-DD")
    reason: Annotated[LongText, Field(min_length=1)]
    expected_version: ExpectedVersion = None


class ChangeDecisionIn(BaseModel):
    model_config = STRICT_INPUT
    approve: StrictBool
    comment: LongText = ""
    expected_version: ExpectedVersion = None


class IndicatorIn(BaseModel):
    model_config = STRICT_INPUT
    key: StrictStr
    target: StrictBool | BigInt | None = None
    actual: StrictBool | BigInt | None = None
    expected_version: ExpectedVersion = None


class EnvelopeIn(BaseModel):
    model_config = STRICT_INPUT
    fund: text(200, min_length=1)  # type: ignore[valid-type]
    year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    amount: Annotated[Money, Field(ge=1)]


class BulkIn(BaseModel):
    model_config = STRICT_INPUT
    envelope_id: RowId
    proposal_ids: Annotated[list[RowId], Field(min_length=1)]
    decision_number: text(255, min_length=1)  # type: ignore[valid-type]
    decision_date: IsoDate


# --- answers --------------------------------------------------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EnvelopeOut(_Out):
    id: int
    fund: str
    year: int
    amount: int
    committed: int
    remaining: int


class EnvelopeList(BaseModel):
    items: list[EnvelopeOut]


class SheetOut(BaseModel):
    version: int
    points: dict[str, int] | None = Field(description="null until the caller may see others' sheets")
    score: float | None
    comment: str | None
    not_eligible: bool | None


class MemberOut(BaseModel):
    user_id: int | None = Field(description="null for the applicant while appraisal runs")
    name: str | None = Field(description="null for the applicant while appraisal runs")
    recused: bool
    recusal_kind: str | None
    sheet: SheetOut | None


class CouncilOut(BaseModel):
    pass_mark: int
    min_members: int
    assigned: int
    members_without_conflict: int
    submitted: int
    average: float | None
    bonus: int
    vetoed: bool
    members: list[MemberOut]


class ProgressOut(_Out):
    id: int
    confirmed_at: dt.datetime | None = Field(description="null until the Centre confirms it; only then it counts")
    period: str
    percent: int
    note: str


class AdvanceOut(_Out):
    amount: int
    paid_on: dt.date
    note: str


class ChangeOut(_Out):
    id: int
    kind: str
    new_value: str
    old_value: str | None
    reason: str
    status: str


class IndicatorOut(BaseModel):
    key: str
    kind: str
    target: int | None
    actual: int | None


class MoneyOut(BaseModel):
    requested: int
    cap: int | None
    approved: int | None
    advanced: int
    advance_limit: int | None
    disbursed_total: int | None
    refund_amount: int | None
    envelope: EnvelopeOut | None
    decision_number: str | None
    decision_date: dt.date | None
    contract_number: str | None
    contract_date: dt.date | None
    end_date: dt.date | None
    terms_version: int | None
    settlement_due: dt.date | None
    evaluation_score: int | None


class StagesOut(BaseModel):
    proposal_id: int
    state: str
    version: int
    money: MoneyOut
    council: CouncilOut | None
    progress_percent: int
    progress: list[ProgressOut]
    advances: list[AdvanceOut]
    changes: list[ChangeOut]
    indicators: list[IndicatorOut]
    acceptance_required: list[str]


class RankedOut(BaseModel):
    proposal_id: int
    code: str
    title: str
    state: str
    score: float | None
    priority: bool
    requested: int
    cumulative: int
    fits: bool


class RankingOut(BaseModel):
    envelope: EnvelopeOut
    items: list[RankedOut]


class BulkOut(BaseModel):
    funded: list[int]
    envelope: EnvelopeOut


def _stages_out(proposal: Any) -> StagesOut:
    s = stage_view(proposal)
    fund = s["funding"]
    result = s["result"]
    council_out = None
    if s["council"] is not None and result is not None:
        shown = s["sheets_visible"]
        anonymous = s["member_names_hidden"]
        members = [MemberOut(
            user_id=None if anonymous else r["member"].user_id,
            name=None if anonymous else r["member"].user.full_name or r["member"].user.username,
            recused=r["member"].recused, recusal_kind=r["member"].recusal_kind,
            sheet=None if r["sheet"] is None else SheetOut(
                version=r["sheet"].version, points=r["sheet"].points if shown else None,
                score=float(r["score"]) if shown else None, comment=r["sheet"].comment if shown else None,
                not_eligible=r["sheet"].not_eligible if shown else None))
            for r in result.rows]
        council_out = CouncilOut(
            pass_mark=s["council"].pass_mark, min_members=s["council"].min_members, assigned=result.assigned,
            members_without_conflict=result.members, submitted=result.submitted,
            average=float(result.average) if result.average is not None else None, bonus=result.bonus,
            vetoed=result.vetoed, members=members)
    money = MoneyOut(
        requested=proposal.requested_support, cap=s["cap"], approved=fund.approved_amount if fund else None,
        advanced=s["advanced"], advance_limit=s["advance_limit"],
        disbursed_total=fund.disbursed_total if fund else None, refund_amount=fund.refund_amount if fund else None,
        envelope=EnvelopeOut.model_validate(fund.envelope) if fund else None,
        decision_number=fund.decision_number if fund else None, decision_date=fund.decision_date if fund else None,
        contract_number=fund.contract_number if fund else None, contract_date=fund.contract_date if fund else None,
        end_date=fund.end_date if fund else None, terms_version=fund.terms_version if fund else None,
        settlement_due=s["settlement_due"], evaluation_score=fund.evaluation_score if fund else None)
    return StagesOut(
        proposal_id=proposal.id, state=proposal.wf_state, version=proposal.wf_version, money=money,
        council=council_out, progress_percent=s["progress_percent"],
        progress=[ProgressOut.model_validate(p) for p in s["progress"]],
        advances=[AdvanceOut.model_validate(a) for a in s["advances"]],
        changes=[ChangeOut.model_validate(c) for c in s["changes"]],
        indicators=[IndicatorOut(key=i.key, kind=i.kind, target=v.target if v else None,
                                 actual=v.actual if v else None) for i, v in s["indicators"]],
        acceptance_required=s["acceptance_required"])


def _answer(proposal: Any) -> Any:
    return jsonify(_stages_out(proposal).model_dump(mode="json"))


def _operate(proposal_id: int, model: type[BaseModel], service: Callable[..., Any], *args: Any) -> Any:
    """Validate the body, run the stage service under the caller, answer with the stage summary."""
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    payload = model.model_validate_json(request.get_data() or b"{}").model_dump(exclude_none=True)
    expected_version = payload.pop("expected_version", None)
    service(session, proposal, current_user.actor(), *args, payload, expected_version=expected_version,
            request_id=g.request_id)
    return _answer(proposal)


# --- routes ---------------------------------------------------------------------------------------------------

@bp.get("/proposals/<int:proposal_id>/stages")
@documented("The later stages of a proposal: money, council (sheets hidden until the caller's own is in), "
            "progress, advances, changes, indicators", response=StagesOut)
@requires("logged_in")
def get_stages(proposal_id: int) -> Any:
    return _answer(load_proposal(db_session(), current_user, proposal_id))


@bp.post("/proposals/<int:proposal_id>/council/members")
@documented("Assign a council member (centre officer; refused for a member from the applicant's own "
            "organisation or district)", body=MemberIn, response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_member(proposal_id: int) -> Any:
    return _operate(proposal_id, MemberIn, council.assign_member)


@bp.post("/proposals/<int:proposal_id>/council/recusal")
@documented("Recuse yourself or declare a conflict of interest (council member)", body=RecusalIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_recusal(proposal_id: int) -> Any:
    return _operate(proposal_id, RecusalIn, council.recuse)


@bp.post("/proposals/<int:proposal_id>/council/sheets")
@documented("Submit your score sheet; a second one is a new version (council member)", body=SheetIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_sheet(proposal_id: int) -> Any:
    return _operate(proposal_id, SheetIn, council.submit_sheet)


@bp.post("/proposals/<int:proposal_id>/progress")
@documented("Monthly progress report (applicant, while implementing)", body=ProgressIn, response=StagesOut,
            errors=ALL_ERRORS)
@requires("logged_in")
def post_progress(proposal_id: int) -> Any:
    return _operate(proposal_id, ProgressIn, implementation.report_progress)


@bp.post("/proposals/<int:proposal_id>/advances")
@documented("Record an advance (centre officer): together at most 70 % of the approved support; machinery "
            "only above 70 % progress", body=AdvanceIn, response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_advance(proposal_id: int) -> Any:
    return _operate(proposal_id, AdvanceIn, implementation.record_advance)


@bp.post("/proposals/<int:proposal_id>/changes")
@documented("Request a change of amount, content or end date", body=ChangeIn, response=StagesOut,
            errors=ALL_ERRORS)
@requires("logged_in")
def post_change(proposal_id: int) -> Any:
    return _operate(proposal_id, ChangeIn, implementation.request_change)


@bp.post("/proposals/<int:proposal_id>/changes/<int:change_id>/decision")
@documented("Approve (a new terms version) or reject a change request (director)", body=ChangeDecisionIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_change_decision(proposal_id: int, change_id: int) -> Any:
    return _operate(proposal_id, ChangeDecisionIn, implementation.decide_change, change_id)


@bp.post("/proposals/<int:proposal_id>/indicators")
@documented("Record an evaluation indicator's target and/or actual value (centre officer)", body=IndicatorIn,
            response=StagesOut, errors=ALL_ERRORS)
@requires("logged_in")
def post_indicator(proposal_id: int) -> Any:
    return _operate(proposal_id, IndicatorIn, evaluation.record_indicator)


def _province() -> str:
    return current_app.config["PROVINCE_CODE"]


def _envelope_out(envelope: BudgetEnvelope) -> EnvelopeOut:
    return EnvelopeOut.model_validate(envelope)


@bp.get("/envelopes")
@documented("The province's budget envelopes", response=EnvelopeList, errors=(401, 403))
@requires("funding_view")
def list_envelopes() -> Any:
    items = [_envelope_out(e) for e in funding.envelopes(db_session(), _province())]
    return jsonify(EnvelopeList(items=items).model_dump(mode="json"))


@bp.post("/envelopes")
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


@bp.get("/envelopes/<int:envelope_id>/ranking")
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


@bp.post("/funding/decisions")
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
