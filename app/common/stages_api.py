"""The later stages' summary of a proposal, as the API answers it (``GET /proposals/<id>/stages`` and every stage
action of the council, funding, implementation and rounds areas): the JSON mirror of ``app.common.web.stage_view``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from app.access import requires
from app.api.routes import Routes
from app.api.spec import documented
from app.common.web import stage_view
from app.extensions import db_session
from app.scoping import load_proposal
from workflow import operations

ALL_ERRORS = (401, 403, 404, 409, 422)
routes = Routes()


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EnvelopeOut(_Out):
    id: int
    fund: str
    year: int
    amount: int
    committed: int
    remaining: int


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


def stages_out(proposal: Any) -> StagesOut:
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


def answer(proposal: Any) -> Any:
    return jsonify(stages_out(proposal).model_dump(mode="json"))


def operate(proposal_id: int, model: type[BaseModel], service: Callable[..., Any], *args: Any, action: str) -> Any:
    """Who and when (the definition's ``action``: 403/409), then the body (422), then the stage service under the
    caller; answer with the stage summary. The web forms reach the same order through the services."""
    session = db_session()
    proposal = load_proposal(session, current_user, proposal_id)
    operations.authorize_action(session, proposal, current_user.actor(), action, request_id=g.request_id)
    payload = model.model_validate_json(request.get_data() or b"{}").model_dump(exclude_none=True)
    expected_version = payload.pop("expected_version", None)
    service(session, proposal, current_user.actor(), *args, payload, expected_version=expected_version,
            request_id=g.request_id)
    return answer(proposal)


@routes.get("/proposals/<int:proposal_id>/stages")
@documented("The later stages of a proposal: money, council (sheets hidden until the caller's own is in), "
            "progress, advances, changes, indicators", response=StagesOut)
@requires("logged_in")
def get_stages(proposal_id: int) -> Any:
    return answer(load_proposal(db_session(), current_user, proposal_id))
